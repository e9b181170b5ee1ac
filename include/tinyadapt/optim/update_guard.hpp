// What every optimizer shares to keep the step invariant: a step that returns
// ok leaves every parameter and state value it touched finite, and a refused
// step leaves them bit-identical.
//
// How, without scanning the weights: each trainable layer reports an upper
// bound of its gradient's Frobenius norm (Sequential::backward, two dot
// products per layer). An optimizer accepts the layer only if the bound proves
// every element of its update smaller than update_limit = 2^100; adding less
// than 2^103 to a finite float can never round to Inf, so the written weights
// are finite. All layers are accepted before the first one is written, so a
// refusal changes nothing. Norm clipping (max_grad_norm) scales a layer's
// gradient down to that norm instead of refusing it: one glitching sample can
// move no layer further than lr * max_grad_norm.
#pragma once
#include <cmath>
#include <cstddef>

#include "../core/finite.hpp"
#include "../core/status.hpp"

namespace tinyadapt {

// Where a layer's active parameters are among its count: all of them (a
// fixed layer), or, for a layer with a run-time width (nn/growable*.hpp),
// `outer` x `inner` runs of `run` floats (run r, j at r * outer_stride +
// j * inner_stride) and then `tail` floats at tail_at (the active biases).
// Parameters outside are never active: zero gradient, untouched state.
struct ParamRuns {
  bool whole = true;
  std::size_t outer = 0, outer_stride = 0, inner = 0, inner_stride = 0, run = 0, tail_at = 0, tail = 0;
};

// One trainable layer's gradient as the optimizer sees it.
struct LayerGrad {
  std::size_t layer = 0;   // index of the layer in the network
  std::size_t offset = 0;  // first of its parameters among the trainable ones (gradient/state slice)
  std::size_t count = 0;   // its parameters
  float norm = 0.0f;       // bound of |dLoss/dp|_2 (exact for Dense); NaN/Inf if the gradient is not finite
  ParamRuns active = {};   // the part of the count an update must visit
};

// f(first, length) for every run of g's active parameters (layer-relative
// offsets), so that optimizers and accumulators loop over the active part only.
template <class F>
inline void for_each_active(const LayerGrad& g, F&& f) noexcept {
  const ParamRuns& a = g.active;
  if (a.whole) {
    f(std::size_t{0}, g.count);
    return;
  }
  for (std::size_t r = 0; r < a.outer; ++r)
    for (std::size_t j = 0; j < a.inner; ++j) f(r * a.outer_stride + j * a.inner_stride, a.run);
  if (a.tail > 0) f(a.tail_at, a.tail);
}

// Default of every optimizer's max_grad_norm: far above the per-layer norms of
// ordinary training (the reference networks stay below 60), far below what a
// glitching sensor produces. Set it to INFINITY to turn clipping off.
inline constexpr float default_max_grad_norm = 1000.0f;

namespace detail {

inline constexpr float update_limit = 1.2676506e30f;  // 2^100

// Factor that scales a gradient of norm `norm` down to at most max_norm.
inline float clip_factor(float norm, float max_norm) noexcept {
  return norm > max_norm ? max_norm / norm : 1.0f;
}

// The clipped gradient's norm bound, or a non-finite value if the gradient is.
inline float clipped_norm(float norm, float max_norm) noexcept {
  if (!is_finite(norm)) return norm;
  return norm > max_norm ? max_norm : norm;
}

// v finite and at most update_limit (the only way a bound may pass).
inline bool within_limit(float v) noexcept { return is_finite(v) && v <= update_limit; }

inline bool valid_rate(float lr) noexcept { return is_finite(lr) && lr >= 0.0f; }
inline bool valid_max_norm(float m) noexcept { return !is_nan(m) && m > 0.0f; }  // +Inf: no clipping
inline bool valid_fraction(float b) noexcept { return is_finite(b) && b >= 0.0f && b < 1.0f; }

}  // namespace detail
}  // namespace tinyadapt
