// Depthwise 2-D convolution (one filter per channel, multiplier 1), weights
// stored [kh][kw][c]. Each kernel tap is an element-wise product over channels.
#pragma once
#include "../kernels/kernels.hpp"
#include "layer.hpp"
#include "padding.hpp"

namespace tinyadapt {

template <std::size_t H, std::size_t W, std::size_t C, std::size_t K, std::size_t S, Padding P>
struct DepthwiseConv2DLayer {
  static constexpr std::size_t OH = detail::conv_out(H, K, S, P);
  static constexpr std::size_t OW = detail::conv_out(W, K, S, P);
  static constexpr std::size_t PT = detail::conv_pad_before(H, K, S, P);
  static constexpr std::size_t PL = detail::conv_pad_before(W, K, S, P);
  using input_shape = Shape<H, W, C>;
  using output_shape = Shape<OH, OW, C>;
  static constexpr std::size_t weight_count = K * K * C;
  static constexpr std::size_t bias_count = C;
  static constexpr std::size_t fan_in = K * K;
  static constexpr std::size_t fan_out = K * K;
  static constexpr std::size_t macs = OH * OW * K * K * C;
  static constexpr bool trainable = true;
  static constexpr bool in_place = false;
  static constexpr bool keeps_input = true;
  static constexpr bool keeps_output = false;
  static constexpr std::size_t state_bytes = 0;
  static constexpr float grad_norm_input_factor = static_cast<float>(K * K);  // as Conv2D
  static constexpr float grad_norm_bias_factor = static_cast<float>(OH * OW);

  // Calls f(x_offset, w_offset) for every kernel tap inside the image.
  template <class Fn>
  static TINYADAPT_ALWAYS_INLINE void for_each_tap(std::size_t oy, std::size_t ox, Fn&& f) noexcept {
    for (std::size_t ky = 0; ky < K; ++ky) {
      const std::ptrdiff_t iy = static_cast<std::ptrdiff_t>(oy * S + ky) - static_cast<std::ptrdiff_t>(PT);
      if (iy < 0 || iy >= static_cast<std::ptrdiff_t>(H)) continue;
      for (std::size_t kx = 0; kx < K; ++kx) {
        const std::ptrdiff_t ix = static_cast<std::ptrdiff_t>(ox * S + kx) - static_cast<std::ptrdiff_t>(PL);
        if (ix < 0 || ix >= static_cast<std::ptrdiff_t>(W)) continue;
        f((static_cast<std::size_t>(iy) * W + static_cast<std::size_t>(ix)) * C, (ky * K + kx) * C);
      }
    }
  }

  void forward(const float* p, const float* x, float* y, unsigned char*) const noexcept {
    for (std::size_t oy = 0; oy < OH; ++oy)
      for (std::size_t ox = 0; ox < OW; ++ox) {
        float* yp = y + (oy * OW + ox) * C;
        kernels::copy(yp, p + weight_count, C);
        for_each_tap(oy, ox, [&](std::size_t xo, std::size_t wo) { kernels::hadamard_acc(yp, x + xo, p + wo, 1.0f, C); });
      }
  }

  void backward(const float* p, const float* x, const float*, const unsigned char*, const float* dy, float* dx,
                float* dp, float dp_scale) const noexcept {
    if (dx) {
      kernels::zero(dx, H * W * C);
      for (std::size_t oy = 0; oy < OH; ++oy)
        for (std::size_t ox = 0; ox < OW; ++ox) {
          const float* g = dy + (oy * OW + ox) * C;
          for_each_tap(oy, ox, [&](std::size_t xo, std::size_t wo) { kernels::hadamard_acc(dx + xo, g, p + wo, 1.0f, C); });
        }
    }
    if (dp) {
      for (std::size_t oy = 0; oy < OH; ++oy)
        for (std::size_t ox = 0; ox < OW; ++ox) {
          const float* g = dy + (oy * OW + ox) * C;
          kernels::axpy(dp + weight_count, g, dp_scale, C);
          for_each_tap(oy, ox, [&](std::size_t xo, std::size_t wo) { kernels::hadamard_acc(dp + wo, g, x + xo, dp_scale, C); });
        }
    }
  }
};

// DepthwiseConv2D<Kernel, Stride, Padding>: one K x K filter per input channel.
template <std::size_t Kernel, std::size_t Stride = 1, Padding Pad = Padding::valid>
struct DepthwiseConv2D {
  static_assert(Kernel > 0 && Stride > 0, "DepthwiseConv2D needs kernel size and stride of at least 1");
  template <class In>
  struct bind_check {
    static_assert(In::rank == 3, "DepthwiseConv2D needs an image input of shape H x W x C");
    static_assert(Pad == Padding::same || (In::dim(0) >= Kernel && In::dim(1) >= Kernel),
                  "DepthwiseConv2D kernel is larger than its input with valid padding");
    using type = DepthwiseConv2DLayer<In::dim(0), In::dim(1), In::dim(2), Kernel, Stride, Pad>;
  };
  template <class In>
  using bind = typename bind_check<In>::type;
};

}  // namespace tinyadapt
