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
    forward_run(x, y, mask, 0, n);
  }
  void backward(const float*, const float*, const float*, const unsigned char* mask, const float* dy, float* dx, float*,
                float) const noexcept {
    if (dx) backward_run(mask, dy, dx, 0, n);
  }

  // Behind a growable layer (nn/growable.hpp) only the first `active` of each
  // element's `channels` (the last dimension) are live: the loops visit those
  // alone when each element's channels fill whole mask bytes. The others are
  // left as they are (0 from the layer below in forward); their mask bits are
  // never read.
  static constexpr std::size_t channels = In::dim(In::rank - 1);
  void forward_channels(const float* p, const float* x, float* y, unsigned char* mask,
                        std::size_t active) const noexcept {
    if constexpr (channels % 8 == 0) {
      if (active <= 8 && active < channels) {  // one mask byte per element: no byte loop
        for (std::size_t i = 0; i < n; i += channels) mask[i / 8] = forward_byte(x, y, i, i + active);
        return;
      }
      if (active < channels) {
        for (std::size_t i = 0; i < n; i += channels) forward_run(x, y, mask, i, active);
        return;
      }
    }
    forward(p, x, y, mask);
  }
  void backward_channels(const float* p, const float* x, const float* y, const unsigned char* mask, const float* dy,
                         float* dx, std::size_t active) const noexcept {
    if constexpr (channels % 8 == 0) {
      if (active <= 8 && active < channels) {
        if (dx)
          for (std::size_t i = 0; i < n; i += channels) backward_byte(mask[i / 8], dy, dx, i, i + active);
        return;
      }
      if (active < channels) {
        if (dx)
          for (std::size_t i = 0; i < n; i += channels) backward_run(mask, dy, dx, i, active);
        return;
      }
    }
    backward(p, x, y, mask, dy, dx, nullptr, 0.0f);
  }

 private:
  // Elements [first, first + len), first a multiple of 8 (a mask byte's first bit).
  static TINYADAPT_ALWAYS_INLINE void forward_run(const float* x, float* y, unsigned char* mask, std::size_t first,
                                                  std::size_t len) noexcept {
    const std::size_t stop = first + len;
    for (std::size_t b = first / 8; b < (stop + 7) / 8; ++b) {
      const std::size_t base = b * 8, end = base + 8 < stop ? base + 8 : stop;
      mask[b] = forward_byte(x, y, base, end);
    }
  }
  // Elements [base, end), at most 8 from a mask byte's first bit: that byte.
  static TINYADAPT_ALWAYS_INLINE unsigned char forward_byte(const float* x, float* y, std::size_t base,
                                                            std::size_t end) noexcept {
    unsigned bits = 0;
    for (std::size_t i = base; i < end; ++i) {
      const float v = x[i];
      const bool pos = v > 0.0f;
      bits |= static_cast<unsigned>(pos) << (i - base);
      y[i] = TINYADAPT_PROPAGATE_NAN(v, pos ? v : slope * v);  // 0 * NaN is NaN: a NaN passes
    }
    return static_cast<unsigned char>(bits);
  }
  static TINYADAPT_ALWAYS_INLINE void backward_byte(unsigned bits, const float* dy, float* dx, std::size_t base,
                                                    std::size_t end) noexcept {
    for (std::size_t i = base; i < end; ++i) dx[i] = ((bits >> (i - base)) & 1u) ? dy[i] : slope * dy[i];
  }
  static TINYADAPT_ALWAYS_INLINE void backward_run(const unsigned char* mask, const float* dy, float* dx,
                                                   std::size_t first, std::size_t len) noexcept {
    const std::size_t stop = first + len;
    for (std::size_t b = first / 8; b < (stop + 7) / 8; ++b) {
      const std::size_t base = b * 8, end = base + 8 < stop ? base + 8 : stop;
      backward_byte(mask[b], dy, dx, base, end);
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

  // Behind a growable layer: the first `active` of each element's channels
  // only (the others stay as the layer below left them).
  static constexpr std::size_t channels = In::dim(In::rank - 1);
  void forward_channels(const float* p, const float* x, float* y, unsigned char* s, std::size_t active) const noexcept {
    if (active == channels) return forward(p, x, y, s);
    for (std::size_t i = 0; i < In::size; i += channels)
      for (std::size_t c = 0; c < active; ++c) y[i + c] = Fn::f(x[i + c]);
  }
  void backward_channels(const float* p, const float* x, const float* y, const unsigned char* s, const float* dy,
                         float* dx, std::size_t active) const noexcept {
    if (active == channels) return backward(p, x, y, s, dy, dx, nullptr, 0.0f);
    if (!dx) return;
    for (std::size_t i = 0; i < In::size; i += channels)
      for (std::size_t c = 0; c < active; ++c) dx[i + c] = dy[i + c] * Fn::df_from_y(y[i + c]);
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
