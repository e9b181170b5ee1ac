// Fully connected layer: y = W x + b with W stored [out][in] (PyTorch order).
#pragma once
#include "../kernels/kernels.hpp"
#include "layer.hpp"
#include "submatrix.hpp"

namespace tinyadapt {

namespace detail {
// The loops of a dense layer, over its active part: the first `rows` units
// and, of each group of G consecutive inputs, the first `cols` (inputs come
// in groups behind a layer with a run-time channel width: one group per pixel
// of a flattened map). Inactive outputs are set to `fill`. The fixed layer
// passes its full sizes (rows = Out, cols = G = In), so every call below is
// one kernel over the whole matrix, as it always was.
template <std::size_t In, std::size_t Out, std::size_t G = In>
struct DenseCore {
  static_assert(In % G == 0, "internal: dense input groups must tile the input");
  static constexpr std::size_t weight_count = Out * In;

  template <class Rows, class Cols>
  static TINYADAPT_ALWAYS_INLINE void forward(const float* p, const float* x, float* y, Rows rows, Cols cols,
                                              float fill) noexcept {
    kernels::copy(y, p + weight_count, rows);
    for_each_active_run<In, G>(cols, [&](auto o, auto n) TINYADAPT_INLINE_LAMBDA { block_gemv(p + o, In, x + o, y, rows, n, G); });
    for (std::size_t r = rows; r < Out; ++r) y[r] = fill;
  }

  template <class Rows, class Cols>
  static TINYADAPT_ALWAYS_INLINE void backward(const float* p, const float* x, const float* dy, float* dx, float* dp,
                                               float dp_scale, Rows rows, Cols cols) noexcept {
    if (dx) {
      kernels::zero(dx, In);
      for_each_active_run<In, G>(cols, [&](auto o, auto n) TINYADAPT_INLINE_LAMBDA { block_gemv_t(p + o, In, dy, dx + o, rows, n); });
    }
    if (dp) {
      for_each_active_run<In, G>(cols,
                                 [&](auto o, auto n) TINYADAPT_INLINE_LAMBDA { block_rank1(dp + o, In, dy, x + o, dp_scale, rows, n); });
      kernels::axpy(dp + weight_count, dy, dp_scale, rows);
    }
  }
};
}  // namespace detail

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
  using core = detail::DenseCore<In, Out>;

  void forward(const float* p, const float* x, float* y, unsigned char*) const noexcept {
    core::forward(p, x, y, detail::Fixed<Out>{}, detail::Fixed<In>{}, 0.0f);
  }

  void backward(const float* p, const float* x, const float*, const unsigned char*, const float* dy, float* dx,
                float* dp, float dp_scale) const noexcept {
    core::backward(p, x, dy, dx, dp, dp_scale, detail::Fixed<Out>{}, detail::Fixed<In>{});
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
