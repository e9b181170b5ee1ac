// GrowableConv2D<MaxFilters, Kernel, InitialFilters, Stride, Padding>: a 2-D
// convolution whose active output channels are chosen at run time within a
// compile-time maximum (see nn/growable_dense.hpp for what that means:
// memory and offsets for the maximum, every loop over the active part).
// Inactive output channels are 0. Behind a layer with a run-time width, a
// plain Conv2D<F, K> reads its active input channels only.
#pragma once
#include <cstddef>

#include "conv2d.hpp"
#include "growable.hpp"
#include "growable_dense.hpp"  // a Dense reads a growable map after Flatten

namespace tinyadapt {

// Input H x W x C with InitialC active channels; F filters with InitialF active.
template <std::size_t H, std::size_t W, std::size_t C, std::size_t F, std::size_t InitialF, std::size_t K,
          std::size_t S, Padding P, std::size_t InitialC, bool Grows>
struct GrowableConv2DLayer
    : Conv2DLayer<H, W, C, F, K, S, P>,
      detail::RunTimeWidth<GrowableConv2DLayer<H, W, C, F, InitialF, K, S, P, InitialC, Grows>,
                           detail::ConvCore<H, W, C, F, K, K, S, S, P>::weight_count + F, InitialF, InitialC> {
  static_assert(InitialF > 0 && InitialF <= F, "the initial width must be between 1 and the maximum");
  using core = detail::ConvCore<H, W, C, F, K, K, S, S, P>;
  static constexpr std::size_t weight_count = core::weight_count;
  static constexpr std::size_t taps = K * K;

  static constexpr bool grows = Grows;
  static constexpr std::size_t max_width = F;
  static constexpr std::size_t input_group = C;

  void forward(const float* p, const float* x, float* y, unsigned char*) const noexcept {
    core::forward_active(p, x, y, input_channels(), this->width());
  }
  void backward(const float* p, const float* x, const float*, const unsigned char*, const float* dy, float* dx,
                float* dp, float dp_scale) const noexcept {
    core::backward_active(p, x, dy, dx, dp, dp_scale, input_channels(), this->width());
  }
  // The active input channels; a compile-time constant when they start at C
  // (they cannot grow), so the kernel rows are whole and their length known.
  auto input_channels() const noexcept {
    if constexpr (InitialC == C) return detail::Fixed<C>{};
    else return this->input_width();
  }

  std::size_t active_macs() const noexcept { return core::OH * core::OW * taps * this->input_width() * this->width(); }
  std::size_t active_params() const noexcept { return taps * this->input_width() * this->width() + this->width(); }
  // The active weights ([kh][kw][c < input width][f < width]) and biases,
  // for the optimizers' loops (optim/update_guard.hpp).
  ParamRuns active_runs() const noexcept {
    const std::size_t w = this->width(), in = this->input_width();
    if (w == F) return {false, taps, C * F, 1, 0, in * F, weight_count, w};  // whole rows: one run per tap
    return {false, taps, C * F, in, F, w, weight_count, w};
  }
  float out_sq(const float* dy) const noexcept {
    return detail::active_sq<core::OH * core::OW * F, F>(dy, this->width());
  }
  float in_sq(const float* x) const noexcept { return detail::active_sq<H * W * C, C>(x, this->input_width()); }

  // Weights [kh][kw][c][f] drawn in that order, then biases, as a fixed
  // Conv2D of the active widths draws them.
  void init_units(float* p, std::size_t first, std::size_t n, std::size_t fo, Rng& rng, Init scheme) const noexcept {
    const std::size_t fi = taps * this->input_width();
    for (std::size_t r = 0; r < taps * C; ++r) kernels::zero(p + r * F + first, n);
    for (std::size_t t = 0; t < taps; ++t)
      for (std::size_t c = 0; c < this->input_width(); ++c)
        detail::init_params(p + (t * C + c) * F + first, n, 0, fi, taps * fo, rng, scheme);
    detail::init_params(p + weight_count + first, 0, n, fi, taps * fo, rng, scheme);
  }
  void zero_inputs(float* p, std::size_t n) const noexcept {
    for (std::size_t t = 0; t < taps; ++t) kernels::zero(p + (t * C + this->input_width()) * F, n * F);
  }
};

namespace detail {
template <class In, std::size_t C, std::size_t A, std::size_t F, std::size_t InitialF, std::size_t K, std::size_t S,
          Padding P, bool Grows>
struct bind_growable_conv2d {
  static_assert(In::rank == 3, "a growable Conv2D needs an image input of shape H x W x C");
  static_assert(P == Padding::same || (In::dim(0) >= K && In::dim(1) >= K),
                "Conv2D kernel is larger than its input with valid padding");
  static_assert(C == 0 || In::dim(2) == C, "internal: the channels of a growable map are its last dimension");
  using type = GrowableConv2DLayer<In::dim(0), In::dim(1), In::dim(2), F, InitialF, K, S, P,
                                   C == 0 ? In::dim(2) : A, Grows>;
};
}  // namespace detail

template <std::size_t MaxFilters, std::size_t Kernel, std::size_t InitialFilters = MaxFilters,
          std::size_t Stride = 1, Padding Pad = Padding::valid>
struct GrowableConv2D {
  static_assert(MaxFilters > 0 && Kernel > 0 && Stride > 0, "GrowableConv2D needs filters, kernel and stride >= 1");
  static_assert(InitialFilters > 0 && InitialFilters <= MaxFilters,
                "GrowableConv2D needs 1 <= InitialFilters <= MaxFilters");
  template <class In>
  using bind = typename detail::bind_growable_conv2d<In, 0, 0, MaxFilters, InitialFilters, Kernel, Stride, Pad,
                                                     true>::type;
  template <class In, std::size_t C, std::size_t A>
  using bind_growing = typename detail::bind_growable_conv2d<In, C, A, MaxFilters, InitialFilters, Kernel, Stride,
                                                             Pad, true>::type;
};

namespace detail {
// A plain Conv2D behind a layer with a run-time width reads its active inputs only.
template <std::size_t F, std::size_t K, std::size_t S, Padding P, class In, std::size_t C, std::size_t A>
struct bind_behind_growable<Conv2D<F, K, S, P>, In, C, A> {
  using type = typename bind_growable_conv2d<In, C, A, F, F, K, S, P, false>::type;
};
}  // namespace detail

}  // namespace tinyadapt
