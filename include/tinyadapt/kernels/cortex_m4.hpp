// Cortex-M4F (FPv4-SP) variants of the float kernels in portable.hpp: same
// names, signatures and results up to rounding (summation order and fused
// multiply-adds differ; tests/target/kernels_test.cpp checks 1e-5 of the sum
// of |terms| at many sizes).
//
// The M4 has no float SIMD, so one VFMA per multiply-accumulate is the floor.
// What these variants remove is everything around it:
//   - VLDMIA/VSTMIA move 8, 12 or 16 consecutive floats in one instruction;
//   - register blocking keeps a vector (x, a chunk of y, v or s*v) in
//     s-registers and reuses it for 3-4 rows or a whole call, and keeps
//     accumulators in registers instead of memory;
//   - 16-wide loop bodies amortise the loop's compare and branch.
// GCC does not produce multi-register VLDM/VSTM from plain C++, so the inner
// loops are short inline-asm blocks; sizes that are not multiples of the
// block (rows % 4, cols % 8) go through plain C++ tails in the portable
// order. The hot shapes of the layers get their own paths: contiguous rows of
// 16 or 8 columns (a convolution's kernel row against 16 or 8 filters,
// channel-last), rows == 1 or cols == 1 (which reduce to axpy or dot).
// Everything is always_inline: the layers pass compile-time sizes, so the
// path selection folds away. Executed instructions per MAC, one call
// (QEMU -icount): gemv/gemv_t/rank1 64x64 1.22/1.23/1.36, 24x16 1.19/1.17/1.30,
// 3x8 1.5/1.5/1.7; the portable kernels take 3.3-6.1 at the same shapes.
//
// The asm names s-registers directly and declares them clobbered; scalar
// operands ("t") land in the registers a block leaves free.
// Only for Cortex-M4F-class targets (kernels.hpp includes this header only
// when TINYADAPT_HAS_CORTEX_M4): the asm uses the FPv4-SP register file s0-s31.
#pragma once
#include <cstddef>

#include "../config.hpp"

#if !defined(__ARM_FP) || defined(__aarch64__) || !defined(__thumb2__)
#error "cortex_m4.hpp needs a 32-bit Arm target with a single-precision FPU (Cortex-M4F)"
#endif

// ---- asm text helpers ------------------------------------------------------
// Register numbers are spelled as lists so that blocks of 8 consecutive
// s-registers can be named by their base.
#define TA_M4_R8_0 0, 1, 2, 3, 4, 5, 6, 7
#define TA_M4_R8_4 4, 5, 6, 7, 8, 9, 10, 11
#define TA_M4_R8_8 8, 9, 10, 11, 12, 13, 14, 15
#define TA_M4_R8_16 16, 17, 18, 19, 20, 21, 22, 23
#define TA_M4_R8_24 24, 25, 26, 27, 28, 29, 30, 31

// s<d> += s<n> * m, with m a register name string ("s0", "%[a]").
#define TA_M4_FMA(d, n, m) "vfma.f32 s" #d ", s" #n ", " m "\n\t"
// acc += s<n> * s<x>, with acc a register name string.
#define TA_M4_FMA_ACC(acc, n, x) "vfma.f32 " acc ", s" #n ", s" #x "\n\t"

// D[i] += N[i] * m for 8 consecutive registers (axpy step).
#define TA_M4_AXPY8(D, N, m) TA_M4_AXPY8_(D, N, m)
#define TA_M4_AXPY8_(d0, d1, d2, d3, d4, d5, d6, d7, n0, n1, n2, n3, n4, n5, n6, n7, m)              \
  TA_M4_FMA(d0, n0, m) TA_M4_FMA(d1, n1, m) TA_M4_FMA(d2, n2, m) TA_M4_FMA(d3, n3, m) TA_M4_FMA(d4, n4, m) \
  TA_M4_FMA(d5, n5, m) TA_M4_FMA(d6, n6, m) TA_M4_FMA(d7, n7, m)

// acc += sum_i N[i] * X[i] for 8 consecutive registers (dot step).
#define TA_M4_DOT8(acc, N, X) TA_M4_DOT8_(acc, N, X)
#define TA_M4_DOT8_(acc, n0, n1, n2, n3, n4, n5, n6, n7, x0, x1, x2, x3, x4, x5, x6, x7)                     \
  TA_M4_FMA_ACC(acc, n0, x0) TA_M4_FMA_ACC(acc, n1, x1) TA_M4_FMA_ACC(acc, n2, x2) TA_M4_FMA_ACC(acc, n3, x3) \
  TA_M4_FMA_ACC(acc, n4, x4) TA_M4_FMA_ACC(acc, n5, x5) TA_M4_FMA_ACC(acc, n6, x6) TA_M4_FMA_ACC(acc, n7, x7)

// Blocks of 4 consecutive s-registers, and 4-wide steps.
#define TA_M4_R4_4 4, 5, 6, 7
#define TA_M4_R4_8 8, 9, 10, 11
#define TA_M4_R4_12 12, 13, 14, 15
#define TA_M4_R4_16 16, 17, 18, 19
#define TA_M4_R4_20 20, 21, 22, 23
#define TA_M4_R4_24 24, 25, 26, 27
#define TA_M4_R4_28 28, 29, 30, 31
#define TA_M4_AXPY4(D, N, m) TA_M4_AXPY4_(D, N, m)
#define TA_M4_AXPY4_(d0, d1, d2, d3, n0, n1, n2, n3, m) \
  TA_M4_FMA(d0, n0, m) TA_M4_FMA(d1, n1, m) TA_M4_FMA(d2, n2, m) TA_M4_FMA(d3, n3, m)
#define TA_M4_DOT4(acc, N, X) TA_M4_DOT4_(acc, N, X)
#define TA_M4_DOT4_(acc, n0, n1, n2, n3, x0, x1, x2, x3) \
  TA_M4_FMA_ACC(acc, n0, x0) TA_M4_FMA_ACC(acc, n1, x1) TA_M4_FMA_ACC(acc, n2, x2) TA_M4_FMA_ACC(acc, n3, x3)

// s<d> *= m for 8 consecutive registers.
#define TA_M4_MUL(d, m) "vmul.f32 s" #d ", s" #d ", " m "\n\t"
#define TA_M4_SCALE8(D, m) TA_M4_SCALE8_(D, m)
#define TA_M4_SCALE8_(d0, d1, d2, d3, d4, d5, d6, d7, m) \
  TA_M4_MUL(d0, m) TA_M4_MUL(d1, m) TA_M4_MUL(d2, m) TA_M4_MUL(d3, m) TA_M4_MUL(d4, m) TA_M4_MUL(d5, m) \
  TA_M4_MUL(d6, m) TA_M4_MUL(d7, m)

