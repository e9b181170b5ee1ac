// SGD with momentum, Nesterov and weight decay; the update rule of
// torch.optim.SGD (dampening 0):
//   g += wd * w;  v = mu * v + g;  w -= lr * (nesterov ? g + mu * v : v)
//
// Guard (optim/update_guard.hpp): vbound_ keeps, per layer, a bound of max|v|
// that follows the same recurrence, so the next update is proven finite from
// the gradient norm alone; weight decay adds one read of the layer's weights.
#pragma once
#include <cstddef>

#include "../core/span.hpp"
#include "layer_gradient.hpp"

namespace tinyadapt {

template <class Net>
class SGDMomentum : public detail::LayerGradient<SGDMomentum<Net>, Net::max_layer_trainable> {
 public:
  using network = Net;
  static constexpr std::size_t state_floats = Net::trainable_count;
  float lr;
  float momentum;
  float weight_decay;
  bool nesterov;
  float max_grad_norm = default_max_grad_norm;

  constexpr explicit SGDMomentum(float learning_rate = 0.01f, float mu = 0.9f, bool use_nesterov = false,
                                 float decay = 0.0f) noexcept
      : lr(learning_rate), momentum(mu), weight_decay(decay), nesterov(use_nesterov) {}

  Status check() const noexcept {
    const bool ok = detail::valid_rate(lr) && detail::valid_fraction(momentum) && detail::valid_rate(weight_decay) &&
                    detail::valid_max_norm(max_grad_norm);
    return ok ? Status::ok : Status::bad_hyperparameter;
  }

  bool accept(const float* w, const LayerGrad& g) const noexcept {
    const Bound b = bound(w, g);
    return detail::within_limit(b.v) && detail::within_limit(b.step);
  }
  void update(float* w, const float* g, float g_scale, const LayerGrad& lg) noexcept {
    const float next_vbound = bound(w, lg).v;
    const float c = g_scale * detail::clip_factor(lg.norm, max_grad_norm);
    for_each_active(lg, [&](std::size_t o, std::size_t n) {
      float* TINYADAPT_RESTRICT wo = w + o;
      float* TINYADAPT_RESTRICT v = velocity_ + lg.offset + o;
      const float* TINYADAPT_RESTRICT go = g + o;
      for (std::size_t i = 0; i < n; ++i) {
        const float gi = c * go[i] + weight_decay * wo[i];
        v[i] = momentum * v[i] + gi;
        wo[i] -= lr * (nesterov ? gi + momentum * v[i] : v[i]);
      }
    });
    vbound_[lg.layer] = next_vbound;
  }
  void end_step() noexcept {}
  Span<const float> velocity() const noexcept { return Span<const float>(velocity_, Net::trainable_count); }
  // The velocity and its bounds are finite (always true after ok steps).
  bool state_finite() const noexcept { return all_finite(velocity_, state_floats) && all_finite(vbound_, Net::layer_count); }
  void reset() noexcept {
    for (float& v : velocity_) v = 0.0f;
    for (float& b : vbound_) b = 0.0f;
  }

 private:
  struct Bound {
    float v, step;  // bounds of max|v| after the update and of max|Δw|
  };
  Bound bound(const float* w, const LayerGrad& g) const noexcept {
    const float decay = weight_decay != 0.0f ? weight_decay * detail::active_max_abs(w, g) : 0.0f;
    const float gi = detail::clipped_norm(g.norm, max_grad_norm) + decay;
    const float v = momentum * vbound_[g.layer] + gi;
    return {v, lr * (nesterov ? gi + momentum * v : v)};
  }

  float velocity_[state_floats > 0 ? state_floats : 1] = {};
  float vbound_[Net::layer_count] = {};
};

}  // namespace tinyadapt
