// AArch64 Advanced SIMD (NEON) variants of the float kernels in portable.hpp,
// for Cortex-A cores such as the Raspberry Pi 4's Cortex-A72: same names,
// signatures and results up to rounding (summation order and fused
// multiply-adds differ; tests/test_kernels_neon.cpp checks 1e-5 of the sum of
// |terms| at many sizes).
//
// One FMLA on a q register does four multiply-accumulates. What keeps the
// FMLA units busy:
//   - independent accumulators: an FMLA waits several cycles for the previous
//     one on the same register, so reductions keep 4 q registers (16 floats)
//     per sum in flight, and element-wise kernels work on 16 floats per step;
//   - register blocking over 4 rows: gemv loads a chunk of x once for 4 rows
//     (16 accumulators), gemv_t keeps a chunk of y in registers across 4 rows
//     (y loaded and stored once per 4 rows, not per row), rank1 keeps a chunk
//     of v;
//   - tails: columns that are not a multiple of 16 go 4 at a time, then one
//     at a time; rows that are not a multiple of 4 go through dot or axpy.
// Single rows and columns reduce to dot or axpy, as on the Cortex-M4. Plain
// intrinsics, no asm: the compiler allocates the 32 q registers and schedules
// the loads.
// Only for AArch64 targets (kernels.hpp includes this header only when
// TINYADAPT_HAS_NEON).
#pragma once
#include <cstddef>

#include "../config.hpp"

#if !defined(__aarch64__) || !defined(__ARM_NEON)
#error "neon.hpp needs an AArch64 target with Advanced SIMD"
#endif

#include <arm_neon.h>

