// Average pooling over H x W x C; needs nothing from the forward pass.
#pragma once
#include "../kernels/kernels.hpp"
#include "layer.hpp"
#include "channel_loops.hpp"

namespace tinyadapt {

template <std::size_t H, std::size_t W, std::size_t C, std::size_t K, std::size_t S>
struct AvgPool2DLayer : detail::NoParams, detail::ChannelLoops<AvgPool2DLayer<H, W, C, K, S>, C> {
  static constexpr std::size_t OH = (H - K) / S + 1;
  static constexpr std::size_t OW = (W - K) / S + 1;
  using input_shape = Shape<H, W, C>;
  using output_shape = Shape<OH, OW, C>;
  static constexpr bool in_place = false;
  static constexpr float scale = 1.0f / static_cast<float>(K * K);

  // Behind a growable layer (ChannelLoops::forward_channels) the first `active`
  // channels only; the other outputs are 0, as the layer below gave them.
  template <class CA>
  static void pool(const float* x, float* y, unsigned char*, CA ca) noexcept {
    for (std::size_t oy = 0; oy < OH; ++oy)
      for (std::size_t ox = 0; ox < OW; ++ox) {
        float* yp = y + (oy * OW + ox) * C;
        kernels::zero(yp, C);
        for (std::size_t ky = 0; ky < K; ++ky)
          for (std::size_t kx = 0; kx < K; ++kx)
            kernels::axpy(yp, x + ((oy * S + ky) * W + ox * S + kx) * C, scale, static_cast<std::size_t>(ca));
      }
  }
  template <class CA>
  static void unpool(const unsigned char*, const float* dy, float* dx, CA ca) noexcept {
    kernels::zero(dx, H * W * C);
    for (std::size_t oy = 0; oy < OH; ++oy)
      for (std::size_t ox = 0; ox < OW; ++ox)
        for (std::size_t ky = 0; ky < K; ++ky)
          for (std::size_t kx = 0; kx < K; ++kx)
            kernels::axpy(dx + ((oy * S + ky) * W + ox * S + kx) * C, dy + (oy * OW + ox) * C, scale,
                          static_cast<std::size_t>(ca));
  }
};

// AvgPool2D<Size, Stride = Size> (floor mode).
template <std::size_t Size, std::size_t Stride = Size>
struct AvgPool2D {
  static_assert(Size > 0 && Stride > 0, "AvgPool2D needs a window and stride of at least 1");
  template <class In>
  struct bind_check {
    static_assert(In::rank == 3, "AvgPool2D needs an image input of shape H x W x C");
    static_assert(In::dim(0) >= Size && In::dim(1) >= Size, "AvgPool2D window is larger than its input");
    using type = AvgPool2DLayer<In::dim(0), In::dim(1), In::dim(2), Size, Stride>;
  };
  template <class In>
  using bind = typename bind_check<In>::type;
};

}  // namespace tinyadapt
