// What every layer provides, and the defaults most layers share.
//
// A layer is written as a *spec* (Dense<10>, Conv2D<8, 3>, ReLU) whose member
// template `bind<InputShape>` yields the concrete layer for that input. A bound
// layer L provides:
//
//   using input_shape, output_shape;
//   static constexpr size_t weight_count, bias_count;  // parameters, weights first
//   static constexpr size_t fan_in, fan_out;           // for initialisers
//   static constexpr size_t macs;                      // forward multiply-accumulates
//   static constexpr bool   trainable;                 // has a weight gradient
//   static constexpr bool   in_place;                  // output may overwrite input
//   static constexpr bool   keeps_input, keeps_output; // what backward reads
//   static constexpr size_t state_bytes;               // kept from forward to backward
//                                                      // (ReLU bit mask, max-pool argmax)
//   static constexpr float  backward_gain;             // parameter-free layers: a bound of
//                                                      // |dx|_2 / |dy|_2 (used to check the
//                                                      // layer below before any write)
//   static constexpr float  grad_norm_input_factor,    // trainable layers: |dLoss/dp|_2^2 <=
//                           grad_norm_bias_factor;     //   |dy|^2 (in_factor |x|^2 + bias_factor)
//   void forward(const float* p, const float* x, float* y, unsigned char* state) const;
//   void backward(const float* p, const float* x, const float* y, const unsigned char* state,
//                 const float* dy, float* dx, float* dp, float dp_scale) const;
//
// The gradient norm bound is exact for Dense (dW = dy xᵀ) and follows from
// Cauchy-Schwarz for convolutions; the network uses it to clip and to prove an
// update finite before writing it, at the cost of two dot products per layer.
//
// Layers with a run-time active width (nn/growable_dense.hpp,
// nn/growable_conv2d.hpp) also declare run_time_width = true, their maximum and
// initial widths, and run-time members the network calls: width(),
// input_width(), active_macs(), active_params(), out_sq(dy) and in_sq(x) (the
// guard's squared norms over the active part), init_active, add_units,
// add_inputs and reset_widths.
//
// backward computes dx (skipped when dx == nullptr) *before* it touches dp, and
// adds dp_scale * dLoss/dp to dp (skipped when dp == nullptr). dp may be the
// parameters themselves: with dp_scale = -lr that is a fused SGD step and no
// gradient memory exists at all.
#pragma once
#include <cmath>
#include <cstddef>
#include <type_traits>

#include "../core/rng.hpp"
#include "../core/shape.hpp"

namespace tinyadapt {

// Weight initialisers. Biases are zero except for torch_default, which
// reproduces PyTorch's nn.Linear/nn.Conv default (uniform ±1/sqrt(fan_in)).
enum class Init : unsigned char { torch_default, he_normal, he_uniform, glorot_uniform, glorot_normal };

namespace detail {

// Defaults for parameter-free layers.
struct NoParams {
  static constexpr std::size_t weight_count = 0;
  static constexpr std::size_t bias_count = 0;
  static constexpr std::size_t fan_in = 1;
  static constexpr std::size_t fan_out = 1;
  static constexpr std::size_t macs = 0;
  static constexpr bool trainable = false;
  static constexpr bool keeps_input = false;
  static constexpr bool keeps_output = false;
  static constexpr std::size_t state_bytes = 0;
  static constexpr float backward_gain = 1.0f;  // true of every element-wise map with |f'| <= 1
};

inline void init_params(float* p, std::size_t weights, std::size_t biases, std::size_t fan_in, std::size_t fan_out,
                        Rng& rng, Init scheme) noexcept {
  const auto fi = static_cast<float>(fan_in);
  const auto fo = static_cast<float>(fan_out);
  float bias_bound = 0.0f;
  for (std::size_t i = 0; i < weights; ++i) {
    switch (scheme) {
      case Init::torch_default: p[i] = rng.uniform(-1.0f, 1.0f) / std::sqrt(fi); break;
      case Init::he_normal: p[i] = rng.normal() * std::sqrt(2.0f / fi); break;
      case Init::he_uniform: p[i] = rng.uniform(-1.0f, 1.0f) * std::sqrt(6.0f / fi); break;
      case Init::glorot_uniform: p[i] = rng.uniform(-1.0f, 1.0f) * std::sqrt(6.0f / (fi + fo)); break;
      case Init::glorot_normal: p[i] = rng.normal() * std::sqrt(2.0f / (fi + fo)); break;
    }
  }
  if (scheme == Init::torch_default) bias_bound = 1.0f / std::sqrt(fi);
  for (std::size_t i = 0; i < biases; ++i) p[weights + i] = bias_bound == 0.0f ? 0.0f : rng.uniform(-bias_bound, bias_bound);
}

// Whether a bound layer has a run-time active width.
template <class L, class = void>
struct has_run_time_width : std::false_type {};
template <class L>
struct has_run_time_width<L, std::void_t<decltype(L::run_time_width)>> : std::bool_constant<L::run_time_width> {};

// How a layer spec binds behind a layer with a run-time width: its input has
// C channels (the last dimension, or groups of C after Flatten) of which the
// first A are active at first. Defined in nn/growable.hpp.
template <class Spec, class In, std::size_t C, std::size_t A, class = void>
struct bind_behind_growable;

// Sentences for the static_asserts of shape mismatches.
template <class S>
inline constexpr bool is_vector = S::rank == 1;
template <class S>
inline constexpr bool is_image = S::rank == 3;

}  // namespace detail
}  // namespace tinyadapt
