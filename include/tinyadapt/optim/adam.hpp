// Adam (Kingma & Ba) with L2 weight decay, the update rule of torch.optim.Adam.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "layer_gradient.hpp"

namespace tinyadapt {

template <class Net>
class Adam : public detail::LayerGradient<Adam<Net>, Net::max_layer_trainable> {
 public:
  static constexpr std::size_t state_floats = 2 * Net::trainable_count;
  float lr, beta1, beta2, eps, weight_decay;

  constexpr explicit Adam(float learning_rate = 1e-3f, float b1 = 0.9f, float b2 = 0.999f, float epsilon = 1e-8f,
                          float decay = 0.0f) noexcept
      : lr(learning_rate), beta1(b1), beta2(b2), eps(epsilon), weight_decay(decay) {}

  // Advances the step count t once per optimizer step (bias correction).
  void begin_step() noexcept {
    ++t_;
    corr1_ = 1.0f - std::pow(beta1, static_cast<float>(t_));
    corr2_ = 1.0f - std::pow(beta2, static_cast<float>(t_));
  }
  void update(float* w, const float* g, std::size_t n, std::size_t offset) noexcept {
    float* m = m_ + offset;
    float* v = v_ + offset;
    const float step = lr / corr1_;
    const float inv_sqrt_c2 = 1.0f / std::sqrt(corr2_);
    for (std::size_t i = 0; i < n; ++i) {
      const float gi = g[i] + weight_decay * w[i];
      m[i] = beta1 * m[i] + (1.0f - beta1) * gi;
      v[i] = beta2 * v[i] + (1.0f - beta2) * gi * gi;
      w[i] -= step * m[i] / (std::sqrt(v[i]) * inv_sqrt_c2 + eps);
    }
  }
  std::uint32_t steps() const noexcept { return t_; }

 private:
  float m_[Net::trainable_count > 0 ? Net::trainable_count : 1] = {};
  float v_[Net::trainable_count > 0 ? Net::trainable_count : 1] = {};
  std::uint32_t t_ = 0;
  float corr1_ = 1.0f, corr2_ = 1.0f;
};

}  // namespace tinyadapt
