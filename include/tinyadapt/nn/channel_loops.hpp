// What pooling layers share: one loop pair over the channels of a pixel,
// pool(x, y, state, ca) and unpool(state, dy, dx, ca) with ca the channels
// to visit (detail::Fixed<C> for all of them: the compile-time loops), gives
// the layer's forward/backward and, behind a growable layer, its
// forward_channels/backward_channels over the first `active` channels.
#pragma once
#include <cstddef>

#include "submatrix.hpp"  // detail::Fixed

namespace tinyadapt::detail {

template <class Derived, std::size_t C>
struct ChannelLoops {
  void forward(const float*, const float* x, float* y, unsigned char* s) const noexcept {
    Derived::pool(x, y, s, Fixed<C>{});
  }
  void backward(const float*, const float*, const float*, const unsigned char* s, const float* dy, float* dx, float*,
                float) const noexcept {
    if (dx) Derived::unpool(s, dy, dx, Fixed<C>{});
  }
  void forward_channels(const float*, const float* x, float* y, unsigned char* s, std::size_t active) const noexcept {
    if (active == C) Derived::pool(x, y, s, Fixed<C>{});
    else Derived::pool(x, y, s, active);
  }
  void backward_channels(const float*, const float*, const float*, const unsigned char* s, const float* dy, float* dx,
                         std::size_t active) const noexcept {
    if (!dx) return;
    if (active == C) Derived::unpool(s, dy, dx, Fixed<C>{});
    else Derived::unpool(s, dy, dx, active);
  }
};

}  // namespace tinyadapt::detail
