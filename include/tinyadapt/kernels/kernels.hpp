// Picks the kernel variant for the target at compile time. Layers call
// tinyadapt::kernels::<name>; a new target means new kernels, not new layers.
#pragma once
#include "../config.hpp"
#include "portable.hpp"

#if TINYADAPT_HAS_CORTEX_M4
#include "cortex_m4.hpp"
#elif TINYADAPT_HAS_NEON
#include "neon.hpp"
#endif

namespace tinyadapt::kernels {

#if TINYADAPT_HAS_CORTEX_M4
using namespace cortex_m4;  // NOLINT: deliberate selection of the target variant
inline constexpr const char* variant = "cortex-m4";
#elif TINYADAPT_HAS_NEON
using namespace neon;  // NOLINT: deliberate selection of the target variant
inline constexpr const char* variant = "neon";
#else
using namespace portable;  // NOLINT: deliberate selection of the portable variant
inline constexpr const char* variant = "portable";
#endif

// Zero n floats (kept here so layers need no <cstring>).
inline void zero(float* y, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) y[i] = 0.0f;
}
inline void copy(float* TINYADAPT_RESTRICT y, const float* TINYADAPT_RESTRICT x, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) y[i] = x[i];
}

}  // namespace tinyadapt::kernels