// Three contiguous rows of 16 floats (48) as four loads of 12 into s4-s15,
// against a 16-float vector in s16-s31 and three row scalars in s0-s2.
// OP(b, v, r) is one 4-wide step between s<b>.. (the loaded matrix), s<v>..
// (the vector, columns v-16..v-13) and s<r> (row r); LD/ST load/store s4-s15.
#define TA_M4_ROWS3_C16(LD, ST, OP)                \
  LD OP(4, 16, 0) OP(8, 20, 0) OP(12, 24, 0) ST \
  LD OP(4, 28, 0) OP(8, 16, 1) OP(12, 20, 1) ST \
  LD OP(4, 24, 1) OP(8, 28, 1) OP(12, 16, 2) ST \
  LD OP(4, 20, 2) OP(8, 24, 2) OP(12, 28, 2) ST
#define TA_M4_OP_GEMV_T(b, v, r) TA_M4_AXPY4(TA_M4_R4_##v, TA_M4_R4_##b, "s" #r)  // y[v] += A[b] x[r]
#define TA_M4_OP_GEMV(b, v, r) TA_M4_DOT4("s" #r, TA_M4_R4_##b, TA_M4_R4_##v)     // y[r] += A[b] . x[v]
#define TA_M4_OP_RANK1(b, v, r) TA_M4_AXPY4(TA_M4_R4_##b, TA_M4_R4_##v, "s" #r)   // A[b] += (s v)[v] u[r]

#define TA_M4_CLOBBER_S0_7 "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7"
#define TA_M4_CLOBBER_S8_15 "s8", "s9", "s10", "s11", "s12", "s13", "s14", "s15"
#define TA_M4_CLOBBER_S16_23 "s16", "s17", "s18", "s19", "s20", "s21", "s22", "s23"
#define TA_M4_CLOBBER_S24_31 "s24", "s25", "s26", "s27", "s28", "s29", "s30", "s31"
#define TA_M4_CLOBBER_S0_3 "s0", "s1", "s2", "s3"

// "subs n, n, #1; bne <label>": the loop tail.
#define TA_M4_LOOP(label) "subs %[n], %[n], #1\n\t" "bne " label "\n\t"

