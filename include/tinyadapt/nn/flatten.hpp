// Flatten: any shape to a vector in row-major (H, W, C) order. When the
// network runs it in place it costs nothing; a copy only happens when the
// input must be kept (e.g. Flatten as the very first layer).
#pragma once
#include "../kernels/kernels.hpp"
#include "layer.hpp"

namespace tinyadapt {

template <class In>
struct FlattenLayer : detail::NoParams {
  using input_shape = In;
  using output_shape = Shape<In::size>;
  static constexpr bool in_place = true;

  void forward(const float*, const float* x, float* y, unsigned char*) const noexcept {
    if (x != y) kernels::copy(y, x, In::size);
  }
  void backward(const float*, const float*, const float*, const unsigned char*, const float* dy, float* dx, float*,
                float) const noexcept {
    if (dx && dx != dy) kernels::copy(dx, dy, In::size);
  }
};

struct Flatten {
  template <class In>
  using bind = FlattenLayer<In>;
};

}  // namespace tinyadapt
