// NEON kernels (kernels/neon.hpp) against the portable ones: on random data,
// at many sizes (0, 1, odd, around multiples of 4 and 16) and at the shapes
// of the reference networks, each output equals the portable one within 1e-5
// of the sum of the magnitudes of its terms (summation order and fused
// multiply-adds differ), and nothing is written outside the output.
//
// Both namespaces are called explicitly, so the comparison runs in either
// AArch64 build (with or without TINYADAPT_KERNELS_PORTABLE); on other
// targets only the check of the selected variant is compiled.
#include <cmath>
#include <cstddef>
#include <cstring>
#include <type_traits>

#include <tinyadapt/tinyadapt.hpp>

#include "support/test.hpp"

#if defined(__aarch64__) && defined(__ARM_NEON)
#define NEON_TARGET 1
#include <tinyadapt/kernels/neon.hpp>
#else
#define NEON_TARGET 0
#endif

TEST_CASE("kernels.hpp selects the NEON kernels on AArch64 unless told otherwise") {
#if NEON_TARGET && !defined(TINYADAPT_KERNELS_PORTABLE)
  const char* expected = "neon";
#elif TINYADAPT_HAS_CORTEX_M4
  const char* expected = "cortex-m4";
#else
  const char* expected = "portable";
#endif
  CHECK(std::strcmp(tinyadapt::kernels::variant, expected) == 0);
  CHECK((TINYADAPT_HAS_NEON == 1) == (std::strcmp(expected, "neon") == 0));
}

#if NEON_TARGET

namespace {

namespace kp = tinyadapt::kernels::portable;
namespace kn = tinyadapt::kernels::neon;
using std::size_t;

template <size_t N>
using ic = std::integral_constant<size_t, N>;

// Random inputs in [-1, 1), made on first use.
constexpr size_t max_out = 8192;
const float* pool() {
  static const struct Pool {
    float v[2 * max_out + 64];
    Pool() {
      tinyadapt::Rng rng(2024);
      for (float& e : v) e = rng.uniform(-1.0f, 1.0f);
    }
  } p;
  return p.v;
}
// Inputs at the start and the middle of the pool; `skew` moves them off
// 16-byte alignment by a size-dependent amount.
const float* first(size_t skew) { return pool() + skew % 16; }
const float* second(size_t skew) { return pool() + max_out + skew % 8; }

// The two outputs (portable, NEON), n floats at offset 1 framed by sentinels.
float out_p[max_out + 2];
float out_n[max_out + 2];
constexpr float sentinel = 12345.0f;
constexpr float rel_tol = 1e-5f;

// Runs both kernels on copies of init (n floats) and checks that each NEON
// output i is within rel_tol * scale(i) of the portable one and that the NEON
// kernel wrote nothing outside its n floats.
template <class RunP, class RunN, class Scale>
void check_outputs(const char* kernel, size_t rows, size_t cols, const float* init, size_t n, RunP run_p, RunN run_n,
                   Scale scale) {
  out_p[0] = out_n[0] = sentinel;
  for (size_t i = 0; i < n; ++i) out_p[1 + i] = out_n[1 + i] = init[i];
  out_p[1 + n] = out_n[1 + n] = sentinel;
  run_p(out_p + 1);
  run_n(out_n + 1);
  float worst = 0.0f;
  for (size_t i = 0; i < n; ++i) {
    const float e = std::fabs(out_n[1 + i] - out_p[1 + i]) / (scale(i) + 1e-30f);
    if (!(e <= worst)) worst = e;  // NaN counts as worst
  }
  INFO(kernel, " ", rows, "x", cols);
  CHECK(worst <= rel_tol);
  CHECK(out_n[0] == sentinel);
  CHECK(out_n[1 + n] == sentinel);
}

// gemv (y: rows outputs, each summed over the columns) or, with Transposed,
// gemv_t (y: cols outputs, each summed over the rows). Here and below, sizes
// are run-time values or integral constants (as a layer passes its
// compile-time shape to an inlined kernel).
template <bool Transposed, class RT, class CT>
void check_gemv(RT R, CT C) {
  const size_t rows = R, cols = C;
  const size_t outs = Transposed ? cols : rows, terms = Transposed ? rows : cols;
  const float* A = first(rows * 3 + cols * (Transposed ? 5 : 1));
  const float* x = second(terms);
  const float* y0 = first(outs + 5);
  check_outputs(
      Transposed ? "gemv_t" : "gemv", rows, cols, y0, outs,
      [&](float* y) {
        if constexpr (Transposed) kp::gemv_t(A, x, y, rows, cols);
        else kp::gemv(A, x, y, rows, cols);
      },
      [&](float* y) {
        if constexpr (Transposed) kn::gemv_t(A, x, y, R, C);
        else kn::gemv(A, x, y, R, C);
      },
      [&](size_t o) {
        float s = std::fabs(y0[o]);
        for (size_t t = 0; t < terms; ++t) s += std::fabs((Transposed ? A[t * cols + o] : A[o * cols + t]) * x[t]);
        return s;
      });
}

template <class RT, class CT>
void check_rank1(RT R, CT C, float s) {
  const size_t rows = R, cols = C;
  const float* A0 = first(rows * 7 + cols);
  const float* u = second(rows);
  const float* v = second(cols + 3) + 512;
  check_outputs(
      "rank1", rows, cols, A0, rows * cols, [&](float* A) { kp::rank1(A, u, v, s, rows, cols); },
      [&](float* A) { kn::rank1(A, u, v, s, R, C); },
      [&](size_t i) { return std::fabs(A0[i]) + std::fabs(s * u[i / cols] * v[i % cols]); });
}

template <class RT, class CT>
void check_matrix_kernels(RT R, CT C) {
  check_gemv<false>(R, C);
  check_gemv<true>(R, C);
  check_rank1(R, C, -0.01f);
  check_rank1(R, C, 1.5f);
}

template <class NT>
void check_vector_kernels(NT N) {
  const size_t n = N;
  const float* a = first(n);
  const float* b = second(n);
  const float* y0 = first(n + 7) + 4096;
  const float s = 0.75f;

  float dot_scale = 0.0f;
  for (size_t i = 0; i < n; ++i) dot_scale += std::fabs(a[i] * b[i]);
  INFO("dot n=", n);
  CHECK(std::fabs(kn::dot(a, b, N) - kp::dot(a, b, n)) <= rel_tol * dot_scale);

  check_outputs(
      "axpy", n, 1, y0, n, [&](float* y) { kp::axpy(y, a, s, n); }, [&](float* y) { kn::axpy(y, a, s, N); },
      [&](size_t i) { return std::fabs(y0[i]) + std::fabs(s * a[i]); });
  check_outputs(
      "hadamard_acc", n, 1, y0, n, [&](float* y) { kp::hadamard_acc(y, a, b, s, n); },
      [&](float* y) { kn::hadamard_acc(y, a, b, s, N); },
      [&](size_t i) { return std::fabs(y0[i]) + std::fabs(s * a[i] * b[i]); });
}

// Every remainder modulo 4 and 16 near the block sizes, and larger sizes.
constexpr size_t dims[] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12,  13,  15, 16,
                           17, 19, 20, 23, 24, 28, 31, 32, 33, 47, 48, 49, 63, 64, 65, 100, 400};
