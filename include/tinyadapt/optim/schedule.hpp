// Learning-rate schedules: callables from the step number to a learning rate.
// Use: opt.lr = schedule(step);
#pragma once
#include <cmath>
#include <cstdint>

namespace tinyadapt {

struct ConstantLR {
  float lr;
  constexpr float operator()(std::uint32_t) const noexcept { return lr; }
};

// lr * gamma^(step / every)
struct StepLR {
  float lr;
  std::uint32_t every;
  float gamma;
  float operator()(std::uint32_t step) const noexcept {
    return lr * std::pow(gamma, static_cast<float>(step / (every > 0 ? every : 1)));
  }
};

// From lr to end over total steps, then end.
struct LinearDecayLR {
  float lr;
  float end;
  std::uint32_t total;
  constexpr float operator()(std::uint32_t step) const noexcept {
    if (step >= total || total == 0) return end;
    return lr + (end - lr) * (static_cast<float>(step) / static_cast<float>(total));
  }
};

// Cosine annealing from lr to min_lr over total steps, then min_lr.
struct CosineLR {
  float lr;
  float min_lr;
  std::uint32_t total;
  float operator()(std::uint32_t step) const noexcept {
    if (step >= total || total == 0) return min_lr;
    const float c = std::cos(3.14159265358979f * static_cast<float>(step) / static_cast<float>(total));
    return min_lr + 0.5f * (lr - min_lr) * (1.0f + c);
  }
};

}  // namespace tinyadapt