namespace tinyadapt::kernels::cortex_m4 {

namespace m4_detail {
using std::size_t;

// 4 rows at a0..a3 (any stride), columns [0, 16 * n16): y[c] += sum_k a_k[c] x[k].
TINYADAPT_ALWAYS_INLINE void gemv_t_rows4_c16(const float* a0, const float* a1, const float* a2, const float* a3,
                                              const float* x, float* y, size_t n16) noexcept {
  // s0-s3: x[0..4); s4-s11: half a row chunk; s16-s31: y chunk of 16.
  __asm__ __volatile__(
      "vldmia %[x], {s0-s3}\n\t"
      "1:\n\t"
      "vldmia %[y], {s16-s31}\n\t"
      "vldmia %[a0]!, {s4-s11}\n\t" TA_M4_AXPY8(TA_M4_R8_16, TA_M4_R8_4, "s0")
      "vldmia %[a0]!, {s4-s11}\n\t" TA_M4_AXPY8(TA_M4_R8_24, TA_M4_R8_4, "s0")
      "vldmia %[a1]!, {s4-s11}\n\t" TA_M4_AXPY8(TA_M4_R8_16, TA_M4_R8_4, "s1")
      "vldmia %[a1]!, {s4-s11}\n\t" TA_M4_AXPY8(TA_M4_R8_24, TA_M4_R8_4, "s1")
      "vldmia %[a2]!, {s4-s11}\n\t" TA_M4_AXPY8(TA_M4_R8_16, TA_M4_R8_4, "s2")
      "vldmia %[a2]!, {s4-s11}\n\t" TA_M4_AXPY8(TA_M4_R8_24, TA_M4_R8_4, "s2")
      "vldmia %[a3]!, {s4-s11}\n\t" TA_M4_AXPY8(TA_M4_R8_16, TA_M4_R8_4, "s3")
      "vldmia %[a3]!, {s4-s11}\n\t" TA_M4_AXPY8(TA_M4_R8_24, TA_M4_R8_4, "s3")
      "vstmia %[y]!, {s16-s31}\n\t"
      TA_M4_LOOP("1b")
      : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [y] "+r"(y), [n] "+r"(n16)
      : [x] "r"(x)
      : "cc", "memory", TA_M4_CLOBBER_S0_7, "s8", "s9", "s10", "s11", TA_M4_CLOBBER_S16_23, TA_M4_CLOBBER_S24_31);
}

// The same for one chunk of 8 columns.
TINYADAPT_ALWAYS_INLINE void gemv_t_rows4_c8(const float* a0, const float* a1, const float* a2, const float* a3,
                                             const float* x, float* y) noexcept {
  __asm__ __volatile__(
      "vldmia %[x], {s0-s3}\n\t"
      "vldmia %[y], {s24-s31}\n\t"
      "vldmia %[a0], {s4-s11}\n\t" TA_M4_AXPY8(TA_M4_R8_24, TA_M4_R8_4, "s0")
      "vldmia %[a1], {s4-s11}\n\t" TA_M4_AXPY8(TA_M4_R8_24, TA_M4_R8_4, "s1")
      "vldmia %[a2], {s4-s11}\n\t" TA_M4_AXPY8(TA_M4_R8_24, TA_M4_R8_4, "s2")
      "vldmia %[a3], {s4-s11}\n\t" TA_M4_AXPY8(TA_M4_R8_24, TA_M4_R8_4, "s3")
      "vstmia %[y], {s24-s31}\n\t"
      :
      : [a0] "r"(a0), [a1] "r"(a1), [a2] "r"(a2), [a3] "r"(a3), [x] "r"(x), [y] "r"(y)
      : "memory", TA_M4_CLOBBER_S0_7, "s8", "s9", "s10", "s11", TA_M4_CLOBBER_S24_31);
}

// 4 rows y[0..4) += a_k . x over columns [0, 16 * n16) (a_k any stride).
TINYADAPT_ALWAYS_INLINE void gemv_rows4_c16(const float* a0, const float* a1, const float* a2, const float* a3,
                                            const float* x, float* y, size_t n16) noexcept {
  // s0-s3: the four sums (start from y); s4-s11: half a row chunk; s16-s31: x chunk.
  __asm__ __volatile__(
      "vldmia %[y], {s0-s3}\n\t"
      "1:\n\t"
      "vldmia %[x]!, {s16-s31}\n\t"
      "vldmia %[a0]!, {s4-s11}\n\t" TA_M4_DOT8("s0", TA_M4_R8_4, TA_M4_R8_16)
      "vldmia %[a0]!, {s4-s11}\n\t" TA_M4_DOT8("s0", TA_M4_R8_4, TA_M4_R8_24)
      "vldmia %[a1]!, {s4-s11}\n\t" TA_M4_DOT8("s1", TA_M4_R8_4, TA_M4_R8_16)
      "vldmia %[a1]!, {s4-s11}\n\t" TA_M4_DOT8("s1", TA_M4_R8_4, TA_M4_R8_24)
      "vldmia %[a2]!, {s4-s11}\n\t" TA_M4_DOT8("s2", TA_M4_R8_4, TA_M4_R8_16)
      "vldmia %[a2]!, {s4-s11}\n\t" TA_M4_DOT8("s2", TA_M4_R8_4, TA_M4_R8_24)
      "vldmia %[a3]!, {s4-s11}\n\t" TA_M4_DOT8("s3", TA_M4_R8_4, TA_M4_R8_16)
      "vldmia %[a3]!, {s4-s11}\n\t" TA_M4_DOT8("s3", TA_M4_R8_4, TA_M4_R8_24)
      TA_M4_LOOP("1b")
      "vstmia %[y], {s0-s3}\n\t"
      : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x), [n] "+r"(n16)
      : [y] "r"(y)
      : "cc", "memory", TA_M4_CLOBBER_S0_7, "s8", "s9", "s10", "s11", TA_M4_CLOBBER_S16_23, TA_M4_CLOBBER_S24_31);
}

// The same for one chunk of 8 columns.
TINYADAPT_ALWAYS_INLINE void gemv_rows4_c8(const float* a0, const float* a1, const float* a2, const float* a3,
                                           const float* x, float* y) noexcept {
  __asm__ __volatile__(
      "vldmia %[y], {s0-s3}\n\t"
      "vldmia %[x], {s24-s31}\n\t"
      "vldmia %[a0], {s4-s11}\n\t" TA_M4_DOT8("s0", TA_M4_R8_4, TA_M4_R8_24)
      "vldmia %[a1], {s4-s11}\n\t" TA_M4_DOT8("s1", TA_M4_R8_4, TA_M4_R8_24)
      "vldmia %[a2], {s4-s11}\n\t" TA_M4_DOT8("s2", TA_M4_R8_4, TA_M4_R8_24)
      "vldmia %[a3], {s4-s11}\n\t" TA_M4_DOT8("s3", TA_M4_R8_4, TA_M4_R8_24)
      "vstmia %[y], {s0-s3}\n\t"
      :
      : [a0] "r"(a0), [a1] "r"(a1), [a2] "r"(a2), [a3] "r"(a3), [x] "r"(x), [y] "r"(y)
      : "memory", TA_M4_CLOBBER_S0_7, "s8", "s9", "s10", "s11", TA_M4_CLOBBER_S24_31);
}

// 4 rows a_k[c] += (s u[k]) v[c] over columns [0, 16 * n16) (a_k any stride).
TINYADAPT_ALWAYS_INLINE void rank1_rows4_c16(float* a0, float* a1, float* a2, float* a3, const float* u,
                                             const float* v, float s, size_t n16) noexcept {
  // s0-s3: s*u[0..4); s8-s15: half a row chunk; s16-s31: v chunk; s in s4-s7.
  __asm__ __volatile__(
      "vldmia %[u], {s0-s3}\n\t"
      "vmul.f32 s0, s0, %[s]\n\t"
      "vmul.f32 s1, s1, %[s]\n\t"
      "vmul.f32 s2, s2, %[s]\n\t"
      "vmul.f32 s3, s3, %[s]\n\t"
      "1:\n\t"
      "vldmia %[v]!, {s16-s31}\n\t"
      "vldmia %[a0], {s8-s15}\n\t" TA_M4_AXPY8(TA_M4_R8_8, TA_M4_R8_16, "s0") "vstmia %[a0]!, {s8-s15}\n\t"
      "vldmia %[a0], {s8-s15}\n\t" TA_M4_AXPY8(TA_M4_R8_8, TA_M4_R8_24, "s0") "vstmia %[a0]!, {s8-s15}\n\t"
      "vldmia %[a1], {s8-s15}\n\t" TA_M4_AXPY8(TA_M4_R8_8, TA_M4_R8_16, "s1") "vstmia %[a1]!, {s8-s15}\n\t"
      "vldmia %[a1], {s8-s15}\n\t" TA_M4_AXPY8(TA_M4_R8_8, TA_M4_R8_24, "s1") "vstmia %[a1]!, {s8-s15}\n\t"
      "vldmia %[a2], {s8-s15}\n\t" TA_M4_AXPY8(TA_M4_R8_8, TA_M4_R8_16, "s2") "vstmia %[a2]!, {s8-s15}\n\t"
      "vldmia %[a2], {s8-s15}\n\t" TA_M4_AXPY8(TA_M4_R8_8, TA_M4_R8_24, "s2") "vstmia %[a2]!, {s8-s15}\n\t"
      "vldmia %[a3], {s8-s15}\n\t" TA_M4_AXPY8(TA_M4_R8_8, TA_M4_R8_16, "s3") "vstmia %[a3]!, {s8-s15}\n\t"
      "vldmia %[a3], {s8-s15}\n\t" TA_M4_AXPY8(TA_M4_R8_8, TA_M4_R8_24, "s3") "vstmia %[a3]!, {s8-s15}\n\t"
      TA_M4_LOOP("1b")
      : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [v] "+r"(v), [n] "+r"(n16)
      : [u] "r"(u), [s] "t"(s)
      : "cc", "memory", TA_M4_CLOBBER_S0_3, TA_M4_CLOBBER_S8_15, TA_M4_CLOBBER_S16_23, TA_M4_CLOBBER_S24_31);
}

// The same for one chunk of 8 columns.
TINYADAPT_ALWAYS_INLINE void rank1_rows4_c8(float* a0, float* a1, float* a2, float* a3, const float* u,
                                            const float* v, float s) noexcept {
  __asm__ __volatile__(
      "vldmia %[u], {s0-s3}\n\t"
      "vmul.f32 s0, s0, %[s]\n\t"
      "vmul.f32 s1, s1, %[s]\n\t"
      "vmul.f32 s2, s2, %[s]\n\t"
      "vmul.f32 s3, s3, %[s]\n\t"
      "vldmia %[v], {s24-s31}\n\t"
      "vldmia %[a0], {s8-s15}\n\t" TA_M4_AXPY8(TA_M4_R8_8, TA_M4_R8_24, "s0") "vstmia %[a0], {s8-s15}\n\t"
      "vldmia %[a1], {s8-s15}\n\t" TA_M4_AXPY8(TA_M4_R8_8, TA_M4_R8_24, "s1") "vstmia %[a1], {s8-s15}\n\t"
      "vldmia %[a2], {s8-s15}\n\t" TA_M4_AXPY8(TA_M4_R8_8, TA_M4_R8_24, "s2") "vstmia %[a2], {s8-s15}\n\t"
      "vldmia %[a3], {s8-s15}\n\t" TA_M4_AXPY8(TA_M4_R8_8, TA_M4_R8_24, "s3") "vstmia %[a3], {s8-s15}\n\t"
      :
      : [a0] "r"(a0), [a1] "r"(a1), [a2] "r"(a2), [a3] "r"(a3), [u] "r"(u), [v] "r"(v), [s] "t"(s)
      : "memory", TA_M4_CLOBBER_S0_3, TA_M4_CLOBBER_S8_15, TA_M4_CLOBBER_S24_31);
}

// ---- contiguous rows of 16 columns (a convolution's kernel row against 16
// filters). The vector of 16 stays in s16-s31 for the whole call; rows go
// three at a time (48 floats = four 12-register loads), the rest one by one.
// When rows % 3 == 0 (known after inlining) the remainder code is left out.

#define TA_M4_CLOBBER_ALL \
  TA_M4_CLOBBER_S0_7, TA_M4_CLOBBER_S8_15, TA_M4_CLOBBER_S16_23, TA_M4_CLOBBER_S24_31
#define TA_M4_LOOP3 "subs %[n3], %[n3], #1\n\t" "bne 1b\n\t"
#define TA_M4_SKIP3 "cmp %[n3], #0\n\t" "beq 2f\n\t"
#define TA_M4_LOOP1 "subs %[nr], %[nr], #1\n\t" "bne 2b\n\t"

// y[0..16) += A^T x, A: rows x 16.
TINYADAPT_ALWAYS_INLINE void gemv_t_c16(const float* a, const float* x, float* y, size_t rows) noexcept {
  size_t n3 = rows / 3, nr = rows % 3;
#define TA_M4_BODY3 "vldmia %[x]!, {s0-s2}\n\t" TA_M4_ROWS3_C16("vldmia %[a]!, {s4-s15}\n\t", "", TA_M4_OP_GEMV_T)
#define TA_M4_BODY1                                                         \
  "vldmia %[x]!, {s0}\n\t"                                                  \
  "vldmia %[a]!, {s4-s11}\n\t" TA_M4_AXPY8(TA_M4_R8_16, TA_M4_R8_4, "s0") \
  "vldmia %[a]!, {s4-s11}\n\t" TA_M4_AXPY8(TA_M4_R8_24, TA_M4_R8_4, "s0")
  if (nr == 0) {
    __asm__ __volatile__("vldmia %[y], {s16-s31}\n\t"
                         "1:\n\t" TA_M4_BODY3 TA_M4_LOOP3
                         "vstmia %[y], {s16-s31}\n\t"
                         : [a] "+r"(a), [x] "+r"(x), [n3] "+r"(n3)
                         : [y] "r"(y)
                         : "cc", "memory", TA_M4_CLOBBER_ALL);
  } else {
    __asm__ __volatile__("vldmia %[y], {s16-s31}\n\t" TA_M4_SKIP3
                         "1:\n\t" TA_M4_BODY3 TA_M4_LOOP3
                         "2:\n\t" TA_M4_BODY1 TA_M4_LOOP1
                         "vstmia %[y], {s16-s31}\n\t"
                         : [a] "+r"(a), [x] "+r"(x), [n3] "+r"(n3), [nr] "+r"(nr)
                         : [y] "r"(y)
                         : "cc", "memory", TA_M4_CLOBBER_ALL);
  }
#undef TA_M4_BODY3
#undef TA_M4_BODY1
}

// y[0..rows) += A x, A: rows x 16.
TINYADAPT_ALWAYS_INLINE void gemv_c16(const float* a, const float* x, float* y, size_t rows) noexcept {
  size_t n3 = rows / 3, nr = rows % 3;
#define TA_M4_BODY3                                                                   \
  "vldmia %[y], {s0-s2}\n\t" TA_M4_ROWS3_C16("vldmia %[a]!, {s4-s15}\n\t", "", TA_M4_OP_GEMV) \
  "vstmia %[y]!, {s0-s2}\n\t"
#define TA_M4_BODY1                                                           \
  "vldr s0, [%[y]]\n\t"                                                       \
  "vldmia %[a]!, {s4-s11}\n\t" TA_M4_DOT8("s0", TA_M4_R8_4, TA_M4_R8_16) \
  "vldmia %[a]!, {s4-s11}\n\t" TA_M4_DOT8("s0", TA_M4_R8_4, TA_M4_R8_24) \
  "vstmia %[y]!, {s0}\n\t"
  if (nr == 0) {
    __asm__ __volatile__("vldmia %[x], {s16-s31}\n\t"
                         "1:\n\t" TA_M4_BODY3 TA_M4_LOOP3
                         : [a] "+r"(a), [y] "+r"(y), [n3] "+r"(n3)
                         : [x] "r"(x)
                         : "cc", "memory", TA_M4_CLOBBER_ALL);
  } else {
    __asm__ __volatile__("vldmia %[x], {s16-s31}\n\t" TA_M4_SKIP3
                         "1:\n\t" TA_M4_BODY3 TA_M4_LOOP3
                         "2:\n\t" TA_M4_BODY1 TA_M4_LOOP1
                         : [a] "+r"(a), [y] "+r"(y), [n3] "+r"(n3), [nr] "+r"(nr)
                         : [x] "r"(x)
                         : "cc", "memory", TA_M4_CLOBBER_ALL);
  }
#undef TA_M4_BODY3
#undef TA_M4_BODY1
}

// A += s u v^T, A: rows x 16. s*v is formed once (16 VMUL) and kept in
// s16-s31; s sits in s3, the one register the asm leaves free.
TINYADAPT_ALWAYS_INLINE void rank1_c16(float* a, const float* u, const float* v, float s, size_t rows) noexcept {
  size_t n3 = rows / 3, nr = rows % 3;
#define TA_M4_PRO                                                              \
  "vldmia %[v], {s16-s31}\n\t" TA_M4_SCALE8(TA_M4_R8_16, "%[s]") TA_M4_SCALE8(TA_M4_R8_24, "%[s]")
#define TA_M4_BODY3 \
  "vldmia %[u]!, {s0-s2}\n\t" TA_M4_ROWS3_C16("vldmia %[a], {s4-s15}\n\t", "vstmia %[a]!, {s4-s15}\n\t", TA_M4_OP_RANK1)
#define TA_M4_BODY1                                                                                 \
  "vldmia %[u]!, {s0}\n\t"                                                                          \
  "vldmia %[a], {s4-s11}\n\t" TA_M4_AXPY8(TA_M4_R8_4, TA_M4_R8_16, "s0") "vstmia %[a]!, {s4-s11}\n\t" \
  "vldmia %[a], {s4-s11}\n\t" TA_M4_AXPY8(TA_M4_R8_4, TA_M4_R8_24, "s0") "vstmia %[a]!, {s4-s11}\n\t"
#define TA_M4_CLOBBER_NOT_S3 "s0", "s1", "s2", "s4", "s5", "s6", "s7", TA_M4_CLOBBER_S8_15, TA_M4_CLOBBER_S16_23, TA_M4_CLOBBER_S24_31
  if (nr == 0) {
    __asm__ __volatile__(TA_M4_PRO "1:\n\t" TA_M4_BODY3 TA_M4_LOOP3
                         : [a] "+r"(a), [u] "+r"(u), [n3] "+r"(n3)
                         : [v] "r"(v), [s] "t"(s)
                         : "cc", "memory", TA_M4_CLOBBER_NOT_S3);
  } else {
    __asm__ __volatile__(TA_M4_PRO TA_M4_SKIP3
                         "1:\n\t" TA_M4_BODY3 TA_M4_LOOP3
                         "2:\n\t" TA_M4_BODY1 TA_M4_LOOP1
                         : [a] "+r"(a), [u] "+r"(u), [n3] "+r"(n3), [nr] "+r"(nr)
                         : [v] "r"(v), [s] "t"(s)
                         : "cc", "memory", TA_M4_CLOBBER_NOT_S3);
  }
#undef TA_M4_PRO
#undef TA_M4_BODY3
#undef TA_M4_BODY1
#undef TA_M4_CLOBBER_NOT_S3
}

// ---- contiguous rows of 8 columns (8 filters). The vector of 8 stays in
// s24-s31; two rows (16 floats) per load. Two and three rows (a 3-wide
// kernel row of a one-channel image) are straight-line code.

// y[0..8) += A^T x, A: rows x 8.
TINYADAPT_ALWAYS_INLINE void gemv_t_c8(const float* a, const float* x, float* y, size_t rows) noexcept {
  if (rows == 2) {
    __asm__ __volatile__("vldmia %[y], {s24-s31}\n\t"
                         "vldmia %[x], {s0-s1}\n\t"
                         "vldmia %[a], {s8-s23}\n\t"
                         TA_M4_AXPY8(TA_M4_R8_24, TA_M4_R8_8, "s0") TA_M4_AXPY8(TA_M4_R8_24, TA_M4_R8_16, "s1")
                         "vstmia %[y], {s24-s31}\n\t"
                         :
                         : [a] "r"(a), [x] "r"(x), [y] "r"(y)
                         : "memory", TA_M4_CLOBBER_ALL);
    return;
  }
  if (rows == 3) {
    __asm__ __volatile__("vldmia %[y], {s24-s31}\n\t"
                         "vldmia %[x], {s0-s2}\n\t"
                         "vldmia %[a]!, {s8-s23}\n\t"
                         TA_M4_AXPY8(TA_M4_R8_24, TA_M4_R8_8, "s0") TA_M4_AXPY8(TA_M4_R8_24, TA_M4_R8_16, "s1")
                         "vldmia %[a], {s8-s15}\n\t"
                         TA_M4_AXPY8(TA_M4_R8_24, TA_M4_R8_8, "s2")
                         "vstmia %[y], {s24-s31}\n\t"
                         : [a] "+r"(a)
                         : [x] "r"(x), [y] "r"(y)
                         : "memory", TA_M4_CLOBBER_ALL);
    return;
  }
  size_t n4 = rows / 4;
  __asm__ __volatile__(
      "vldmia %[y], {s24-s31}\n\t"
      "cmp %[n4], #0\n\t"
      "beq 2f\n\t"
      "1:\n\t"
      "vldmia %[x]!, {s0-s3}\n\t"
      "vldmia %[a]!, {s8-s23}\n\t"
      TA_M4_AXPY8(TA_M4_R8_24, TA_M4_R8_8, "s0") TA_M4_AXPY8(TA_M4_R8_24, TA_M4_R8_16, "s1")
      "vldmia %[a]!, {s8-s23}\n\t"
      TA_M4_AXPY8(TA_M4_R8_24, TA_M4_R8_8, "s2") TA_M4_AXPY8(TA_M4_R8_24, TA_M4_R8_16, "s3")
      "subs %[n4], %[n4], #1\n\t"
      "bne 1b\n\t"
      "2:\n\t"
      "tst %[nr], #2\n\t"
      "beq 3f\n\t"
      "vldmia %[x]!, {s0-s1}\n\t"
      "vldmia %[a]!, {s8-s23}\n\t"
      TA_M4_AXPY8(TA_M4_R8_24, TA_M4_R8_8, "s0") TA_M4_AXPY8(TA_M4_R8_24, TA_M4_R8_16, "s1")
      "3:\n\t"
      "tst %[nr], #1\n\t"
      "beq 4f\n\t"
      "vldmia %[x]!, {s0}\n\t"
      "vldmia %[a]!, {s8-s15}\n\t"
      TA_M4_AXPY8(TA_M4_R8_24, TA_M4_R8_8, "s0")
      "4:\n\t"
      "vstmia %[y], {s24-s31}\n\t"
      : [a] "+r"(a), [x] "+r"(x), [n4] "+r"(n4)
      : [y] "r"(y), [nr] "r"(rows)
      : "cc", "memory", TA_M4_CLOBBER_ALL);
}

// y[0..rows) += A x, A: rows x 8.
TINYADAPT_ALWAYS_INLINE void gemv_c8(const float* a, const float* x, float* y, size_t rows) noexcept {
  if (rows == 2) {
    __asm__ __volatile__("vldmia %[y], {s0-s1}\n\t"
                         "vldmia %[x], {s24-s31}\n\t"
                         "vldmia %[a], {s8-s23}\n\t"
                         TA_M4_DOT8("s0", TA_M4_R8_8, TA_M4_R8_24) TA_M4_DOT8("s1", TA_M4_R8_16, TA_M4_R8_24)
                         "vstmia %[y], {s0-s1}\n\t"
                         :
                         : [a] "r"(a), [x] "r"(x), [y] "r"(y)
                         : "memory", TA_M4_CLOBBER_ALL);
    return;
  }
  if (rows == 3) {
    __asm__ __volatile__("vldmia %[y], {s0-s2}\n\t"
                         "vldmia %[x], {s24-s31}\n\t"
                         "vldmia %[a]!, {s8-s23}\n\t"
                         TA_M4_DOT8("s0", TA_M4_R8_8, TA_M4_R8_24) TA_M4_DOT8("s1", TA_M4_R8_16, TA_M4_R8_24)
                         "vldmia %[a], {s8-s15}\n\t"
                         TA_M4_DOT8("s2", TA_M4_R8_8, TA_M4_R8_24)
                         "vstmia %[y], {s0-s2}\n\t"
                         : [a] "+r"(a)
                         : [x] "r"(x), [y] "r"(y)
                         : "memory", TA_M4_CLOBBER_ALL);
    return;
  }
  size_t n4 = rows / 4, nr = rows % 4;
  if (n4) {
    __asm__ __volatile__(
        "vldmia %[x], {s24-s31}\n\t"
        "1:\n\t"
        "vldmia %[y], {s0-s3}\n\t"
        "vldmia %[a]!, {s8-s23}\n\t"
        TA_M4_DOT8("s0", TA_M4_R8_8, TA_M4_R8_24) TA_M4_DOT8("s1", TA_M4_R8_16, TA_M4_R8_24)
        "vldmia %[a]!, {s8-s23}\n\t"
        TA_M4_DOT8("s2", TA_M4_R8_8, TA_M4_R8_24) TA_M4_DOT8("s3", TA_M4_R8_16, TA_M4_R8_24)
        "vstmia %[y]!, {s0-s3}\n\t"
        TA_M4_LOOP("1b")
        : [a] "+r"(a), [y] "+r"(y), [n] "+r"(n4)
        : [x] "r"(x)
        : "cc", "memory", TA_M4_CLOBBER_ALL);
  }
  if (nr) {
    __asm__ __volatile__(
        "vldmia %[x], {s24-s31}\n\t"
        "1:\n\t"
        "vldr s0, [%[y]]\n\t"
        "vldmia %[a]!, {s8-s15}\n\t" TA_M4_DOT8("s0", TA_M4_R8_8, TA_M4_R8_24)
        "vstmia %[y]!, {s0}\n\t"
        TA_M4_LOOP("1b")
        : [a] "+r"(a), [y] "+r"(y), [n] "+r"(nr)
        : [x] "r"(x)
        : "cc", "memory", TA_M4_CLOBBER_ALL);
  }
}

// A += s u v^T, A: rows x 8 (s*u[k] formed per row; s sits in s4-s7).
TINYADAPT_ALWAYS_INLINE void rank1_c8(float* a, const float* u, const float* v, float s, size_t rows) noexcept {
#define TA_M4_CLOBBER_RANK1_C8 TA_M4_CLOBBER_S0_3, TA_M4_CLOBBER_S8_15, TA_M4_CLOBBER_S16_23, TA_M4_CLOBBER_S24_31
  if (rows == 2) {
    __asm__ __volatile__("vldmia %[v], {s24-s31}\n\t"
                         "vldmia %[u], {s0-s1}\n\t"
                         "vmul.f32 s0, s0, %[s]\n\t"
                         "vmul.f32 s1, s1, %[s]\n\t"
                         "vldmia %[a], {s8-s23}\n\t"
                         TA_M4_AXPY8(TA_M4_R8_8, TA_M4_R8_24, "s0") TA_M4_AXPY8(TA_M4_R8_16, TA_M4_R8_24, "s1")
                         "vstmia %[a], {s8-s23}\n\t"
                         :
                         : [a] "r"(a), [u] "r"(u), [v] "r"(v), [s] "t"(s)
                         : "memory", TA_M4_CLOBBER_RANK1_C8);
    return;
  }
  if (rows == 3) {
    __asm__ __volatile__("vldmia %[v], {s24-s31}\n\t"
                         "vldmia %[u], {s0-s2}\n\t"
                         "vmul.f32 s0, s0, %[s]\n\t"
                         "vmul.f32 s1, s1, %[s]\n\t"
                         "vmul.f32 s2, s2, %[s]\n\t"
                         "vldmia %[a], {s8-s23}\n\t"
                         TA_M4_AXPY8(TA_M4_R8_8, TA_M4_R8_24, "s0") TA_M4_AXPY8(TA_M4_R8_16, TA_M4_R8_24, "s1")
                         "vstmia %[a]!, {s8-s23}\n\t"
                         "vldmia %[a], {s8-s15}\n\t"
                         TA_M4_AXPY8(TA_M4_R8_8, TA_M4_R8_24, "s2")
                         "vstmia %[a], {s8-s15}\n\t"
                         : [a] "+r"(a)
                         : [u] "r"(u), [v] "r"(v), [s] "t"(s)
                         : "memory", TA_M4_CLOBBER_RANK1_C8);
    return;
  }
  size_t n4 = rows / 4;
  __asm__ __volatile__(
      "vldmia %[v], {s24-s31}\n\t"
      "cmp %[n4], #0\n\t"
      "beq 2f\n\t"
      "1:\n\t"
      "vldmia %[u]!, {s0-s3}\n\t"
      "vmul.f32 s0, s0, %[s]\n\t"
      "vmul.f32 s1, s1, %[s]\n\t"
      "vmul.f32 s2, s2, %[s]\n\t"
      "vmul.f32 s3, s3, %[s]\n\t"
      "vldmia %[a], {s8-s23}\n\t"
      TA_M4_AXPY8(TA_M4_R8_8, TA_M4_R8_24, "s0") TA_M4_AXPY8(TA_M4_R8_16, TA_M4_R8_24, "s1")
      "vstmia %[a]!, {s8-s23}\n\t"
      "vldmia %[a], {s8-s23}\n\t"
      TA_M4_AXPY8(TA_M4_R8_8, TA_M4_R8_24, "s2") TA_M4_AXPY8(TA_M4_R8_16, TA_M4_R8_24, "s3")
      "vstmia %[a]!, {s8-s23}\n\t"
      "subs %[n4], %[n4], #1\n\t"
      "bne 1b\n\t"
      "2:\n\t"
      "tst %[nr], #2\n\t"
      "beq 3f\n\t"
      "vldmia %[u]!, {s0-s1}\n\t"
      "vmul.f32 s0, s0, %[s]\n\t"
      "vmul.f32 s1, s1, %[s]\n\t"
      "vldmia %[a], {s8-s23}\n\t"
      TA_M4_AXPY8(TA_M4_R8_8, TA_M4_R8_24, "s0") TA_M4_AXPY8(TA_M4_R8_16, TA_M4_R8_24, "s1")
      "vstmia %[a]!, {s8-s23}\n\t"
      "3:\n\t"
      "tst %[nr], #1\n\t"
      "beq 4f\n\t"
      "vldmia %[u]!, {s0}\n\t"
      "vmul.f32 s0, s0, %[s]\n\t"
      "vldmia %[a], {s8-s15}\n\t"
      TA_M4_AXPY8(TA_M4_R8_8, TA_M4_R8_24, "s0")
      "vstmia %[a]!, {s8-s15}\n\t"
      "4:\n\t"
      : [a] "+r"(a), [u] "+r"(u), [n4] "+r"(n4)
      : [v] "r"(v), [s] "t"(s), [nr] "r"(rows)
      : "cc", "memory", TA_M4_CLOBBER_RANK1_C8);
#undef TA_M4_CLOBBER_RANK1_C8
}

#undef TA_M4_LOOP3
#undef TA_M4_SKIP3
#undef TA_M4_LOOP1

}  // namespace m4_detail

