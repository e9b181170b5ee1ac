// Checks for NaN/Inf that survive -ffast-math: they test the exponent bits,
// which a compiler cannot assume away the way it may fold `x != x`.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace tinyadapt {

inline std::uint32_t float_bits(float v) noexcept {
  std::uint32_t bits = 0;
  std::memcpy(&bits, &v, sizeof bits);
  return bits;
}

inline bool is_finite(float v) noexcept { return (float_bits(v) & 0x7f800000u) != 0x7f800000u; }
inline bool is_nan(float v) noexcept { return (float_bits(v) & 0x7fffffffu) > 0x7f800000u; }

inline bool all_finite(const float* v, std::size_t n) noexcept {
  std::uint32_t bad = 0;
  for (std::size_t i = 0; i < n; ++i) bad |= static_cast<std::uint32_t>((float_bits(v[i]) & 0x7f800000u) == 0x7f800000u);
  return bad == 0;
}

// Largest |v[i]|, or a non-finite value if any element is NaN/Inf: computed on
// the bits (|v| orders like its bit pattern), so no NaN is skipped by a compare.
inline float max_abs(const float* v, std::size_t n) noexcept {
  std::uint32_t m = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint32_t a = float_bits(v[i]) & 0x7fffffffu;
    m = a > m ? a : m;
  }
  float r;
  std::memcpy(&r, &m, sizeof r);
  return r;
}

}  // namespace tinyadapt
