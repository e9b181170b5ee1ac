// Output sizes and padding of convolutions (TensorFlow's convention for 'same':
// out = ceil(in / stride), the odd pixel of padding goes after).
#pragma once
#include <cstddef>

namespace tinyadapt {

enum class Padding : unsigned char { valid, same };

namespace detail {
constexpr std::size_t conv_out(std::size_t in, std::size_t k, std::size_t stride, Padding pad) noexcept {
  return pad == Padding::same ? (in + stride - 1) / stride : (in >= k ? (in - k) / stride + 1 : 0);
}
constexpr std::size_t conv_pad_before(std::size_t in, std::size_t k, std::size_t stride, Padding pad) noexcept {
  if (pad == Padding::valid) return 0;
  const std::size_t out = conv_out(in, k, stride, pad);
  const std::size_t need = (out - 1) * stride + k;
  return need > in ? (need - in) / 2 : 0;
}
}  // namespace detail
}  // namespace tinyadapt
