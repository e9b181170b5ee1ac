// 1-D convolution over L x C signals: a Conv2D over a 1 x L x C image with a
// 1 x K kernel, so it shares every loop and kernel with Conv2D.
// Weights stored [k][in_c][out_c].
#pragma once
#include "conv2d.hpp"

namespace tinyadapt {

template <std::size_t L, std::size_t C, std::size_t F, std::size_t K, std::size_t S, Padding P>
struct Conv1DLayer : detail::ConvCore<1, L, C, F, 1, K, 1, S, P> {
  using core = detail::ConvCore<1, L, C, F, 1, K, 1, S, P>;
  using input_shape = Shape<L, C>;
  using output_shape = Shape<core::OW, F>;
};

// Conv1D<Filters, Kernel, Stride, Padding> over a Length x Channels input.
template <std::size_t Filters, std::size_t Kernel, std::size_t Stride = 1, Padding Pad = Padding::valid>
struct Conv1D {
  static_assert(Filters > 0 && Kernel > 0 && Stride > 0, "Conv1D needs filters, kernel size and stride of at least 1");
  template <class In>
  struct bind_check {
    static_assert(In::rank == 2, "Conv1D needs an input of shape Length x Channels (use Input<L, C>)");
    static_assert(Pad == Padding::same || In::dim(0) >= Kernel, "Conv1D kernel is longer than its input with valid padding");
    using type = Conv1DLayer<In::dim(0), In::dim(1), Filters, Kernel, Stride, Pad>;
  };
  template <class In>
  using bind = typename bind_check<In>::type;
};

}  // namespace tinyadapt
