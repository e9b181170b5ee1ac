// Plain SGD, fused into backward: each layer's weights are updated in the same
// pass that computes its gradient (w += -lr * x dyᵀ through the rank-1 kernel),
// after its input gradient is taken. No gradient memory and no state.
#pragma once
#include <cstddef>

#include "../kernels/kernels.hpp"
#include "update_guard.hpp"

namespace tinyadapt {

template <class Net>
struct SGD {
  using network = Net;
  static constexpr bool updates_weights = true;
  static constexpr std::size_t gradient_floats = 0;
  static constexpr std::size_t state_floats = 0;
  float lr = 0.01f;
  float max_grad_norm = default_max_grad_norm;  // per-layer gradient norm clipping

  constexpr explicit SGD(float learning_rate = 0.01f, float clip_norm = default_max_grad_norm) noexcept
      : lr(learning_rate), max_grad_norm(clip_norm) {}

  // The hyper-parameters are public (schedules set lr); every step checks them.
  Status check() const noexcept {
    return detail::valid_rate(lr) && detail::valid_max_norm(max_grad_norm) ? Status::ok : Status::bad_hyperparameter;
  }

  // Sink protocol used by Sequential::backward (see optim/update_guard.hpp).
  bool accept(const float*, const LayerGrad& g) const noexcept {
    return detail::within_limit(lr * detail::clipped_norm(g.norm, max_grad_norm));
  }
  float* weight_grad(float* params, const LayerGrad& g, float& scale) noexcept {
    scale = -lr * detail::clip_factor(g.norm, max_grad_norm);
    return params;
  }
  void finish(float*, const LayerGrad&) noexcept {}
  void end_step() noexcept {}
  void reset() noexcept {}  // no state
  bool state_finite() const noexcept { return true; }
  // Update from a stored gradient (mini-batch accumulation): w -= lr * g_scale * g.
  void update(float* w, const float* g, float g_scale, const LayerGrad& lg) noexcept {
    const float a = -lr * g_scale * detail::clip_factor(lg.norm, max_grad_norm);
    for_each_active(lg, [&](std::size_t o, std::size_t n) { kernels::axpy(w + o, g + o, a, n); });
  }
};

}  // namespace tinyadapt
