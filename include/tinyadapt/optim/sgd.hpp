// Plain SGD, fused into backward: each layer's weights are updated in the same
// pass that computes its gradient (w += -lr * x dyᵀ through the rank-1 kernel),
// after its input gradient is taken. No gradient memory and no state.
#pragma once
#include <cstddef>

#include "../kernels/kernels.hpp"

namespace tinyadapt {

template <class Net>
struct SGD {
  static constexpr std::size_t gradient_floats = 0;
  static constexpr std::size_t state_floats = 0;
  float lr = 0.01f;

  constexpr explicit SGD(float learning_rate = 0.01f) noexcept : lr(learning_rate) {}

  void begin_step() noexcept {}
  // Sink protocol used by Sequential::backward.
  float* weight_grad(float* params, std::size_t, std::size_t, float& scale) noexcept {
    scale = -lr;
    return params;
  }
  void finish(float*, std::size_t, std::size_t) noexcept {}
  // Update from a stored gradient (mini-batch accumulation).
  void update(float* w, const float* g, std::size_t n, std::size_t) noexcept { kernels::axpy(w, g, -lr, n); }
};

}  // namespace tinyadapt
