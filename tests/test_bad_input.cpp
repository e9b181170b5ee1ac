// Data errors come back as status codes and leave the model as it was.
#include <cstring>
#include <limits>

#include <tinyadapt/tinyadapt.hpp>

#include "support/test.hpp"

namespace ta = tinyadapt;
using Net = ta::Sequential<ta::Input<4>, ta::Dense<8>, ta::ReLU, ta::Dense<3>>;

namespace {
struct Snapshot {
  float p[Net::param_count];
  explicit Snapshot(const Net& n) {
    for (std::size_t i = 0; i < Net::param_count; ++i) p[i] = n.parameters()[i];
  }
  bool same(const Net& n) const {
    for (std::size_t i = 0; i < Net::param_count; ++i)
      if (!(n.parameters()[i] == p[i])) return false;
    return true;
  }
};
}  // namespace

TEST_CASE("NaN or Inf input is rejected before anything changes") {
  static Net net;
  ta::Rng rng(1);
  net.init(rng);
  const Snapshot before(net);
  ta::SGD<Net> sgd(0.1f);
  float x[] = {0.1f, std::numeric_limits<float>::quiet_NaN(), 0.3f, 0.4f};
  CHECK(ta::train_step<ta::SoftmaxCrossEntropy>(net, sgd, x, 1u).status == ta::Status::non_finite_input);
  x[1] = std::numeric_limits<float>::infinity();
  CHECK(ta::train_step<ta::SoftmaxCrossEntropy>(net, sgd, x, 1u).status == ta::Status::non_finite_input);
  CHECK(before.same(net));
}

TEST_CASE("bad labels and non-finite targets are rejected") {
  static Net net;
  ta::Rng rng(2);
  net.init(rng);
  const Snapshot before(net);
  ta::SGD<Net> sgd(0.1f);
  const float x[] = {0.1f, 0.2f, 0.3f, 0.4f};
  CHECK(ta::train_step<ta::SoftmaxCrossEntropy>(net, sgd, x, 3u).status == ta::Status::bad_label);
  const float t[] = {0.0f, std::numeric_limits<float>::quiet_NaN(), 1.0f};
  CHECK(ta::train_step<ta::MSE>(net, sgd, x, t).status == ta::Status::non_finite_target);
  CHECK(before.same(net));
}

TEST_CASE("an overflowing loss leaves the weights unchanged") {
  static Net net;
  ta::Rng rng(3);
  net.init(rng);
  const Snapshot before(net);
  static ta::Adam<Net> adam(0.1f);
  const float x[] = {3e38f, 3e38f, 3e38f, 3e38f};  // finite, but the logits overflow
  const float t[] = {0.0f, 1.0f, 0.0f};
  const auto r = ta::train_step<ta::MSE>(net, adam, x, t);
  CHECK(r.status == ta::Status::non_finite_loss);
  CHECK(before.same(net));
  CHECK(adam.steps() == 0);
}

TEST_CASE("gradient accumulation skips bad samples and refuses empty batches") {
  static Net net;
  ta::Rng rng(4);
  net.init(rng);
  const Snapshot before(net);
  ta::SGD<Net> sgd(0.1f);
  static ta::GradientAccumulator<Net> acc;
  CHECK(acc.apply(net, sgd) == ta::Status::empty_batch);
  const float bad[] = {std::numeric_limits<float>::quiet_NaN(), 0, 0, 0};
  CHECK(acc.add<ta::SoftmaxCrossEntropy>(net, bad, 0u).status == ta::Status::non_finite_input);
  CHECK(acc.count() == 0);
  CHECK(before.same(net));
  const float good[] = {0.5f, -0.5f, 0.25f, 1.0f};
  CHECK(acc.add<ta::SoftmaxCrossEntropy>(net, good, 0u).ok());
  CHECK(acc.add<ta::SoftmaxCrossEntropy>(net, good, 1u).ok());
  CHECK(acc.count() == 2);
  CHECK(acc.apply(net, sgd) == ta::Status::ok);
  CHECK_FALSE(before.same(net));
}

TEST_CASE("status codes have readable names") {
  CHECK(std::strstr(ta::to_string(ta::Status::non_finite_loss), "unchanged") != nullptr);
  CHECK(std::strcmp(ta::to_string(ta::Status::ok), "ok") == 0);
}