constexpr size_t long_vectors[] = {127, 128, 129, 255, 256, 257, 400, 1000, 1023, 1024, 1025, 4000, 8000};

}  // namespace

TEST_CASE("neon dot, axpy, hadamard_acc equal the portable ones") {
  for (size_t n = 0; n <= 80; ++n) check_vector_kernels(n);
  for (size_t n : long_vectors) check_vector_kernels(n);
  check_vector_kernels(ic<8>{});
  check_vector_kernels(ic<10>{});
  check_vector_kernels(ic<16>{});
  check_vector_kernels(ic<64>{});
  check_vector_kernels(ic<400>{});
}

TEST_CASE("neon gemv, gemv_t, rank1 equal the portable ones at run-time sizes") {
  unsigned shapes = 0;
  for (size_t r : dims)
    for (size_t c : dims) {
      if (r * c > max_out) continue;
      ++shapes;
      check_matrix_kernels(r, c);
    }
  CHECK(shapes > 1000u);
}

TEST_CASE("neon gemv, gemv_t, rank1 equal the portable ones at the networks' shapes") {
  // W1: Dense 64x1, 64x64, 1x64. W2: 32x64, 10x32. W3: Dense 10x400; conv
  // kernel rows (len x filters): 3x8 and 24x16; and their transposes.
  check_matrix_kernels(ic<64>{}, ic<1>{});
  check_matrix_kernels(ic<64>{}, ic<64>{});
  check_matrix_kernels(ic<1>{}, ic<64>{});
  check_matrix_kernels(ic<32>{}, ic<64>{});
  check_matrix_kernels(ic<10>{}, ic<32>{});
  check_matrix_kernels(ic<10>{}, ic<400>{});
  check_matrix_kernels(ic<3>{}, ic<8>{});
  check_matrix_kernels(ic<24>{}, ic<16>{});
  check_matrix_kernels(ic<24>{}, ic<8>{});
  check_matrix_kernels(ic<16>{}, ic<24>{});
  check_matrix_kernels(ic<7>{}, ic<17>{});
  // Conv layers pass the kernel-row length at run time and the filters as a constant.
  for (size_t r : dims) {
    check_matrix_kernels(r, ic<16>{});
    check_matrix_kernels(r, ic<8>{});
  }
}

#endif  // NEON_TARGET