// sum_i a[i] * b[i]
TINYADAPT_ALWAYS_INLINE float dot(const float* TINYADAPT_RESTRICT a, const float* TINYADAPT_RESTRICT b,
                                  std::size_t n) noexcept {
  float acc = 0.0f;
  std::size_t n16 = n / 16;
  if (n16) {
    // s0-s15: 16 of a; s16-s23: 8 of b.
    __asm__ __volatile__(
        "1:\n\t"
        "vldmia %[a]!, {s0-s15}\n\t"
        "vldmia %[b]!, {s16-s23}\n\t" TA_M4_DOT8("%[acc]", TA_M4_R8_0, TA_M4_R8_16)
        "vldmia %[b]!, {s16-s23}\n\t" TA_M4_DOT8("%[acc]", TA_M4_R8_8, TA_M4_R8_16)
        TA_M4_LOOP("1b")
        : [a] "+r"(a), [b] "+r"(b), [n] "+r"(n16), [acc] "+t"(acc)
        :
        : "cc", "memory", TA_M4_CLOBBER_S0_7, TA_M4_CLOBBER_S8_15, TA_M4_CLOBBER_S16_23);
  }
  if (n & 8) {
    __asm__ __volatile__(
        "vldmia %[a]!, {s0-s7}\n\t"
        "vldmia %[b]!, {s8-s15}\n\t" TA_M4_DOT8("%[acc]", TA_M4_R8_0, TA_M4_R8_8)
        : [a] "+r"(a), [b] "+r"(b), [acc] "+t"(acc)
        :
        : "memory", TA_M4_CLOBBER_S0_7, TA_M4_CLOBBER_S8_15);
  }
  for (std::size_t i = 0; i < (n & 7); ++i) acc += a[i] * b[i];
  return acc;
}