namespace tinyadapt::kernels::neon {

namespace neon_detail {
using std::size_t;

// Blocks of 4 floats (one q register) and of 16 (four q registers, operated on
// independently). Each loop body below is written once for both block types.
using Q4 = float32x4_t;
struct Q16 {
  Q4 q0, q1, q2, q3;
};

// GCC 12 -Warray-bounds: when a short array of known size (float x[7]) meets
// a size known only at run time, the 16-wide path is flagged although that
// size never reaches it. Loads and stores are guarded by the sizes; the
// warning is off for these helpers only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
#endif
template <class V>
V load(const float* p) noexcept;
template <>
inline Q4 load<Q4>(const float* p) noexcept {
  return vld1q_f32(p);
}
template <>
inline Q16 load<Q16>(const float* p) noexcept {
  return {vld1q_f32(p), vld1q_f32(p + 4), vld1q_f32(p + 8), vld1q_f32(p + 12)};
}
inline void store(float* p, Q4 v) noexcept { vst1q_f32(p, v); }
inline void store(float* p, const Q16& v) noexcept {
  vst1q_f32(p, v.q0);
  vst1q_f32(p + 4, v.q1);
  vst1q_f32(p + 8, v.q2);
  vst1q_f32(p + 12, v.q3);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
// a ⊙ b
inline Q4 fmul(Q4 a, Q4 b) noexcept { return vmulq_f32(a, b); }
inline Q16 fmul(const Q16& a, const Q16& b) noexcept {
  return {vmulq_f32(a.q0, b.q0), vmulq_f32(a.q1, b.q1), vmulq_f32(a.q2, b.q2), vmulq_f32(a.q3, b.q3)};
}
// d + a * s (FMLA by element)
inline Q4 fmla(Q4 d, Q4 a, float s) noexcept { return vfmaq_n_f32(d, a, s); }
inline Q16 fmla(const Q16& d, const Q16& a, float s) noexcept {
  return {vfmaq_n_f32(d.q0, a.q0, s), vfmaq_n_f32(d.q1, a.q1, s), vfmaq_n_f32(d.q2, a.q2, s),
          vfmaq_n_f32(d.q3, a.q3, s)};
}
// acc += a ⊙ b for a reduction: 16 partial sums, so that consecutive FMLAs
// do not wait on each other; a 4-block goes into the first register.
inline void accumulate(Q16& acc, const Q16& a, const Q16& b) noexcept {
  acc = {vfmaq_f32(acc.q0, a.q0, b.q0), vfmaq_f32(acc.q1, a.q1, b.q1), vfmaq_f32(acc.q2, a.q2, b.q2),
         vfmaq_f32(acc.q3, a.q3, b.q3)};
}
inline void accumulate(Q16& acc, Q4 a, Q4 b) noexcept { acc.q0 = vfmaq_f32(acc.q0, a, b); }
inline Q16 zero() noexcept {
  const Q4 z = vdupq_n_f32(0.0f);
  return {z, z, z, z};
}
// The 16 partial sums folded into 4 (pairwise, balanced).
inline Q4 fold(const Q16& v) noexcept { return vaddq_f32(vaddq_f32(v.q0, v.q1), vaddq_f32(v.q2, v.q3)); }

// Calls step(Q16{}, i) for each block of 16 in [0, n), then step(Q4{}, i)
// for each block of 4 after them; returns where the scalar tail starts.
// The driver and the steps (lambdas marked always_inline) must be inlined,
// or the accumulators they share live in memory instead of registers.
template <class Step>
TINYADAPT_ALWAYS_INLINE size_t blocks(size_t n, Step&& step) noexcept {
  size_t i = 0;
  for (; i < n - n % 16; i += 16) step(Q16{}, i);
  for (; i < n - n % 4; i += 4) step(Q4{}, i);
  return i;
}

// y[0..4) += a_k . x over cols columns, for the 4 rows a0 + k * cols.
inline void gemv_rows4(const float* a0, const float* x, float* y, size_t cols) noexcept {
  const float *a1 = a0 + cols, *a2 = a1 + cols, *a3 = a2 + cols;
  Q16 s0 = zero(), s1 = s0, s2 = s0, s3 = s0;
  // Each block of x is loaded once for all four rows.
  size_t c = blocks(cols, [&](auto block, size_t k) __attribute__((always_inline)) {
    using V = decltype(block);
    const V xv = load<V>(x + k);
    accumulate(s0, load<V>(a0 + k), xv);
    accumulate(s1, load<V>(a1 + k), xv);
    accumulate(s2, load<V>(a2 + k), xv);
    accumulate(s3, load<V>(a3 + k), xv);
  });
  // Lane k of `sums` is row k's total: two rounds of pairwise adds.
  Q4 sums = vpaddq_f32(vpaddq_f32(fold(s0), fold(s1)), vpaddq_f32(fold(s2), fold(s3)));
  if (c < cols) {
    float tail[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (; c < cols; ++c) {
      tail[0] += a0[c] * x[c];
      tail[1] += a1[c] * x[c];
      tail[2] += a2[c] * x[c];
      tail[3] += a3[c] * x[c];
    }
    sums = vaddq_f32(sums, vld1q_f32(tail));
  }
  vst1q_f32(y, vaddq_f32(vld1q_f32(y), sums));
}

// y += sum_k x[k] a_k over cols columns, for the 4 rows a0 + k * cols; rows
// are added one after another, as in the portable kernel.
inline void gemv_t_rows4(const float* a0, const float* x, float* y, size_t cols) noexcept {
  const float *a1 = a0 + cols, *a2 = a1 + cols, *a3 = a2 + cols;
  const float x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3];
  // The block of y stays in registers for all four rows.
  size_t c = blocks(cols, [&](auto block, size_t k) __attribute__((always_inline)) {
    using V = decltype(block);
    V yv = load<V>(y + k);
    yv = fmla(yv, load<V>(a0 + k), x0);
    yv = fmla(yv, load<V>(a1 + k), x1);
    yv = fmla(yv, load<V>(a2 + k), x2);
    yv = fmla(yv, load<V>(a3 + k), x3);
    store(y + k, yv);
  });
  for (; c < cols; ++c) {
    float t = y[c];
    t += a0[c] * x0;
    t += a1[c] * x1;
    t += a2[c] * x2;
    t += a3[c] * x3;
    y[c] = t;
  }
}

// a_k += (s u[k]) v over cols columns, for the 4 rows a0 + k * cols.
inline void rank1_rows4(float* a0, const float* u, const float* v, float s, size_t cols) noexcept {
  float *a1 = a0 + cols, *a2 = a1 + cols, *a3 = a2 + cols;
  const float s0 = s * u[0], s1 = s * u[1], s2 = s * u[2], s3 = s * u[3];
  // Each block of v is loaded once for all four rows.
  size_t c = blocks(cols, [&](auto block, size_t k) __attribute__((always_inline)) {
    using V = decltype(block);
    const V vv = load<V>(v + k);
    store(a0 + k, fmla(load<V>(a0 + k), vv, s0));
    store(a1 + k, fmla(load<V>(a1 + k), vv, s1));
    store(a2 + k, fmla(load<V>(a2 + k), vv, s2));
    store(a3 + k, fmla(load<V>(a3 + k), vv, s3));
  });
  for (; c < cols; ++c) {
    a0[c] += s0 * v[c];
    a1[c] += s1 * v[c];
    a2[c] += s2 * v[c];
    a3[c] += s3 * v[c];
  }
}

}  // namespace neon_detail

// sum_i a[i] * b[i]
inline float dot(const float* TINYADAPT_RESTRICT a, const float* TINYADAPT_RESTRICT b, std::size_t n) noexcept {
  using namespace neon_detail;  // NOLINT: the helpers above
  Q16 acc = zero();
  std::size_t i = blocks(n, [&](auto block, std::size_t k) __attribute__((always_inline)) {
    using V = decltype(block);
    accumulate(acc, load<V>(a + k), load<V>(b + k));
  });
  float s = vaddvq_f32(fold(acc));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

// y += a * x
inline void axpy(float* TINYADAPT_RESTRICT y, const float* TINYADAPT_RESTRICT x, float a, std::size_t n) noexcept {
  using namespace neon_detail;  // NOLINT: the helpers above
  std::size_t i = blocks(n, [&](auto block, std::size_t k) __attribute__((always_inline)) {
    using V = decltype(block);
    store(y + k, fmla(load<V>(y + k), load<V>(x + k), a));
  });
  for (; i < n; ++i) y[i] += a * x[i];
}

// y += s * (a ⊙ b), element-wise products (depthwise convolutions).
inline void hadamard_acc(float* TINYADAPT_RESTRICT y, const float* TINYADAPT_RESTRICT a,
                         const float* TINYADAPT_RESTRICT b, float s, std::size_t n) noexcept {
  using namespace neon_detail;  // NOLINT: the helpers above
  std::size_t i = blocks(n, [&](auto block, std::size_t k) __attribute__((always_inline)) {
    using V = decltype(block);
    store(y + k, fmla(load<V>(y + k), fmul(load<V>(a + k), load<V>(b + k)), s));
  });
  for (; i < n; ++i) y[i] += s * (a[i] * b[i]);
}

// y += A x
inline void gemv(const float* TINYADAPT_RESTRICT A, const float* TINYADAPT_RESTRICT x, float* TINYADAPT_RESTRICT y,
                 std::size_t rows, std::size_t cols) noexcept {
  if (rows == 0 || cols == 0) return;
  if (cols == 1) return axpy(y, A, x[0], rows);  // a column: no reduction at all
  std::size_t r = 0;
  for (; r < rows - rows % 4; r += 4) neon_detail::gemv_rows4(A + r * cols, x, y + r, cols);
  for (; r < rows; ++r) y[r] += dot(A + r * cols, x, cols);
}

// y += A^T x
inline void gemv_t(const float* TINYADAPT_RESTRICT A, const float* TINYADAPT_RESTRICT x, float* TINYADAPT_RESTRICT y,
                   std::size_t rows, std::size_t cols) noexcept {
  if (rows == 0 || cols == 0) return;
  if (cols == 1) {  // one output: a dot product down the column
    y[0] += dot(A, x, rows);
    return;
  }
  std::size_t r = 0;
  for (; r < rows - rows % 4; r += 4) neon_detail::gemv_t_rows4(A + r * cols, x + r, y, cols);
  for (; r < rows; ++r) axpy(y, A + r * cols, x[r], cols);
}

// A += s * u v^T (the weight gradient of a dense layer, or its SGD update when
// A is the weight matrix itself and s = -lr).
inline void rank1(float* TINYADAPT_RESTRICT A, const float* TINYADAPT_RESTRICT u, const float* TINYADAPT_RESTRICT v,
                  float s, std::size_t rows, std::size_t cols) noexcept {
  if (rows == 0 || cols == 0) return;
  if (cols == 1) return axpy(A, u, s * v[0], rows);  // a column: one axpy down it
  std::size_t r = 0;
  for (; r < rows - rows % 4; r += 4) neon_detail::rank1_rows4(A + r * cols, u + r, v, s, cols);
  for (; r < rows; ++r) axpy(A + r * cols, v, s * u[r], cols);
}

}  // namespace tinyadapt::kernels::neon
