// Optimizers with state cannot be fused into backward; they get each layer's
// gradient in a scratch slice sized for the largest layer, and update that
// layer right away, so gradients of all layers never coexist.
#pragma once
#include <cstddef>

#include "../kernels/kernels.hpp"

namespace tinyadapt::detail {

template <class Derived, std::size_t ScratchFloats>
struct LayerGradient {
  static constexpr std::size_t gradient_floats = ScratchFloats;

  float* weight_grad(float*, std::size_t n, std::size_t, float& scale) noexcept {
    kernels::zero(grad_, n);
    scale = 1.0f;
    return grad_;
  }
  void finish(float* params, std::size_t n, std::size_t offset) noexcept {
    static_cast<Derived*>(this)->update(params, grad_, n, offset);
  }

 protected:
  float grad_[ScratchFloats > 0 ? ScratchFloats : 1] = {};
};

}  // namespace tinyadapt::detail
