// The library's own PRNG (PCG32): the same seed gives the same numbers on every
// compiler and target, unlike <random>'s distributions.
#pragma once
#include <cmath>
#include <cstdint>

namespace tinyadapt {

class Rng {
 public:
  constexpr explicit Rng(std::uint64_t seed = 0x853c49e6748fea9bULL, std::uint64_t stream = 0xda3e39cb94b95bdbULL) noexcept
      : inc_((stream << 1u) | 1u) {
    next_u32();
    state_ += seed;
    next_u32();
  }

  constexpr std::uint32_t next_u32() noexcept {
    const std::uint64_t old = state_;
    state_ = old * 6364136223846793005ULL + inc_;
    const auto xorshifted = static_cast<std::uint32_t>(((old >> 18u) ^ old) >> 27u);
    const auto rot = static_cast<std::uint32_t>(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((32u - rot) & 31u));
  }
  // Uniform in [0, 1) with 24 random bits (exact in float).
  constexpr float uniform() noexcept { return static_cast<float>(next_u32() >> 8) * (1.0f / 16777216.0f); }
  constexpr float uniform(float lo, float hi) noexcept { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n) (Lemire's multiply, negligible bias for small n).
  constexpr std::uint32_t below(std::uint32_t n) noexcept {
    return static_cast<std::uint32_t>((static_cast<std::uint64_t>(next_u32()) * n) >> 32u);
  }
  // Standard normal by Box-Muller.
  float normal() noexcept {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    float u1 = uniform();
    while (u1 <= 0.0f) u1 = uniform();
    const float u2 = uniform();
    const float r = std::sqrt(-2.0f * std::log(u1));
    const float a = 6.28318530717958647692f * u2;
    spare_ = r * std::sin(a);
    has_spare_ = true;
    return r * std::cos(a);
  }
  float normal(float mean, float stddev) noexcept { return mean + stddev * normal(); }

 private:
  std::uint64_t state_ = 0;
  std::uint64_t inc_;
  float spare_ = 0.0f;
  bool has_spare_ = false;
};

}  // namespace tinyadapt
