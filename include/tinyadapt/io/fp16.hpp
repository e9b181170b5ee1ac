// IEEE 754 binary16 (fp16) conversions for the wire format.
//
// fp16 rather than bfloat16: a Δ or a small network's weights lie well within
// fp16's range (|x| <= 65504), and fp16 keeps 11 significant bits against
// bfloat16's 8, so its rounding error is 8x smaller (2^-11 relative).
// Out-of-range values are refused, never turned into Inf.
//
// to_fp16 rounds to nearest, ties to even. Error bounds of a round trip:
// |x| >= 2^-14 (fp16 normal): relative error <= 2^-11; below: absolute
// error <= 2^-25 (the subnormal spacing is 2^-24).
#pragma once
#include <cstdint>

#include "../core/finite.hpp"
#include "bytes.hpp"

namespace tinyadapt {
namespace io {

// Smallest |x| (as float bits) that rounds to Inf: 65520, halfway between
// 65504 and 2^16, rounds to even, which is Inf.
inline constexpr std::uint32_t fp16_overflow_bits = 0x477FF000u;

// x as fp16 bits in out; false (out unchanged) if x is NaN/Inf or rounds
// beyond fp16's largest finite value.
inline bool to_fp16(float x, std::uint16_t& out) noexcept {
  const std::uint32_t b = float_bits(x);
  const std::uint32_t sign = (b >> 16) & 0x8000u;
  const std::uint32_t a = b & 0x7fffffffu;
  if (a >= fp16_overflow_bits) return false;  // NaN and Inf included
  std::uint32_t h;
  if (a >= 0x38800000u) {  // 2^-14 and up: a normal fp16
    const std::uint32_t r = a - 0x38000000u;  // rebias the exponent 127 -> 15
    h = (r + 0x0FFFu + ((r >> 13) & 1u)) >> 13;
  } else {  // fp16 subnormal (or zero): round(|x| / 2^-24)
    const std::uint32_t e = a >> 23;
    const std::uint32_t shift = 126u - e;  // |x| = m 2^(e-150): >= 14 here
    if (e == 0 || shift > 24) {
      h = 0;  // below 2^-25: rounds to zero
    } else {
      const std::uint32_t m = (a & 0x7fffffu) | 0x800000u;
      const std::uint32_t half = 1u << (shift - 1);
      const std::uint32_t rem = m & ((1u << shift) - 1u);
      h = m >> shift;
      if (rem > half || (rem == half && (h & 1u) != 0)) ++h;  // may reach 0x400: the smallest normal, correctly
    }
  }
  out = static_cast<std::uint16_t>(sign | h);
  return true;
}

// True if the fp16 bits are a finite number.
constexpr bool fp16_finite(std::uint16_t h) noexcept { return (h & 0x7C00u) != 0x7C00u; }

// The float value of finite fp16 bits (exact: every fp16 is a float).
inline float from_fp16(std::uint16_t h) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  if (e == 0) {
    const float v = static_cast<float>(m) * 5.9604644775390625e-8f;  // m 2^-24
    return detail::float_from_bits(float_bits(v) | sign);
  }
  return detail::float_from_bits(sign | ((e + 112u) << 23) | (m << 13));
}

}  // namespace io
}  // namespace tinyadapt