// y += a * x
TINYADAPT_ALWAYS_INLINE void axpy(float* TINYADAPT_RESTRICT y, const float* TINYADAPT_RESTRICT x, float a,
                                  std::size_t n) noexcept {
  std::size_t n16 = n / 16;
  if (n16) {
    // s0-s15: 16 of y; s16-s23: 8 of x.
    __asm__ __volatile__(
        "1:\n\t"
        "vldmia %[y], {s0-s15}\n\t"
        "vldmia %[x]!, {s16-s23}\n\t" TA_M4_AXPY8(TA_M4_R8_0, TA_M4_R8_16, "%[a]")
        "vldmia %[x]!, {s16-s23}\n\t" TA_M4_AXPY8(TA_M4_R8_8, TA_M4_R8_16, "%[a]")
        "vstmia %[y]!, {s0-s15}\n\t"
        TA_M4_LOOP("1b")
        : [y] "+r"(y), [x] "+r"(x), [n] "+r"(n16)
        : [a] "t"(a)
        : "cc", "memory", TA_M4_CLOBBER_S0_7, TA_M4_CLOBBER_S8_15, TA_M4_CLOBBER_S16_23);
  }
  if (n & 8) {
    __asm__ __volatile__(
        "vldmia %[y], {s0-s7}\n\t"
        "vldmia %[x]!, {s8-s15}\n\t" TA_M4_AXPY8(TA_M4_R8_0, TA_M4_R8_8, "%[a]")
        "vstmia %[y]!, {s0-s7}\n\t"
        : [y] "+r"(y), [x] "+r"(x)
        : [a] "t"(a)
        : "memory", TA_M4_CLOBBER_S0_7, TA_M4_CLOBBER_S8_15);
  }
  for (std::size_t i = 0; i < (n & 7); ++i) y[i] += a * x[i];
}

