// Optimizers with state cannot be fused into backward; they get each layer's
// gradient in a scratch slice sized for the largest layer, and update that
// layer right away, so gradients of all layers never coexist.
#pragma once
#include <cstddef>

#include "../kernels/kernels.hpp"
#include "update_guard.hpp"

namespace tinyadapt::detail {

template <class Derived, std::size_t ScratchFloats>
struct LayerGradient {
  static constexpr bool updates_weights = true;
  static constexpr std::size_t gradient_floats = ScratchFloats;

  float* weight_grad(float*, const LayerGrad& g, float& scale) noexcept {
    kernels::zero(grad_, g.count);
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
