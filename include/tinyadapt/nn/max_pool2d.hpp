// Max pooling over H x W x C. Backward needs only where each maximum came
// from: one byte per output (the window position), not the input tensor.
#pragma once
#include "../kernels/kernels.hpp"
#include "../core/math.hpp"
#include "layer.hpp"
#include "channel_loops.hpp"

namespace tinyadapt {

template <std::size_t H, std::size_t W, std::size_t C, std::size_t K, std::size_t S>
struct MaxPool2DLayer : detail::NoParams, detail::ChannelLoops<MaxPool2DLayer<H, W, C, K, S>, C> {
  static constexpr std::size_t OH = (H - K) / S + 1;
  static constexpr std::size_t OW = (W - K) / S + 1;
  using input_shape = Shape<H, W, C>;
  using output_shape = Shape<OH, OW, C>;
  static_assert(K * K <= 256, "MaxPool2D windows are limited to 256 elements (argmax is stored in a byte)");
  static constexpr bool in_place = false;
  static constexpr std::size_t state_bytes = OH * OW * C;
  // Each input receives the deltas of at most ceil(K/S)^2 overlapping windows.
  static constexpr float backward_gain = static_cast<float>((K + S - 1) / S);

  // Behind a growable layer (ChannelLoops::forward_channels) the first `active`
  // channels only; the other outputs are 0, as the layer below gave them.
  template <class CA>
  static void pool(const float* x, float* y, unsigned char* argmax, CA ca) noexcept {
    if constexpr (!detail::is_fixed<CA>::value) kernels::zero(y, OH * OW * C);
    for (std::size_t oy = 0; oy < OH; ++oy)
      for (std::size_t ox = 0; ox < OW; ++ox)
        for (std::size_t c = 0; c < static_cast<std::size_t>(ca); ++c) {
          const std::size_t o = (oy * OW + ox) * C + c;
          float best = x[((oy * S) * W + ox * S) * C + c];
          float sum = 0.0f;  // NaN or Inf anywhere in the window makes it non-finite
          unsigned char arg = 0;
          for (std::size_t ky = 0; ky < K; ++ky)
            for (std::size_t kx = 0; kx < K; ++kx) {
              const float v = x[((oy * S + ky) * W + ox * S + kx) * C + c];
              sum += v;
              if (v > best) {
                best = v;
                arg = static_cast<unsigned char>(ky * K + kx);
              }
            }
          // A compare skips NaN, so the maximum alone would hide one; best + 0
          // when the window is finite, NaN when it is not.
          y[o] = TINYADAPT_PROPAGATE_NAN(sum, best + (sum - sum));
          argmax[o] = arg;
        }
  }
  template <class CA>
  static void unpool(const unsigned char* argmax, const float* dy, float* dx, CA ca) noexcept {
    kernels::zero(dx, H * W * C);
    for (std::size_t oy = 0; oy < OH; ++oy)
      for (std::size_t ox = 0; ox < OW; ++ox)
        for (std::size_t c = 0; c < static_cast<std::size_t>(ca); ++c) {
          const std::size_t o = (oy * OW + ox) * C + c;
          const std::size_t ky = argmax[o] / K, kx = argmax[o] % K;
          dx[((oy * S + ky) * W + ox * S + kx) * C + c] += dy[o];
        }
  }
};

// MaxPool2D<Size, Stride = Size> (floor mode: a partial window at the edge is dropped).
template <std::size_t Size, std::size_t Stride = Size>
struct MaxPool2D {
  static_assert(Size > 0 && Stride > 0, "MaxPool2D needs a window and stride of at least 1");
  template <class In>
  struct bind_check {
    static_assert(In::rank == 3, "MaxPool2D needs an image input of shape H x W x C");
    static_assert(In::dim(0) >= Size && In::dim(1) >= Size, "MaxPool2D window is larger than its input");
    using type = MaxPool2DLayer<In::dim(0), In::dim(1), In::dim(2), Size, Stride>;
  };
  template <class In>
  using bind = typename bind_check<In>::type;
};

}  // namespace tinyadapt