// y += s * (a ⊙ b), element-wise products (depthwise convolutions).
TINYADAPT_ALWAYS_INLINE void hadamard_acc(float* TINYADAPT_RESTRICT y, const float* TINYADAPT_RESTRICT a,
                                          const float* TINYADAPT_RESTRICT b, float s, std::size_t n) noexcept {
  std::size_t n8 = n / 8;
  if (n8) {
    // s0-s7: a, then a ⊙ b; s8-s15: b; s16-s23: y.
    __asm__ __volatile__(
        "1:\n\t"
        "vldmia %[a]!, {s0-s7}\n\t"
        "vldmia %[b]!, {s8-s15}\n\t"
        "vldmia %[y], {s16-s23}\n\t"
        "vmul.f32 s0, s0, s8\n\t"
        "vmul.f32 s1, s1, s9\n\t"
        "vmul.f32 s2, s2, s10\n\t"
        "vmul.f32 s3, s3, s11\n\t"
        "vmul.f32 s4, s4, s12\n\t"
        "vmul.f32 s5, s5, s13\n\t"
        "vmul.f32 s6, s6, s14\n\t"
        "vmul.f32 s7, s7, s15\n\t"
        TA_M4_AXPY8(TA_M4_R8_16, TA_M4_R8_0, "%[s]")
        "vstmia %[y]!, {s16-s23}\n\t"
        TA_M4_LOOP("1b")
        : [y] "+r"(y), [a] "+r"(a), [b] "+r"(b), [n] "+r"(n8)
        : [s] "t"(s)
        : "cc", "memory", TA_M4_CLOBBER_S0_7, TA_M4_CLOBBER_S8_15, TA_M4_CLOBBER_S16_23);
  }
  for (std::size_t i = 0; i < (n & 7); ++i) y[i] += s * (a[i] * b[i]);
}

