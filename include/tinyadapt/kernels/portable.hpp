// The few float kernels every layer is written in. Plain C++ that compilers
// vectorise: reductions use eight independent partial sums so that no
// -ffast-math is needed for SIMD.
//
// Naming: A is row-major rows x cols; x, y, u, v are vectors.
#pragma once
#include <cstddef>

#include "../config.hpp"

namespace tinyadapt::kernels::portable {

// sum_i a[i] * b[i]
inline float dot(const float* TINYADAPT_RESTRICT a, const float* TINYADAPT_RESTRICT b, std::size_t n) noexcept {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  const std::size_t n8 = n - n % 8;
  for (std::size_t i = 0; i < n8; i += 8)
    for (std::size_t k = 0; k < 8; ++k) acc[k] += a[i + k] * b[i + k];
  float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (std::size_t i = n8; i < n; ++i) s += a[i] * b[i];
  return s;
}

// y += a * x
inline void axpy(float* TINYADAPT_RESTRICT y, const float* TINYADAPT_RESTRICT x, float a, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) y[i] += a * x[i];
}

// y += s * (a ⊙ b), element-wise products (depthwise convolutions).
inline void hadamard_acc(float* TINYADAPT_RESTRICT y, const float* TINYADAPT_RESTRICT a,
                         const float* TINYADAPT_RESTRICT b, float s, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) y[i] += s * (a[i] * b[i]);
}

// y += A x
inline void gemv(const float* TINYADAPT_RESTRICT A, const float* TINYADAPT_RESTRICT x, float* TINYADAPT_RESTRICT y,
                 std::size_t rows, std::size_t cols) noexcept {
  for (std::size_t r = 0; r < rows; ++r) y[r] += dot(A + r * cols, x, cols);
}

// y += A^T x
inline void gemv_t(const float* TINYADAPT_RESTRICT A, const float* TINYADAPT_RESTRICT x, float* TINYADAPT_RESTRICT y,
                   std::size_t rows, std::size_t cols) noexcept {
  for (std::size_t r = 0; r < rows; ++r) axpy(y, A + r * cols, x[r], cols);
}

// A += s * u v^T (the weight gradient of a dense layer, or its SGD update when
// A is the weight matrix itself and s = -lr).
inline void rank1(float* TINYADAPT_RESTRICT A, const float* TINYADAPT_RESTRICT u, const float* TINYADAPT_RESTRICT v,
                  float s, std::size_t rows, std::size_t cols) noexcept {
  for (std::size_t r = 0; r < rows; ++r) axpy(A + r * cols, v, s * u[r], cols);
}

}  // namespace tinyadapt::kernels::portable
