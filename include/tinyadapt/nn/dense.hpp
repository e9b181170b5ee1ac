// Fully connected layer: y = W x + b with W stored [out][in] (PyTorch order).
#pragma once
#include "../kernels/kernels.hpp"
#include "layer.hpp"

namespace tinyadapt {

template <std::size_t In, std::size_t Out>
struct DenseLayer {
  using input_shape = Shape<In>;
  using output_shape = Shape<Out>;
  static constexpr std::size_t weight_count = Out * In;
  static constexpr std::size_t bias_count = Out;
  static constexpr std::size_t fan_in = In;
  static constexpr std::size_t fan_out = Out;
  static constexpr std::size_t macs = In * Out;
  static constexpr bool trainable = true;
  static constexpr bool in_place = false;
  static constexpr bool keeps_input = true;  // dW = dy x^T
  static constexpr bool keeps_output = false;
  static constexpr std::size_t state_bytes = 0;
  static constexpr float grad_norm_input_factor = 1.0f;  // |dy xᵀ|^2 = |dy|^2 |x|^2, exactly
  static constexpr float grad_norm_bias_factor = 1.0f;

  void forward(const float* p, const float* x, float* y, unsigned char*) const noexcept {
    kernels::copy(y, p + weight_count, Out);
    kernels::gemv(p, x, y, Out, In);
  }

  void backward(const float* p, const float* x, const float*, const unsigned char*, const float* dy, float* dx,
                float* dp, float dp_scale) const noexcept {
    if (dx) {
      kernels::zero(dx, In);
      kernels::gemv_t(p, dy, dx, Out, In);
    }
    if (dp) {
      kernels::rank1(dp, dy, x, dp_scale, Out, In);
      kernels::axpy(dp + weight_count, dy, dp_scale, Out);
    }
  }
};

// Dense<Units>: a flat input of any length to Units outputs.
template <std::size_t Units>
struct Dense {
  static_assert(Units > 0, "Dense needs at least one unit");
  template <class In>
  struct bind_check {
    static_assert(In::rank == 1, "Dense needs a flat (rank-1) input: put Flatten before it");
    using type = DenseLayer<In::size, Units>;
  };
  template <class In>
  using bind = typename bind_check<In>::type;
};

}  // namespace tinyadapt
