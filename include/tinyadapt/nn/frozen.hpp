// Frozen<Spec>: the layer keeps its parameters (in the flat buffer, used in
// forward) but has no gradient memory, does no weight-gradient work and keeps
// no input for backward.
#pragma once
#include "layer.hpp"

namespace tinyadapt {

template <class L>
struct FrozenLayer : L {
  static constexpr bool trainable = false;
  static constexpr bool keeps_input = false;
};

template <class Spec>
struct Frozen {
  template <class In>
  using bind = FrozenLayer<typename Spec::template bind<In>>;
};

}  // namespace tinyadapt