// y += A x
TINYADAPT_ALWAYS_INLINE void gemv(const float* TINYADAPT_RESTRICT A, const float* TINYADAPT_RESTRICT x,
                                  float* TINYADAPT_RESTRICT y, std::size_t rows, std::size_t cols) noexcept {
  if (rows == 0 || cols == 0) return;
  if (cols == 1) return axpy(y, A, x[0], rows);
  if (rows == 1) {
    y[0] += dot(A, x, cols);
    return;
  }
  if (cols == 16) return m4_detail::gemv_c16(A, x, y, rows);
  if (cols == 8) return m4_detail::gemv_c8(A, x, y, rows);
  const std::size_t nr = rows % 4;
  // General shape: blocks of 4 rows, 16 then 8 columns at a time, C++ tails.
  const std::size_t c16 = cols / 16, c8 = cols & 8, c0 = cols & ~std::size_t{7};
  for (std::size_t r = 0; r + 4 <= rows; r += 4) {
    const float* a0 = A + r * cols;
    const float *a1 = a0 + cols, *a2 = a1 + cols, *a3 = a2 + cols;
    if (c16) m4_detail::gemv_rows4_c16(a0, a1, a2, a3, x, y + r, c16);
    if (c8) {
      const std::size_t o = 16 * c16;
      m4_detail::gemv_rows4_c8(a0 + o, a1 + o, a2 + o, a3 + o, x + o, y + r);
    }
    if (c0 < cols) {  // summed apart, then added: the portable dot's order
      float t0 = 0.0f, t1 = 0.0f, t2 = 0.0f, t3 = 0.0f;
      for (std::size_t c = c0; c < cols; ++c) {
        t0 += a0[c] * x[c];
        t1 += a1[c] * x[c];
        t2 += a2[c] * x[c];
        t3 += a3[c] * x[c];
      }
      y[r] += t0;
      y[r + 1] += t1;
      y[r + 2] += t2;
      y[r + 3] += t3;
    }
  }
  for (std::size_t r = rows - nr; r < rows; ++r) y[r] += dot(A + r * cols, x, cols);
}

