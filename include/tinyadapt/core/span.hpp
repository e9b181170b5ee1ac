// A minimal non-owning view of contiguous memory (C++17 has no std::span).
#pragma once
#include <cstddef>

#include "../config.hpp"

namespace tinyadapt {

template <class T>
class Span {
 public:
  constexpr Span() noexcept = default;
  constexpr Span(T* data, std::size_t size) noexcept : data_(data), size_(size) {}
  template <std::size_t N>
  constexpr Span(T (&a)[N]) noexcept : data_(a), size_(N) {}  // NOLINT: implicit by design

  constexpr T* data() const noexcept { return data_; }
  constexpr std::size_t size() const noexcept { return size_; }
  constexpr bool empty() const noexcept { return size_ == 0; }
  constexpr T* begin() const noexcept { return data_; }
  constexpr T* end() const noexcept { return data_ + size_; }
  constexpr T& operator[](std::size_t i) const noexcept {
    TINYADAPT_ASSERT(i < size_);
    return data_[i];
  }
  constexpr Span subspan(std::size_t offset, std::size_t count) const noexcept {
    TINYADAPT_ASSERT(offset + count <= size_);
    return Span(data_ + offset, count);
  }
  constexpr operator Span<const T>() const noexcept { return Span<const T>(data_, size_); }

 private:
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace tinyadapt
