// Layers with a run-time active width (model size adaption): which layers may
// sit between a growable layer and the next one that reads its channels.
//
// A growable layer's output has C channels (units, filters) of which the
// first A are active. Layers without parameters that work channel by channel
// (element-wise activations, pooling, Flatten of a channel-last map) pass
// that structure on unchanged (the activations and pooling layers have
// forward_channels/backward_channels and loop over the active channels
// alone: Sequential passes them the width); the next layer with parameters is bound to its
// run-time-width form, so it reads the active channels only: Dense<N> and
// Conv2D<F, K> by their own headers, growable specs by their bind_growing.
// Anything else there (Softmax mixes channels, a depthwise convolution has
// per-channel weights) is a compile-time error.
//
// Include nn/growable_dense.hpp and nn/growable_conv2d.hpp (this header's
// users); nn/sequential.hpp does the binding.
#pragma once
#include <cstddef>
#include <type_traits>

#include "../kernels/kernels.hpp"
#include "../optim/update_guard.hpp"  // ParamRuns: the active parameters
#include "layer.hpp"
#include "softmax.hpp"

namespace tinyadapt::detail {

// What every layer with a run-time width shares: the widths (its outputs,
// and its inputs' active channels) and growth. Derived provides
// init_units(p, first, n, fan_out_units, rng, scheme) (fresh incoming
// weights and bias of units [first, first + n)) and zero_inputs(p, n) (the
// weights from the next n input channels).
template <class Derived, std::size_t Params, std::size_t InitialOut, std::size_t InitialIn>
struct RunTimeWidth {
  static constexpr bool run_time_width = true;
  static constexpr std::size_t initial_width = InitialOut;
  static constexpr std::size_t initial_input_width = InitialIn;

  std::size_t width() const noexcept { return InitialOut + added_; }
  std::size_t input_width() const noexcept { return InitialIn + in_added_; }

  // As a fixed layer of the active widths would be initialised (the same
  // draws in the same order); every other parameter 0.
  void init_active(float* p, Rng& rng, Init scheme) noexcept {
    kernels::zero(p, Params);
    self().init_units(p, 0, width(), width(), rng, scheme);
  }
  // n new units: fresh incoming weights and bias; their outgoing weights are
  // the next layer's (add_inputs there).
  void add_units(float* p, std::size_t n, Rng& rng, Init scheme) noexcept {
    self().init_units(p, width(), n, width() + n, rng, scheme);
    added_ += n;
  }
  // n new input channels: their weights to every unit are 0, so the output
  // does not change.
  void add_inputs(float* p, std::size_t n) noexcept {
    self().zero_inputs(p, n);
    in_added_ += n;
  }
  void reset_widths() noexcept { added_ = in_added_ = 0; }
  // Widths restored from saved data (Sequential::set_widths checks them first).
  void set_widths(std::size_t out, std::size_t in) noexcept { added_ = out - InitialOut, in_added_ = in - InitialIn; }

 private:
  Derived& self() noexcept { return static_cast<Derived&>(*this); }
  // Growth beyond the initial widths: a network is all zeros when
  // constructed, so a static one stays in .bss (no initialiser image in flash).
  std::size_t added_ = 0, in_added_ = 0;
};

template <class L>
struct passes_channels : std::bool_constant<L::weight_count + L::bias_count == 0> {};
template <class In>
struct passes_channels<SoftmaxLayer<In>> : std::false_type {};

template <class Spec, class In, std::size_t C, std::size_t A, class>
struct bind_behind_growable {
  using type = typename Spec::template bind<In>;
  static_assert(passes_channels<type>::value,
                "behind a growable layer only Dense, Conv2D, growable layers, element-wise activations, pooling "
                "and Flatten may follow, until the next Dense or Conv2D (this layer mixes or weights channels)");
};
template <class Spec, class In, std::size_t C, std::size_t A>
struct bind_behind_growable<Spec, In, C, A, std::void_t<typename Spec::template bind_growing<In, C, A>>> {
  using type = typename Spec::template bind_growing<In, C, A>;
};

}  // namespace tinyadapt::detail
