// Tensors whose shape is a type: storage is inline (no heap), sizes are constexpr.
#pragma once
#include <cstddef>

#include "shape.hpp"
#include "span.hpp"

namespace tinyadapt {

namespace detail {
// Element access, fills and copies shared by owning tensors and views.
template <class Derived, class S, class T>
struct TensorOps {
  using shape = S;
  using value_type = T;
  static constexpr std::size_t size() noexcept { return S::size; }
  static constexpr std::size_t rank() noexcept { return S::rank; }
  static constexpr std::size_t dim(std::size_t i) noexcept { return S::dim(i); }
  static constexpr std::size_t stride(std::size_t i) noexcept { return S::stride(i); }

  template <class... Idx>
  constexpr T& operator()(Idx... idx) noexcept {
    return self().data()[S::offset(idx...)];
  }
  template <class... Idx>
  constexpr const T& operator()(Idx... idx) const noexcept {
    return self().data()[S::offset(idx...)];
  }
  constexpr T& operator[](std::size_t i) noexcept { return self().data()[i]; }
  constexpr const T& operator[](std::size_t i) const noexcept { return self().data()[i]; }

  constexpr void fill(T v) noexcept {
    for (std::size_t i = 0; i < S::size; ++i) self().data()[i] = v;
  }
  constexpr void copy_from(const T* src) noexcept {
    for (std::size_t i = 0; i < S::size; ++i) self().data()[i] = src[i];
  }
  template <class Other>
  constexpr void copy_from(const Other& src) noexcept {
    static_assert(Other::size() == S::size, "copy_from needs a source of the same number of elements");
    copy_from(src.data());
  }
  constexpr Span<T> span() noexcept { return Span<T>(self().data(), S::size); }
  constexpr Span<const T> span() const noexcept { return Span<const T>(self().data(), S::size); }
  constexpr T* begin() noexcept { return self().data(); }
  constexpr T* end() noexcept { return self().data() + S::size; }
  constexpr const T* begin() const noexcept { return self().data(); }
  constexpr const T* end() const noexcept { return self().data() + S::size; }

 private:
  constexpr Derived& self() noexcept { return static_cast<Derived&>(*this); }
  constexpr const Derived& self() const noexcept { return static_cast<const Derived&>(*this); }
};
}  // namespace detail

// Owns S::size elements inline; sizeof(Tensor) == S::size * sizeof(T).
template <class S, class T = float>
struct Tensor : detail::TensorOps<Tensor<S, T>, S, T> {
  static_assert(detail::is_shape<S>::value, "Tensor needs a Shape<...>");
  T values[S::size] = {};
  constexpr T* data() noexcept { return values; }
  constexpr const T* data() const noexcept { return values; }
};

// A shaped window over memory owned by someone else.
template <class S, class T = float>
class TensorView : public detail::TensorOps<TensorView<S, T>, S, T> {
 public:
  static_assert(detail::is_shape<S>::value, "TensorView needs a Shape<...>");
  constexpr explicit TensorView(T* data) noexcept : data_(data) {}
  constexpr T* data() const noexcept { return data_; }

 private:
  T* data_;
};

}  // namespace tinyadapt
