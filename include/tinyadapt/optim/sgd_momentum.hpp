// SGD with momentum, Nesterov and weight decay; the update rule of
// torch.optim.SGD (dampening 0):
//   g += wd * w;  v = mu * v + g;  w -= lr * (nesterov ? g + mu * v : v)
#pragma once
#include <cstddef>

#include "layer_gradient.hpp"

namespace tinyadapt {

template <class Net>
class SGDMomentum : public detail::LayerGradient<SGDMomentum<Net>, Net::max_layer_trainable> {
 public:
  static constexpr std::size_t state_floats = Net::trainable_count;
  float lr;
  float momentum;
  float weight_decay;
  bool nesterov;

  constexpr explicit SGDMomentum(float learning_rate = 0.01f, float mu = 0.9f, bool use_nesterov = false,
                                 float decay = 0.0f) noexcept
      : lr(learning_rate), momentum(mu), weight_decay(decay), nesterov(use_nesterov) {}

  void begin_step() noexcept {}
  void update(float* w, const float* g, std::size_t n, std::size_t offset) noexcept {
    float* v = velocity_ + offset;
    for (std::size_t i = 0; i < n; ++i) {
      const float gi = g[i] + weight_decay * w[i];
      v[i] = momentum * v[i] + gi;
      w[i] -= lr * (nesterov ? gi + momentum * v[i] : v[i]);
    }
  }
  void reset() noexcept {
    for (float& v : velocity_) v = 0.0f;
  }

 private:
  float velocity_[state_floats > 0 ? state_floats : 1] = {};
};

}  // namespace tinyadapt
