// Elementary functions the layers need, written so that loops over them
// vectorise (no calls, no branches) and give the same results on every target.
#pragma once
#include <cstdint>
#include <cstring>

namespace tinyadapt {

// exp(t) for t in [0, 88]: t = k ln2 + r with |r| <= ln2/2, exp(r) by its
// degree-7 Taylor polynomial (relative error < 2e-7), 2^k through the exponent bits.
inline float exp_nonneg(float t) noexcept {
  t = t < 88.0f ? t : 88.0f;
  const int k = static_cast<int>(t * 1.44269504089f + 0.5f);
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
  return p * scale;
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
  const float t = a < 0.3f ? small : large;
  return x < 0.0f ? -t : t;
}

}  // namespace tinyadapt
