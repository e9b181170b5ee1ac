// Checks for NaN/Inf that survive -ffast-math (they test the exponent bits).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace tinyadapt {

inline bool is_finite(float v) noexcept {
  std::uint32_t bits = 0;
  std::memcpy(&bits, &v, sizeof bits);
  return (bits & 0x7f800000u) != 0x7f800000u;
}

inline bool all_finite(const float* v, std::size_t n) noexcept {
  std::uint32_t bad = 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t bits = 0;
    std::memcpy(&bits, v + i, sizeof bits);
    bad |= static_cast<std::uint32_t>((bits & 0x7f800000u) == 0x7f800000u);
  }
  return bad == 0;
}

}  // namespace tinyadapt
