// GlobalAvgPool: H x W x C to C, the mean of each channel over all pixels.
#pragma once
#include "../kernels/kernels.hpp"
#include "layer.hpp"

namespace tinyadapt {

template <std::size_t Pixels, std::size_t C, class InShape>
struct GlobalAvgPoolLayer : detail::NoParams {
  using input_shape = InShape;
  using output_shape = Shape<C>;
  static constexpr bool in_place = false;
  static constexpr float scale = 1.0f / static_cast<float>(Pixels);

  void forward(const float*, const float* x, float* y, unsigned char*) const noexcept {
    kernels::zero(y, C);
    for (std::size_t i = 0; i < Pixels; ++i) kernels::axpy(y, x + i * C, scale, C);
  }
  void backward(const float*, const float*, const float*, const unsigned char*, const float* dy, float* dx, float*,
                float) const noexcept {
    if (!dx) return;
    for (std::size_t i = 0; i < Pixels; ++i)
      for (std::size_t c = 0; c < C; ++c) dx[i * C + c] = dy[c] * scale;
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