// y += A^T x
TINYADAPT_ALWAYS_INLINE void gemv_t(const float* TINYADAPT_RESTRICT A, const float* TINYADAPT_RESTRICT x,
                                    float* TINYADAPT_RESTRICT y, std::size_t rows, std::size_t cols) noexcept {
  if (rows == 0 || cols == 0) return;
  if (rows == 1) return axpy(y, A, x[0], cols);
  if (cols == 1) {
    y[0] += dot(A, x, rows);
    return;
  }
  if (cols == 16) return m4_detail::gemv_t_c16(A, x, y, rows);
  if (cols == 8) return m4_detail::gemv_t_c8(A, x, y, rows);
  const std::size_t nr = rows % 4;
  // General shape: blocks of 4 rows (x[r..r+4) in registers) swept over
  // chunks of 16 then 8 columns of y; C++ tails.
  const std::size_t c16 = cols / 16, c8 = cols & 8, c0 = cols & ~std::size_t{7};
  for (std::size_t r = 0; r + 4 <= rows; r += 4) {
    const float* a0 = A + r * cols;
    const float *a1 = a0 + cols, *a2 = a1 + cols, *a3 = a2 + cols;
    if (c16) m4_detail::gemv_t_rows4_c16(a0, a1, a2, a3, x + r, y, c16);
    if (c8) {
      const std::size_t o = 16 * c16;
      m4_detail::gemv_t_rows4_c8(a0 + o, a1 + o, a2 + o, a3 + o, x + r, y + o);
    }
    for (std::size_t c = c0; c < cols; ++c) {  // row after row: the portable order
      y[c] += a0[c] * x[r];
      y[c] += a1[c] * x[r + 1];
      y[c] += a2[c] * x[r + 2];
      y[c] += a3[c] * x[r + 3];
    }
  }
  for (std::size_t r = rows - nr; r < rows; ++r) axpy(y, A + r * cols, x[r], cols);
}

// A += s * u v^T (the weight gradient of a dense layer, or its SGD update when
// A is the weight matrix itself and s = -lr).
TINYADAPT_ALWAYS_INLINE void rank1(float* TINYADAPT_RESTRICT A, const float* TINYADAPT_RESTRICT u,
                                   const float* TINYADAPT_RESTRICT v, float s, std::size_t rows,
                                   std::size_t cols) noexcept {
  if (rows == 0 || cols == 0) return;
  if (rows == 1) return axpy(A, v, s * u[0], cols);
  if (cols == 1) return axpy(A, u, s * v[0], rows);
  if (cols == 16) return m4_detail::rank1_c16(A, u, v, s, rows);
  if (cols == 8) return m4_detail::rank1_c8(A, u, v, s, rows);
  const std::size_t nr = rows % 4;
  // General shape: blocks of 4 rows (s*u in registers) swept over chunks of
  // 16 then 8 columns of v; C++ tails.
  const std::size_t c16 = cols / 16, c8 = cols & 8, c0 = cols & ~std::size_t{7};
  for (std::size_t r = 0; r + 4 <= rows; r += 4) {
    float* a0 = A + r * cols;
    float *a1 = a0 + cols, *a2 = a1 + cols, *a3 = a2 + cols;
    if (c16) m4_detail::rank1_rows4_c16(a0, a1, a2, a3, u + r, v, s, c16);
    if (c8) {
      const std::size_t o = 16 * c16;
      m4_detail::rank1_rows4_c8(a0 + o, a1 + o, a2 + o, a3 + o, u + r, v + o, s);
    }
    if (c0 < cols) {
      const float s0 = s * u[r], s1 = s * u[r + 1], s2 = s * u[r + 2], s3 = s * u[r + 3];
      for (std::size_t c = c0; c < cols; ++c) {
        a0[c] += s0 * v[c];
        a1[c] += s1 * v[c];
        a2[c] += s2 * v[c];
        a3[c] += s3 * v[c];
      }
    }
  }
  for (std::size_t r = rows - nr; r < rows; ++r) axpy(A + r * cols, v, s * u[r], cols);
}

}  // namespace tinyadapt::kernels::cortex_m4

#undef TA_M4_R8_0
#undef TA_M4_R8_4
#undef TA_M4_R8_8
#undef TA_M4_R8_16
#undef TA_M4_R8_24
#undef TA_M4_FMA
#undef TA_M4_FMA_ACC
#undef TA_M4_AXPY8
#undef TA_M4_AXPY8_
#undef TA_M4_DOT8
#undef TA_M4_DOT8_
#undef TA_M4_CLOBBER_S0_7
#undef TA_M4_CLOBBER_S8_15
#undef TA_M4_CLOBBER_S16_23
#undef TA_M4_CLOBBER_S24_31
#undef TA_M4_CLOBBER_S0_3
#undef TA_M4_LOOP
#undef TA_M4_R4_4
#undef TA_M4_R4_8
#undef TA_M4_R4_12
#undef TA_M4_R4_16
#undef TA_M4_R4_20
#undef TA_M4_R4_24
#undef TA_M4_R4_28
#undef TA_M4_AXPY4
#undef TA_M4_AXPY4_
#undef TA_M4_DOT4
#undef TA_M4_DOT4_
#undef TA_M4_MUL
#undef TA_M4_SCALE8
#undef TA_M4_SCALE8_
#undef TA_M4_ROWS3_C16
#undef TA_M4_OP_GEMV_T
#undef TA_M4_OP_GEMV
#undef TA_M4_OP_RANK1
#undef TA_M4_CLOBBER_ALL
