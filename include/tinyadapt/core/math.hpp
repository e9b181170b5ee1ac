// Elementary functions the layers need, written so that loops over them
// vectorise (no calls, no branches) and give the same results on every target.
#pragma once
#include <cstdint>
#include <cstring>

#include "finite.hpp"

namespace tinyadapt {

// take_a ? a : b as a select on the bits, which -ffast-math cannot fold away.
inline float select_bits(bool take_a, float a, float b) noexcept {
  const std::uint32_t mask = 0u - static_cast<std::uint32_t>(take_a);
  const std::uint32_t out = (float_bits(a) & mask) | (float_bits(b) & ~mask);
  float y;
  std::memcpy(&y, &out, sizeof y);
  return y;
}

// take_a ? a : b inside element-wise loops. With SIMD, a bit select: GCC turns
// some ternaries (one feeding a float-to-int conversion, one choosing between
// two polynomials) into branches and the loop stays scalar. A scalar FPU
// (Cortex-M4) does the ternary in one IT block, the bit select in six moves.
inline float lane_select(bool take_a, float a, float b) noexcept {
#if defined(__SSE2__) || defined(__ARM_NEON)
  return select_bits(take_a, a, b);
#else
  return take_a ? a : b;
#endif
}

// r, or x itself when x is NaN.
inline float keep_nan(float x, float r) noexcept { return select_bits(is_nan(x), x, r); }

// IEEE arithmetic carries a NaN through every formula below by itself; with
// -ffinite-math-only (part of -ffast-math) the compiler may assume NaN away and
// fold it out, so there the NaN is put back explicitly (a few integer ops).
#if defined(__FINITE_MATH_ONLY__) && __FINITE_MATH_ONLY__
#define TINYADAPT_PROPAGATE_NAN(x, r) ::tinyadapt::keep_nan((x), (r))
#else
#define TINYADAPT_PROPAGATE_NAN(x, r) (r)
#endif

// r, or NaN when x is not finite. An infinite pre-activation means something
// overflowed upstream (an Inf weight, say), which a saturating activation
// would hide: tanh(Inf) = 1 would let a broken model train "ok".
inline float poison_nonfinite(float x, float r) noexcept {
#if defined(__FINITE_MATH_ONLY__) && __FINITE_MATH_ONLY__
  const std::uint32_t quiet_nan_bits = 0x7fc00000u;
  float quiet_nan;
  std::memcpy(&quiet_nan, &quiet_nan_bits, sizeof quiet_nan);
  return select_bits(!is_finite(x), quiet_nan, r);
#else
  return r + 0.0f * x;  // 0 * x is 0 for finite x, NaN for NaN and +-Inf
#endif
}

// exp(t) for t in [0, 88]: t = k ln2 + r with |r| <= ln2/2, exp(r) by its
// degree-7 Taylor polynomial (relative error < 2e-7), 2^k through the exponent bits.
// A NaN argument gives NaN: a plain clamp would turn it into a finite value
// (and the int conversion of a NaN is undefined), hiding a broken model
// behind Tanh or Sigmoid.
inline float exp_nonneg(float t_in) noexcept {
  // NaN -> 88: always safe to convert to int (a bit test: -ffast-math may fold the compare for NaN).
  const float tk = lane_select((t_in < 88.0f) & !is_nan(t_in), t_in, 88.0f);
  const float t = t_in > 88.0f ? 88.0f : t_in;   // NaN stays NaN and reaches the result
  const int k = static_cast<int>(tk * 1.44269504089f + 0.5f);
  const float kf = static_cast<float>(k);
  const float r = (t - kf * 0.693145751953125f) - kf * 1.428606765330187e-06f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const std::uint32_t bits = static_cast<std::uint32_t>(k + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return TINYADAPT_PROPAGATE_NAN(t_in, p * scale);
}

// tanh(x), relative error below 1e-6: an odd Taylor polynomial near 0 (where
// the exp form cancels), 1 - 2 / (exp(2|x|) + 1) elsewhere.
inline float tanh_fast(float x) noexcept {
  const float a = x < 0.0f ? -x : x;
  const float a2 = a * a;
  float small = 62.0f / 2835.0f;
  small = small * a2 - 17.0f / 315.0f;
  small = small * a2 + 2.0f / 15.0f;
  small = small * a2 - 1.0f / 3.0f;
  small = (small * a2) * a + a;
  const float large = 1.0f - 2.0f / (exp_nonneg(2.0f * a) + 1.0f);
  const float t = lane_select(a < 0.3f, small, large);
  return TINYADAPT_PROPAGATE_NAN(x, x < 0.0f ? -t : t);
}

}  // namespace tinyadapt
