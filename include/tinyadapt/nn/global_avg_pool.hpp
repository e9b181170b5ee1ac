// GlobalAvgPool: H x W x C to C, the mean of each channel over all pixels.
#pragma once
#include "../kernels/kernels.hpp"
#include "layer.hpp"
#include "channel_loops.hpp"

namespace tinyadapt {

template <std::size_t Pixels, std::size_t C, class InShape>
struct GlobalAvgPoolLayer : detail::NoParams, detail::ChannelLoops<GlobalAvgPoolLayer<Pixels, C, InShape>, C> {
  using input_shape = InShape;
  using output_shape = Shape<C>;
  static constexpr bool in_place = false;
  static constexpr float scale = 1.0f / static_cast<float>(Pixels);

  // Behind a growable layer (ChannelLoops::forward_channels) the first `active`
  // channels only (inactive outputs 0; inactive input deltas are not
  // written: nothing below reads them).
  template <class CA>
  static void pool(const float* x, float* y, unsigned char*, CA ca) noexcept {
    kernels::zero(y, C);
    for (std::size_t i = 0; i < Pixels; ++i) kernels::axpy(y, x + i * C, scale, static_cast<std::size_t>(ca));
  }
  template <class CA>
  static void unpool(const unsigned char*, const float* dy, float* dx, CA ca) noexcept {
    for (std::size_t i = 0; i < Pixels; ++i)
      for (std::size_t c = 0; c < static_cast<std::size_t>(ca); ++c) dx[i * C + c] = dy[c] * scale;
  }
};

struct GlobalAvgPool {
  template <class In>
  struct bind_check {
    static_assert(In::rank == 3 || In::rank == 2, "GlobalAvgPool needs an H x W x C image or an L x C signal");
    static constexpr std::size_t channels = In::dim(In::rank - 1);
    using type = GlobalAvgPoolLayer<In::size / channels, channels, In>;
  };
  template <class In>
  using bind = typename bind_check<In>::type;
};

}  // namespace tinyadapt
