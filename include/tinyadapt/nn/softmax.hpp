// Softmax over the whole tensor, numerically stable (max subtracted). For
// classification training prefer a linear output and SoftmaxCrossEntropy, which
// fuses both; this layer is for networks that must output probabilities.
#pragma once
#include <cmath>

#include "../kernels/kernels.hpp"
#include "layer.hpp"

namespace tinyadapt {

template <class In>
struct SoftmaxLayer : detail::NoParams {
  using input_shape = In;
  using output_shape = In;
  static constexpr std::size_t n = In::size;
  static constexpr bool in_place = true;
  static constexpr bool keeps_output = true;

  void forward(const float*, const float* x, float* y, unsigned char*) const noexcept {
    float m = x[0];
    for (std::size_t i = 1; i < n; ++i) m = x[i] > m ? x[i] : m;
    float sum = 0.0f;
    for (std::size_t i = 0; i < n; ++i) {
      y[i] = std::exp(x[i] - m);
      sum += y[i];
    }
    const float inv = 1.0f / sum;
    for (std::size_t i = 0; i < n; ++i) y[i] *= inv;
  }
  // dx = y ⊙ (dy - <dy, y>); safe when dx aliases dy.
  void backward(const float*, const float*, const float* y, const unsigned char*, const float* dy, float* dx, float*,
                float) const noexcept {
    if (!dx) return;
    float s = 0.0f;
    for (std::size_t i = 0; i < n; ++i) s += dy[i] * y[i];
    for (std::size_t i = 0; i < n; ++i) dx[i] = y[i] * (dy[i] - s);
  }
};

struct Softmax {
  template <class In>
  using bind = SoftmaxLayer<In>;
};

}  // namespace tinyadapt
