// Optimizers with state cannot be fused into backward; they get each layer's
// gradient in a scratch slice sized for the largest layer, and update that
// layer right away, so gradients of all layers never coexist. Only the active
// part of the slice is cleared and read (the backward writes nothing else).
//
// active_max_abs: max |w| over a layer's active parameters (weight decay's
// share of the update bound).
#pragma once
#include <cstddef>

#include "../kernels/kernels.hpp"
#include "update_guard.hpp"

namespace tinyadapt::detail {

inline float active_max_abs(const float* w, const LayerGrad& g) noexcept {
  float m = 0.0f;
  for_each_active(g, [&](std::size_t o, std::size_t n) {
    const float r = max_abs(w + o, n);
    m = r > m ? r : m;
  });
  return m;
}

template <class Derived, std::size_t ScratchFloats>
struct LayerGradient {
  static constexpr bool updates_weights = true;
  static constexpr std::size_t gradient_floats = ScratchFloats;

  float* weight_grad(float*, const LayerGrad& g, float& scale) noexcept {
    for_each_active(g, [&](std::size_t o, std::size_t n) { kernels::zero(grad_ + o, n); });
    scale = 1.0f;
    return grad_;
  }
  void finish(float* params, const LayerGrad& g) noexcept {
    static_cast<Derived*>(this)->update(params, grad_, 1.0f, g);
  }

 protected:
  float grad_[ScratchFloats > 0 ? ScratchFloats : 1] = {};
};

}  // namespace tinyadapt::detail
