// Test sources shared by the host suite (doctest) and the on-target suite
// (the small harness under tests/target): they use only TEST_CASE, CHECK,
// CHECK_FALSE and REQUIRE, plus the helpers below.
#pragma once
#include <cmath>
#include <cstddef>

#if defined(TINYADAPT_ON_TARGET)
#include "harness.hpp"
#else
#include <doctest/doctest.h>
#endif

namespace testsupport {

inline float max_abs(const float* v, std::size_t n) {
  float m = 0.0f;
  for (std::size_t i = 0; i < n; ++i) m = std::fabs(v[i]) > m ? std::fabs(v[i]) : m;
  return m;
}

// Largest error of a against the reference b, relative to |b| elementwise with
// a floor of `floor_frac` (1%) of the reference's largest magnitude (values that
// are tiny next to the rest of the tensor are compared on the tensor's scale).
inline float rel_error(const float* a, const float* b, std::size_t n, float floor_frac = 1e-2f) {
  const float floor = max_abs(b, n) * floor_frac + 1e-30f;
  float worst = 0.0f;
  for (std::size_t i = 0; i < n; ++i) {
    const float denom = std::fabs(b[i]) > floor ? std::fabs(b[i]) : floor;
    const float e = std::fabs(a[i] - b[i]) / denom;
    if (!(e <= worst)) worst = e;  // NaN counts as worst
  }
  return worst;
}

}  // namespace testsupport
