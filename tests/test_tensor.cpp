// Shapes, tensors, views and the PRNG.
#include <tinyadapt/tinyadapt.hpp>

#include "support/test.hpp"

namespace ta = tinyadapt;

TEST_CASE("shapes are compile-time: size, rank, strides, offsets") {
  using S = ta::Shape<4, 3, 2>;
  static_assert(S::size == 24 && S::rank == 3, "size and rank are constexpr");
  static_assert(S::stride(0) == 6 && S::stride(1) == 2 && S::stride(2) == 1, "row-major strides");
  static_assert(S::offset(1, 2, 1) == 11, "offset");
  CHECK(S::dim(1) == 3);
}

TEST_CASE("tensors own inline storage; views alias caller memory") {
  ta::Tensor<ta::Shape<2, 3>> t;
  static_assert(sizeof(t) == 6 * sizeof(float), "no hidden members");
  t.fill(1.5f);
  t(1, 2) = 4.0f;
  CHECK(t[5] == 4.0f);
  CHECK(t(0, 0) == 1.5f);
  float buf[6] = {};
  ta::TensorView<ta::Shape<3, 2>> v(buf);
  v.copy_from(t);
  CHECK(buf[5] == 4.0f);
  v(0, 1) = -1.0f;
  CHECK(buf[1] == -1.0f);
  CHECK(v.span().size() == 6);
  CHECK(t.span().subspan(2, 3).size() == 3);
}

TEST_CASE("the PRNG is deterministic and well spread") {
  ta::Rng a(5), b(5), c(6);
  bool same = true, differs = false;
  for (int i = 0; i < 100; ++i) {
    const auto x = a.next_u32();
    same = same && x == b.next_u32();
    differs = differs || x != c.next_u32();
  }
  CHECK(same);
  CHECK(differs);
  // First value of seed 42 is fixed for ever: host and target must agree.
  ta::Rng g(42);
  CHECK(g.next_u32() == ta::Rng(42).next_u32());
  double mean = 0.0, var = 0.0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const float z = g.normal();
    mean += z;
    var += static_cast<double>(z) * z;
  }
  mean /= n;
  var = var / n - mean * mean;
  CHECK(mean > -0.03);
  CHECK(mean < 0.03);
  CHECK(var > 0.95);
  CHECK(var < 1.05);
  for (int i = 0; i < 1000; ++i) {
    const float u = g.uniform();
    REQUIRE(u >= 0.0f);
    REQUIRE(u < 1.0f);
    REQUIRE(g.below(7) < 7u);
  }
}

TEST_CASE("initialisers follow their scale") {
  using Net = ta::Sequential<ta::Input<100>, ta::Dense<50>>;
  static Net net;
  ta::Rng rng(1);
  net.init(rng, ta::Init::torch_default);
  float m = 0.0f;
  for (float w : net.parameters()) m = w > m ? w : (-w > m ? -w : m);
  CHECK(m <= 0.1f);  // 1/sqrt(100)
  CHECK(m > 0.09f);
  net.init(rng, ta::Init::he_normal);
  double var = 0.0;
  for (std::size_t i = 0; i < 5000; ++i) var += static_cast<double>(net.parameters()[i]) * net.parameters()[i];
  var /= 5000.0;
  CHECK(var > 0.018);  // 2 / fan_in = 0.02
  CHECK(var < 0.022);
  for (std::size_t i = 5000; i < 5050; ++i) REQUIRE(net.parameters()[i] == 0.0f);
}

TEST_CASE("schedules") {
  CHECK(ta::ConstantLR{0.1f}(1000) == 0.1f);
  CHECK(ta::StepLR{1.0f, 10, 0.5f}(25) == 0.25f);
  CHECK(ta::LinearDecayLR{1.0f, 0.0f, 100}(50) == 0.5f);
  CHECK(ta::LinearDecayLR{1.0f, 0.0f, 100}(200) == 0.0f);
  CHECK(std::fabs(ta::CosineLR{1.0f, 0.0f, 100}(50) - 0.5f) < 1e-6f);
  CHECK(ta::CosineLR{1.0f, 0.1f, 100}(0) == 1.0f);
}
