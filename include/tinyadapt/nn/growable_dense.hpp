// GrowableDense<MaxUnits, InitialUnits>: a dense layer whose active units are
// chosen at run time within a compile-time maximum; GrowableHead<MaxClasses,
// InitialClasses> the same as a classifier whose classes grow.
//
// Memory (parameters, activations) is laid out for the maximum, so growing
// moves no parameter: the flat offsets of every layer, and of every weight in
// it, never change. Every loop (forward, backward, the fused update, the
// gradient norm of the guard, MAC and parameter counts) runs over the active
// part only. Inactive outputs are 0 (a hidden layer: ReLU, pooling and
// flattening keep them 0) or masked_logit (a head: softmax gives them
// probability exactly 0, argmax never picks them).
//
// Behind a layer with a run-time width, Sequential binds a plain Dense<N> to
// GrowableDenseLayer with fixed outputs, so it reads its active inputs only.
#pragma once
#include <cstddef>

#include "dense.hpp"
#include "growable.hpp"

namespace tinyadapt {

// Logit of a class a growing head does not hold yet (finite, so the network's
// output stays checkable; exp(masked_logit - max) is 0).
inline constexpr float masked_logit = -1.0e30f;

enum class OutputWidth : unsigned char {
  fixed,   // outputs never grow (a Dense behind a growable layer)
  hidden,  // units grow; inactive outputs are 0
  head,    // classes grow; inactive outputs are masked_logit
};

// In inputs in groups of G (G = In: one group) with InitialIn active of each;
// MaxOut units with InitialOut active.
template <std::size_t In, std::size_t MaxOut, std::size_t InitialOut, std::size_t G, std::size_t InitialIn,
          OutputWidth Kind>
struct GrowableDenseLayer
    : DenseLayer<In, MaxOut>,
      detail::RunTimeWidth<GrowableDenseLayer<In, MaxOut, InitialOut, G, InitialIn, Kind>, MaxOut * In + MaxOut,
                           InitialOut, InitialIn> {
  static_assert(InitialOut > 0 && InitialOut <= MaxOut, "the initial width must be between 1 and the maximum");
  static_assert(In % G == 0, "internal: input groups must tile the input");
  using core = detail::DenseCore<In, MaxOut, G>;
  static constexpr std::size_t weight_count = MaxOut * In;
  static constexpr std::size_t groups = In / G;

  static constexpr bool grows = Kind != OutputWidth::fixed;
  static constexpr std::size_t max_width = MaxOut;
  static constexpr std::size_t input_group = G;
  static constexpr float fill = Kind == OutputWidth::head ? masked_logit : 0.0f;

  void forward(const float* p, const float* x, float* y, unsigned char*) const noexcept {
    core::forward(p, x, y, this->width(), this->input_width(), fill);
  }
  void backward(const float* p, const float* x, const float*, const unsigned char*, const float* dy, float* dx,
                float* dp, float dp_scale) const noexcept {
    core::backward(p, x, dy, dx, dp, dp_scale, this->width(), this->input_width());
  }

  std::size_t active_inputs() const noexcept { return groups * this->input_width(); }
  std::size_t active_macs() const noexcept { return this->width() * active_inputs(); }
  std::size_t active_params() const noexcept { return this->width() * active_inputs() + this->width(); }
  // The active weights (rows of the active units, their active input runs)
  // and biases, for the optimizers' loops (optim/update_guard.hpp).
  ParamRuns active_runs() const noexcept {
    const std::size_t w = this->width(), in = this->input_width();
    if (in == G) return {false, 1, 0, 1, 0, w * In, weight_count, w};  // whole rows: one run
    return {false, w, In, groups, G, in, weight_count, w};
  }
  float out_sq(const float* dy) const noexcept {
    return kernels::dot(dy, dy, detail::dot_length(this->width(), MaxOut));
  }
  float in_sq(const float* x) const noexcept { return detail::active_sq<In, G>(x, this->input_width()); }

  // Row by row, each row's active inputs in order, then biases: the draws of
  // a fixed Dense of the active widths.
  void init_units(float* p, std::size_t first, std::size_t n, std::size_t fo, Rng& rng, Init scheme) const noexcept {
    const std::size_t fi = active_inputs();
    for (std::size_t r = first; r < first + n; ++r) {
      kernels::zero(p + r * In, In);
      detail::for_each_active_run<In, G>(this->input_width(), [&](std::size_t o, std::size_t len) {
        detail::init_params(p + r * In + o, len, 0, fi, fo, rng, scheme);
      });
    }
    detail::init_params(p + weight_count + first, 0, n, fi, fo, rng, scheme);
  }
  void zero_inputs(float* p, std::size_t n) const noexcept {
    for (std::size_t r = 0; r < MaxOut; ++r)
      for (std::size_t o = 0; o < In; o += G) kernels::zero(p + r * In + o + this->input_width(), n);
  }
};

namespace detail {
template <class In, std::size_t C, std::size_t A, std::size_t Max, std::size_t Initial, OutputWidth Kind>
struct bind_growable_dense {
  static_assert(In::rank == 1, "a growable Dense needs a flat (rank-1) input: put Flatten before it");
  static_assert(C == 0 || In::size % C == 0, "internal: the input is not made of whole channel groups");
  using type = GrowableDenseLayer<In::size, Max, Initial, C == 0 ? In::size : C, C == 0 ? In::size : A, Kind>;
};
}  // namespace detail

// GrowableDense<MaxUnits, InitialUnits>: a hidden dense layer that can grow.
template <std::size_t MaxUnits, std::size_t InitialUnits = MaxUnits>
struct GrowableDense {
  static_assert(MaxUnits > 0 && InitialUnits > 0 && InitialUnits <= MaxUnits,
                "GrowableDense needs 1 <= InitialUnits <= MaxUnits");
  template <class In>
  using bind = typename detail::bind_growable_dense<In, 0, 0, MaxUnits, InitialUnits, OutputWidth::hidden>::type;
  template <class In, std::size_t C, std::size_t A>
  using bind_growing =
      typename detail::bind_growable_dense<In, C, A, MaxUnits, InitialUnits, OutputWidth::hidden>::type;
};

// GrowableHead<MaxClasses, InitialClasses>: the last layer, a classifier
// whose classes are added as they arrive (the not yet held ones masked).
template <std::size_t MaxClasses, std::size_t InitialClasses = MaxClasses>
struct GrowableHead {
  static_assert(MaxClasses > 0 && InitialClasses > 0 && InitialClasses <= MaxClasses,
                "GrowableHead needs 1 <= InitialClasses <= MaxClasses");
  static constexpr bool must_be_last = true;
  template <class In>
  using bind = typename detail::bind_growable_dense<In, 0, 0, MaxClasses, InitialClasses, OutputWidth::head>::type;
  template <class In, std::size_t C, std::size_t A>
  using bind_growing =
      typename detail::bind_growable_dense<In, C, A, MaxClasses, InitialClasses, OutputWidth::head>::type;
};

namespace detail {
// A plain Dense behind a layer with a run-time width reads its active inputs only.
template <std::size_t Units, class In, std::size_t C, std::size_t A>
struct bind_behind_growable<Dense<Units>, In, C, A> {
  using type = typename bind_growable_dense<In, C, A, Units, Units, OutputWidth::fixed>::type;
};
}  // namespace detail

}  // namespace tinyadapt
