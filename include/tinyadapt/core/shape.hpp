// Compile-time tensor shapes (row-major; images are H x W x C, channel last).
#pragma once
#include <cstddef>
#include <type_traits>

namespace tinyadapt {

template <std::size_t... Dims>
struct Shape {
  static_assert(sizeof...(Dims) > 0, "a Shape needs at least one dimension");
  static_assert(((Dims > 0) && ...), "every dimension of a Shape must be at least 1");

  static constexpr std::size_t rank = sizeof...(Dims);
  static constexpr std::size_t size = (Dims * ...);
  static constexpr std::size_t dims[rank] = {Dims...};

  static constexpr std::size_t dim(std::size_t i) noexcept { return dims[i]; }
  // Elements skipped when index i grows by one.
  static constexpr std::size_t stride(std::size_t i) noexcept {
    std::size_t s = 1;
    for (std::size_t k = i + 1; k < rank; ++k) s *= dims[k];
    return s;
  }
  template <class... Idx>
  static constexpr std::size_t offset(Idx... idx) noexcept {
    static_assert(sizeof...(Idx) == rank, "give one index per dimension");
    const std::size_t is[rank] = {static_cast<std::size_t>(idx)...};
    std::size_t o = 0;
    for (std::size_t k = 0; k < rank; ++k) o = o * dims[k] + is[k];
    return o;
  }
};

// The network's input: Input<28, 28, 1> is an image, Input<64> a vector.
template <std::size_t... Dims>
using Input = Shape<Dims...>;

namespace detail {
template <class S>
struct is_shape : std::false_type {};
template <std::size_t... D>
struct is_shape<Shape<D...>> : std::true_type {};
}  // namespace detail

}  // namespace tinyadapt
