// A device's update as robust aggregation takes it: checked, then scaled
// down to a norm bound. Works streaming, one update at a time, so it also
// protects meta::Server's running mean (clip the staging buffer, then
// add_delta) at no memory cost.
//
// "Absurd" is decided here: an update with any |element| > 2^40 is refused
// (no honest Δ of a small network is a trillion). The bound keeps every norm
// and distance of robust/ in float: (2 · 2^40)² × n < 2^128 for any n < 2^46
// elements, so the Cortex-M4F's single-precision FPU computes them without
// overflow and without software double.
#pragma once
#include <cmath>
#include <cstddef>

#include "../core/finite.hpp"
#include "../core/span.hpp"
#include "../core/status.hpp"
#include "../kernels/kernels.hpp"
#include "../optim/update_guard.hpp"

namespace tinyadapt::meta {

inline constexpr float robust_update_limit = 1099511627776.0f;  // 2^40

// ok when every element is finite and within robust_update_limit.
inline Status check_update(const float* v, std::size_t n) noexcept {
  const float m = max_abs(v, n);
  return is_finite(m) && m <= robust_update_limit ? Status::ok : Status::non_finite_update;
}

// Euclidean norm of a checked update (no overflow by the bound above).
inline float update_norm(const float* v, std::size_t n) noexcept { return std::sqrt(kernels::dot(v, v, n)); }

// Checks v, then scales it to norm <= max_norm (+Inf: no clipping). A refused
// v is left bit-identical; norm (if given) receives the norm before clipping.
inline Status clip_update(Span<float> v, float max_norm, float* norm = nullptr) noexcept {
  if (!tinyadapt::detail::valid_max_norm(max_norm)) return Status::bad_hyperparameter;
  const Status st = check_update(v.data(), v.size());
  if (st != Status::ok) return st;
  const float n = update_norm(v.data(), v.size());
  if (norm) *norm = n;
  const float f = tinyadapt::detail::clip_factor(n, max_norm);
  if (f < 1.0f)
    for (float& x : v) x *= f;
  return Status::ok;
}

}  // namespace tinyadapt::meta
