// The shared kernels on a block of a matrix: rows x cols inside a row-major
// matrix whose rows are ld floats apart. Layers with a run-time active width
// keep their weights laid out for the maximum, so their active part is such a
// block.
//
// A fixed width (a fixed layer's full size, as a Fixed<N> type) runs the
// kernel itself on the whole contiguous block, with its target variant: the
// fixed layers' code is what it always was. A run-time width runs a row at a
// time through dot and axpy, at every width, so that no sum changes its order
// when the layer grows: axpy sums in row order (new rows add exact zeros), and
// dot lengths are rounded up to a multiple of the dot kernel's lanes (the
// padding multiplies zero weights), since its partial sums would otherwise
// regroup. That is what makes growth bit-exact on every target.
#pragma once
#include <cstddef>
#include <type_traits>

#include "../kernels/kernels.hpp"

// The lambdas handed to the walks below are inlined too: a closure call would
// read the sizes from memory and lose the fixed layers' constants.
#if defined(__GNUC__)
#define TINYADAPT_INLINE_LAMBDA __attribute__((always_inline))
#else
#define TINYADAPT_INLINE_LAMBDA
#endif

namespace tinyadapt::detail {

// A width known at compile time: what fixed layers pass for their active
// part, so that the loops below are, by type, exactly the full-size kernels
// (no test at run time, sizes folded into the target kernel's path choice).
template <std::size_t N>
using Fixed = std::integral_constant<std::size_t, N>;
template <class T>
struct is_fixed : std::false_type {};
template <std::size_t N>
struct is_fixed<Fixed<N>> : std::true_type {};

// Lanes of kernels::dot's partial sums: a dot over a multiple of them gives
// the same bits when zero terms are appended.
#if TINYADAPT_HAS_NEON
inline constexpr std::size_t dot_lanes = 16;
#else
inline constexpr std::size_t dot_lanes = 8;  // portable: 8 partial sums; Cortex-M4: 8- and 16-wide blocks
#endif
// Whether kernels::dot adds its terms one after another to a single sum
// from 0 (the Cortex-M4's): a short dot summed the same way in registers then
// has its bits, without the padding.
#if TINYADAPT_HAS_CORTEX_M4
inline constexpr bool dot_in_order = true;
#else
inline constexpr bool dot_in_order = false;
#endif
// A run-time dot length: n rounded up to the lanes, at most cap (the row).
inline std::size_t dot_length(std::size_t n, std::size_t cap) noexcept {
  const std::size_t r = (n + dot_lanes - 1) / dot_lanes * dot_lanes;
  return r < cap ? r : cap;
}

// y += A x; a run-time dot may read up to cap columns (zero weights past cols).
template <class Cols>
TINYADAPT_ALWAYS_INLINE void block_gemv(const float* TINYADAPT_RESTRICT A, std::size_t ld,
                                        const float* TINYADAPT_RESTRICT x, float* TINYADAPT_RESTRICT y,
                                        std::size_t rows, Cols cols, std::size_t cap) noexcept {
  if constexpr (is_fixed<Cols>::value) {
    kernels::gemv(A, x, y, rows, cols);  // a fixed width is the whole row: cols == ld
  } else {
    const std::size_t n = dot_length(cols, cap);
    for (std::size_t r = 0; r < rows; ++r) y[r] += kernels::dot(A + r * ld, x, n);
  }
}

// y += A^T x
template <class Cols>
TINYADAPT_ALWAYS_INLINE void block_gemv_t(const float* TINYADAPT_RESTRICT A, std::size_t ld,
                                          const float* TINYADAPT_RESTRICT x, float* TINYADAPT_RESTRICT y,
                                          std::size_t rows, Cols cols) noexcept {
  if constexpr (is_fixed<Cols>::value) {
    kernels::gemv_t(A, x, y, rows, cols);
  } else {
    for (std::size_t r = 0; r < rows; ++r) kernels::axpy(y, A + r * ld, x[r], cols);
  }
}

// A += s u v^T
template <class Cols>
TINYADAPT_ALWAYS_INLINE void block_rank1(float* TINYADAPT_RESTRICT A, std::size_t ld,
                                         const float* TINYADAPT_RESTRICT u, const float* TINYADAPT_RESTRICT v,
                                         float s, std::size_t rows, Cols cols) noexcept {
  if constexpr (is_fixed<Cols>::value) {
    kernels::rank1(A, u, v, s, rows, cols);
  } else {
    for (std::size_t r = 0; r < rows; ++r) kernels::axpy(A + r * ld, v, s * u[r], cols);
  }
}

// A vector of N floats made of groups of G channels (a flattened channel-last
// map: one group per pixel) of which the first `active` carry values: f(offset,
// length) for every active run; a fixed width is one run over the whole vector.
// (Run-time widths never merge the runs: the sums keep their grouping.)
template <std::size_t N, std::size_t G, class Active, class Fn>
TINYADAPT_ALWAYS_INLINE void for_each_active_run(Active active, Fn&& f) noexcept {
  if constexpr (is_fixed<Active>::value) {
    static_assert(Active::value == G, "internal: a fixed width is the full width");
    f(Fixed<0>{}, Fixed<N>{});
  } else {
    for (std::size_t o = 0; o < N; o += G) f(o, static_cast<std::size_t>(active));
  }
}

// |x|^2 over the active runs.
template <std::size_t N, std::size_t G>
inline float active_sq(const float* x, std::size_t active) noexcept {
  float s = 0.0f;
  for_each_active_run<N, G>(active, [&](std::size_t o, std::size_t len) {
    s += kernels::dot(x + o, x + o, dot_length(len, G));
  });
  return s;
}

}  // namespace tinyadapt::detail
