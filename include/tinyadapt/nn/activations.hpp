// Element-wise activations. All run in place on the previous layer's output,
// and a NaN input gives a NaN output (so does +-Inf for the saturating ones).
//
// ReLU and LeakyReLU keep one bit per element for backward (32x less memory
// than keeping the tensor); Sigmoid and Tanh keep their output, from which
// their derivative follows.
#pragma once
#include "../core/math.hpp"
#include "layer.hpp"

namespace tinyadapt {

// y = x > 0 ? x : slope * x, slope = Num / Den.
template <class In, std::size_t Num, std::size_t Den>
struct PiecewiseLinearLayer : detail::NoParams {
  using input_shape = In;
  using output_shape = In;
  static constexpr std::size_t n = In::size;
  static constexpr bool in_place = true;
  static constexpr std::size_t state_bytes = (n + 7) / 8;
  static constexpr float slope = static_cast<float>(Num) / static_cast<float>(Den);
  static constexpr float backward_gain = slope > 1.0f ? slope : 1.0f;

  // Branch-free: each mask byte is built in a register from 8 elements, and
  // the select compiles to blends (a branch per element mispredicts on data).
  void forward(const float*, const float* x, float* y, unsigned char* mask) const noexcept {
    for (std::size_t b = 0; b < state_bytes; ++b) {
      const std::size_t base = b * 8, end = base + 8 < n ? base + 8 : n;
      unsigned bits = 0;
      for (std::size_t i = base; i < end; ++i) {
        const float v = x[i];
        const bool pos = v > 0.0f;
        bits |= static_cast<unsigned>(pos) << (i - base);
        y[i] = TINYADAPT_PROPAGATE_NAN(v, pos ? v : slope * v);  // 0 * NaN is NaN: a NaN passes
      }
      mask[b] = static_cast<unsigned char>(bits);
    }
  }
  void backward(const float*, const float*, const float*, const unsigned char* mask, const float* dy, float* dx, float*,
                float) const noexcept {
    if (!dx) return;
    for (std::size_t b = 0; b < state_bytes; ++b) {
      const std::size_t base = b * 8, end = base + 8 < n ? base + 8 : n;
      const unsigned bits = mask[b];
      for (std::size_t i = base; i < end; ++i) dx[i] = ((bits >> (i - base)) & 1u) ? dy[i] : slope * dy[i];
    }
  }
};

// y = f(y_in) with f' expressed through the output y.
template <class In, class Fn>
struct OutputActivationLayer : detail::NoParams {
  using input_shape = In;
  using output_shape = In;
  static constexpr bool in_place = true;
  static constexpr bool keeps_output = true;

  void forward(const float*, const float* x, float* y, unsigned char*) const noexcept {
    for (std::size_t i = 0; i < In::size; ++i) y[i] = Fn::f(x[i]);
  }
  void backward(const float*, const float*, const float* y, const unsigned char*, const float* dy, float* dx, float*,
                float) const noexcept {
    if (!dx) return;
    for (std::size_t i = 0; i < In::size; ++i) dx[i] = dy[i] * Fn::df_from_y(y[i]);
  }
};

namespace detail {
struct SigmoidFn {
  static float f(float x) noexcept {
    // e / (e + 1) or 1 / (e + 1) with e = exp(|x|), which never underflows the
    // ratio; one division after a select, so the loop has no branch and vectorises.
    const float e = exp_nonneg(x < 0.0f ? -x : x);
    return poison_nonfinite(x, lane_select(x >= 0.0f, e, 1.0f) / (e + 1.0f));
  }
  static float df_from_y(float y) noexcept { return y * (1.0f - y); }
};
struct TanhFn {
  static float f(float x) noexcept { return poison_nonfinite(x, tanh_fast(x)); }
  static float df_from_y(float y) noexcept { return 1.0f - y * y; }
};
}  // namespace detail

struct ReLU {
  template <class In>
  using bind = PiecewiseLinearLayer<In, 0, 1>;
};
// LeakyReLU with slope Num/Den for x < 0 (default 0.01, PyTorch's default).
template <std::size_t Num = 1, std::size_t Den = 100>
struct LeakyReLU {
  static_assert(Den > 0, "LeakyReLU slope needs a non-zero denominator");
  template <class In>
  using bind = PiecewiseLinearLayer<In, Num, Den>;
};
struct Sigmoid {
  template <class In>
  using bind = OutputActivationLayer<In, detail::SigmoidFn>;
};
struct Tanh {
  template <class In>
  using bind = OutputActivationLayer<In, detail::TanhFn>;
};

}  // namespace tinyadapt
