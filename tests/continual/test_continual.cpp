// Continual learning (include/tinyadapt/continual): distillation is
// deterministic, streaming and immune to bad real samples; the stores refuse
// what they cannot hold and stay bit-identical; the learner refuses a task
// the head cannot hold before anything changes and replays as documented.
// Runs on the host (doctest) and on the Cortex-M4 (tests/target harness).
#include <tinyadapt/continual/continual.hpp>
#include <tinyadapt/tinyadapt.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "support/test.hpp"

namespace ta = tinyadapt;

namespace {

using W2 = ta::Sequential<ta::Input<64>, ta::Dense<32>, ta::ReLU, ta::Dense<10>>;
using W3 = ta::Sequential<ta::Input<28, 28, 1>, ta::Conv2D<8, 3>, ta::ReLU, ta::MaxPool2D<2>, ta::Conv2D<16, 3>,
                          ta::ReLU, ta::MaxPool2D<2>, ta::Flatten, ta::Dense<10>>;
static_assert(std::is_same_v<ta::Embedding<W2>, ta::Sequential<ta::Input<64>, ta::Dense<32>, ta::ReLU>>);
static_assert(ta::Embedding<W3>::output_size == 5 * 5 * 16, "W3's embedding is its flattened features");

constexpr std::size_t D = 64, N = 40;
using DM = ta::DistributionMatching<W2, 4, 16>;
using Store = ta::SyntheticStore<10, 4, D>;
using Store8 = ta::SyntheticStore<10, 4, D, std::int8_t>;
using Exemplars = ta::ExemplarStore<10, 4, D>;

// N samples of one "class": a bright square on noise, in [0, 1].
void make_class(float* x, std::uint64_t seed) {
  ta::Rng rng(seed);
  for (std::size_t i = 0; i < N; ++i)
    for (std::size_t k = 0; k < D; ++k) x[i * D + k] = (k % 8 < 4 && k < 32 ? 0.7f : 0.0f) + 0.3f * rng.uniform();
}

template <class T>
bool same_bytes(const T& a, const T& b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

ta::DistillConfig config(std::size_t iterations = 60) {
  ta::DistillConfig c;
  c.per_class = 4;
  c.iterations = iterations;
  c.seed = 11;
  return c;
}

float real[N * D];
float glitched[(N + 6) * D];
DM dm_a, dm_b;
Store store_a, store_b;
Store8 store8;
Exemplars ex_a, ex_b;
// Shared by the tests (the Cortex-M4 has 256 KB for all of them).
W2 net, before;
ta::GradientAccumulator<W2> acc;
ta::GradientMatching<W2, 4> gm;

}  // namespace

TEST_CASE("distribution matching moves the synthetic mean embedding onto the real one, deterministically") {
  make_class(real, 1);
  ta::DistillConfig c = config(200);
  REQUIRE(dm_a.begin(c) == ta::Status::ok);
  CHECK(dm_a.add_real(real, N) == ta::Status::ok);
  const ta::DistillReport r = dm_a.distill();
  CHECK(r.status == ta::Status::ok);
  CHECK(r.real_seen == N);
  CHECK(r.synthetic == 4);
  CHECK(r.steps == 200);
  CHECK_FALSE(r.short_class);
  CHECK(r.last_loss < 0.5f * r.first_loss);
  // The same seed gives the same samples; the stream one sample at a time
  // gives the same as one chunk (every network sees the whole class).
  REQUIRE(dm_b.begin(c) == ta::Status::ok);
  for (std::size_t i = 0; i < N; ++i) CHECK(dm_b.add_real(real + i * D) == ta::Status::ok);
  dm_b.distill();
  CHECK(std::memcmp(dm_a.synthetic().data(), dm_b.synthetic().data(), 4 * D * sizeof(float)) == 0);
  // Inputs stay in the data's range.
  bool in_range = true;
  for (std::size_t k = 0; k < 4 * D; ++k) in_range &= dm_a.synthetic().data()[k] >= 0.0f && dm_a.synthetic().data()[k] <= 1.0f;
  CHECK(in_range);
}

// The input gradient a distiller steps along is dL/ds: one step of lr along
// it lowers L by lr |g|^2 to first order. L(s0) and L(s0 - lr g) are the
// first and second iteration's loss of a 2-iteration run without momentum
// (the same embedding network both times: Networks = 1).
template <class Distiller, class Run>
void check_descent(Distiller& d, Run&& run) {
  ta::DistillConfig c = config(1);
  c.momentum = 0.0f;
  c.range = ta::InputRange{-10.0f, 10.0f};  // no clamping
  const ta::DistillReport one = run(d, c);
  REQUIRE(one.status == ta::Status::ok);
  float g_sq = 0.0f;
  for (std::size_t i = 0; i < d.synthetic().size(); ++i) g_sq += ta::kernels::dot(d.synthetic().grad(i), d.synthetic().grad(i), D);
  REQUIRE(g_sq > 0.0f);
  c.iterations = 2;
  c.lr = 0.02f * one.first_loss / g_sq;  // a 2% decrease predicted
  const ta::DistillReport two = run(d, c);
  CHECK(two.first_loss == one.first_loss);
  const float ratio = (two.first_loss - two.last_loss) / (c.lr * g_sq);
  CHECK(ratio > 0.9f);
  CHECK(ratio < 1.1f);
}

TEST_CASE("the synthetic inputs descend along the true gradient of the matching loss") {
  make_class(real, 12);
  static ta::DistributionMatching<W2, 4, 1> one_net;
  check_descent(one_net, [](auto& d, const ta::DistillConfig& c) {
    REQUIRE(d.begin(c) == ta::Status::ok);
    d.add_real(real, N);
    return d.distill();
  });
  ta::Rng rng(8);
  net.init(rng);
  check_descent(gm, [](auto& d, const ta::DistillConfig& c) {
    REQUIRE(d.begin(c, 2) == ta::Status::ok);
    d.add_real(net, real, N);
    return d.distill(net);
  });
}

TEST_CASE("streaming in blocks: each network sees its block, however the stream is chunked") {
  make_class(real, 2);
  ta::DistillConfig c = config();
  c.real_batch = 8;
  c.expected = N;  // 5 blocks shared out over the 16 networks
  REQUIRE(dm_a.begin(c) == ta::Status::ok);
  dm_a.add_real(real, N);
  REQUIRE(dm_b.begin(c) == ta::Status::ok);
  for (std::size_t i = 0; i < N; i += 3) dm_b.add_real(real + i * D, N - i < 3 ? N - i : 3);
  const ta::DistillReport ra = dm_a.distill(), rb = dm_b.distill();
  CHECK(ra.status == ta::Status::ok);
  CHECK(ra.macs == rb.macs);
  CHECK(std::memcmp(dm_a.synthetic().data(), dm_b.synthetic().data(), 4 * D * sizeof(float)) == 0);
}

TEST_CASE("bad real samples are skipped and counted: the distilled set is bit-identical to one without them") {
  make_class(real, 3);
  // The same stream with NaN, Inf, a huge glitch and out-of-range samples in between.
  const std::size_t at[6] = {0, 5, 6, 17, 30, 39};
  const float bad[6] = {NAN, INFINITY, 3e38f, -INFINITY, 1.5f, -0.25f};
  std::size_t j = 0, b = 0;
  for (std::size_t i = 0; i < N; ++i) {
    if (b < 6 && at[b] == i) {
      for (std::size_t k = 0; k < D; ++k) glitched[j * D + k] = real[i * D + k];
      glitched[j * D + (7 * b) % D] = bad[b];
      ++j, ++b;
    }
    for (std::size_t k = 0; k < D; ++k) glitched[j * D + k] = real[i * D + k];
    ++j;
  }
  REQUIRE(j == N + 6);
  ta::DistillConfig c = config();
  REQUIRE(dm_a.begin(c) == ta::Status::ok);
  dm_a.add_real(real, N);
  REQUIRE(dm_b.begin(c) == ta::Status::ok);
  CHECK(dm_b.add_real(glitched, N + 6) == ta::Status::non_finite_input);
  const ta::DistillReport ra = dm_a.distill(), rb = dm_b.distill();
  CHECK(rb.real_skipped == 6);
  CHECK(rb.real_seen == N);
  CHECK(ra.status == ta::Status::ok);
  CHECK(rb.status == ta::Status::ok);
  CHECK(std::memcmp(dm_a.synthetic().data(), dm_b.synthetic().data(), 4 * D * sizeof(float)) == 0);
}

TEST_CASE("a class with fewer real samples than the store asks is distilled from what there is, and says so") {
  make_class(real, 4);
  REQUIRE(dm_a.begin(config()) == ta::Status::ok);
  dm_a.add_real(real, 3);
  const ta::DistillReport r = dm_a.distill();
  CHECK(r.short_class);
  CHECK(r.synthetic == 3);
  CHECK(dm_a.synthetic().size() == 3);
  REQUIRE(dm_b.begin(config()) == ta::Status::ok);
  CHECK(dm_b.distill().status == ta::Status::empty_batch);  // nothing arrived: nothing distilled
  ta::DistillConfig bad = config();
  bad.per_class = 5;  // more than the compile-time 4
  CHECK(dm_b.begin(bad) == ta::Status::bad_hyperparameter);
  bad = config();
  bad.lr = NAN;
  CHECK(dm_b.begin(bad) == ta::Status::bad_hyperparameter);
}

TEST_CASE("a synthetic step that cannot be proven finite moves nothing") {
  static ta::SyntheticSet<2, 4> set, set_before;
  ta::Rng rng(1);
  const float x[8] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f};
  REQUIRE(set.reset(2, ta::InputRange{0.0f, 1.0f}) == ta::Status::ok);
  set.offer(x, rng);
  set.offer(x + 4, rng);
  for (std::size_t k = 0; k < 4; ++k) set.grad(0)[k] = set.grad(1)[k] = 0.01f;
  REQUIRE(set.step(1.0f, 0.5f) == ta::Status::ok);
  set.grad(1)[2] = INFINITY;
  set_before = set;
  CHECK(set.step(1.0f, 0.5f) == ta::Status::non_finite_gradient);
  CHECK(same_bytes(set, set_before));
  set.grad(1)[2] = 1e38f;
  set_before = set;
  CHECK(set.step(1e10f, 0.5f) == ta::Status::non_finite_gradient);
  CHECK(same_bytes(set, set_before));
  CHECK(set.step(NAN, 0.5f) == ta::Status::bad_hyperparameter);
  CHECK(same_bytes(set, set_before));
}

TEST_CASE("the stores refuse what they cannot hold and stay bit-identical") {
  make_class(real, 5);
  store_a.clear();
  REQUIRE(store_a.write(2, real, 4) == ta::Status::ok);
  CHECK(store_a.count() == 4);
  CHECK(store_a.bytes() == 4 * (4 * D + 1));
  store_b = store_a;
  float bad[4 * D];
  std::memcpy(bad, real, sizeof bad);
  bad[3 * D + 9] = NAN;
  CHECK(store_a.write(3, bad, 4) == ta::Status::non_finite_input);
  CHECK(store_a.write(10, real, 4) == ta::Status::bad_label);
  CHECK(store_a.write(3, real, 5) == ta::Status::size_mismatch);
  CHECK(same_bytes(store_a, store_b));
  float x[D];
  CHECK(store_a.get(3, x) == 2);
  CHECK(std::memcmp(x, real + 3 * D, sizeof x) == 0);
  // int8: a quarter of the bytes, within half a step of the float values.
  REQUIRE(store8.write(7, real, 4) == ta::Status::ok);
  CHECK(Store8::sample_bytes == D + 4 + 1);
  CHECK(store8.get(2, x) == 7);
  const float step = ta::max_abs(real + 2 * D, D) / 127.0f;
  float worst = 0.0f;
  for (std::size_t k = 0; k < D; ++k) worst = std::fabs(x[k] - real[2 * D + k]) > worst ? std::fabs(x[k] - real[2 * D + k]) : worst;
  CHECK(worst <= 0.5001f * step);
}

TEST_CASE("random exemplars: class-balanced reservoirs of uint8 samples; bad samples change nothing") {
  make_class(real, 6);
  ta::Rng rng(3);
  REQUIRE(ex_a.reset(4, 1.0f / 255.0f) == ta::Status::ok);
  for (std::size_t i = 0; i < N; ++i) CHECK(ex_a.offer(1, real + i * D, rng) == ta::Status::ok);
  for (std::size_t i = 0; i < 2; ++i) CHECK(ex_a.offer(6, real + i * D, rng) == ta::Status::ok);
  CHECK(ex_a.filled(1) == 4);
  CHECK(ex_a.filled(6) == 2);
  CHECK(ex_a.bytes() == 6 * (D + 1));
  float x[D];
  CHECK(ex_a.get(5, x) == 6);
  CHECK(std::fabs(x[0] - real[D]) <= 0.5f / 255.0f + 1e-7f);
  ex_b = ex_a;
  const ta::Rng rng_before = rng;
  float bad[D];
  std::memcpy(bad, real, sizeof bad);
  bad[10] = NAN;
  CHECK(ex_a.offer(1, bad, rng) == ta::Status::non_finite_input);
  bad[10] = 2.0f;
  CHECK(ex_a.offer(1, bad, rng) == ta::Status::input_out_of_range);
  CHECK(ex_a.offer(10, real, rng) == ta::Status::bad_label);
  CHECK(same_bytes(ex_a, ex_b));
  CHECK(same_bytes(rng, rng_before));
  CHECK(ex_a.reset(5, 1.0f) == ta::Status::bad_hyperparameter);
  CHECK(same_bytes(ex_a, ex_b));
}

TEST_CASE("the reservoir keeps every item of the stream with the same probability") {
  ta::Rng rng(9);
  std::size_t kept[20] = {};
  for (int trial = 0; trial < 2000; ++trial) {
    std::size_t slots[5] = {};
    for (std::uint32_t seen = 1; seen <= 20; ++seen) {
      const std::size_t s = ta::reservoir_slot(seen, 5, rng);
      if (s < 5) slots[s] = seen - 1;
    }
    for (std::size_t s : slots) ++kept[s];
  }
  bool even = true;  // expected 500 each (5 / 20 of 2000)
  for (std::size_t k : kept) even &= k > 400 && k < 600;
  CHECK(even);
}

TEST_CASE("gradient matching reduces the gradient distance and never writes the model") {
  ta::Rng rng(5);
  net.init(rng);
  before = net;
  make_class(real, 7);
  REQUIRE(gm.begin(config(40), 3) == ta::Status::ok);
  ta::DistillConfig lr = config(40);
  lr.lr = 0.1f;
  REQUIRE(gm.begin(lr, 3) == ta::Status::ok);
  CHECK(gm.add_real(net, real, N) == ta::Status::ok);
  const ta::DistillReport r = gm.distill(net);
  CHECK(r.status == ta::Status::ok);
  CHECK(r.steps == 40);
  CHECK(r.last_loss < r.first_loss);
  CHECK(std::memcmp(net.parameters().data(), before.parameters().data(), W2::param_count * sizeof(float)) == 0);
  CHECK(gm.begin(lr, 10) == ta::Status::bad_label);
}

TEST_CASE("the learner refuses a task with a label the head cannot hold, before anything changes") {
  ta::Rng rng(2);
  net.init(rng);
  before = net;
  ta::SGD<W2> sgd(0.05f);
  std::uint32_t order[N + 8];
  make_class(real, 8);
  auto bad_task = [](std::size_t i, float* x) {
    std::memcpy(x, real + i * D, D * sizeof(float));
    return i == 17 ? 10u : 1u;
  };
  ta::TaskConfig tc;
  tc.epochs = 2;
  const ta::TaskReport r = ta::train_task(net, sgd, acc, ta::NoBuffer{}, N, bad_task, ta::Span<std::uint32_t>(order, N + 8), tc, rng);
  CHECK(r.status == ta::Status::bad_label);
  CHECK(r.samples == 0);
  CHECK(std::memcmp(net.parameters().data(), before.parameters().data(), W2::param_count * sizeof(float)) == 0);
  // Too small an index buffer is refused too.
  store_a.clear();
  REQUIRE(store_a.write(4, real, 4) == ta::Status::ok);
  auto task = [](std::size_t i, float* x) {
    std::memcpy(x, real + i * D, D * sizeof(float));
    return 1u;
  };
  CHECK(ta::train_task(net, sgd, acc, store_a, N, task, ta::Span<std::uint32_t>(order, N + 3), tc, rng).status ==
        ta::Status::size_mismatch);
  CHECK(std::memcmp(net.parameters().data(), before.parameters().data(), W2::param_count * sizeof(float)) == 0);
}

namespace {
// A buffer of 6 samples (4 of class 4, 2 of class 5) and a new task of N samples of class 1.
void fill_learner_buffer() {
  make_class(real, 9);
  store_a.clear();
  REQUIRE(store_a.write(4, real, 4) == ta::Status::ok);
  REQUIRE(store_a.write(5, real + 4 * D, 2) == ta::Status::ok);
}
unsigned new_task(std::size_t i, float* x) {
  std::memcpy(x, real + i * D, D * sizeof(float));
  return 1u;
}

}  // namespace

TEST_CASE("mix joins every minibatch with min(batch, |buffer|) buffer samples; concat appends the buffer once") {
  ta::Rng rng(4);
  net.init(rng);
  ta::SGD<W2> sgd(0.05f);
  std::uint32_t order[N + 8];
  fill_learner_buffer();
  auto task = new_task;
  ta::TaskConfig tc;
  tc.epochs = 3;
  tc.batch = 16;
  tc.replay = ta::Replay::mix;
  const ta::Span<std::uint32_t> span(order, N + 8);
  const ta::TaskReport mix = ta::train_task(net, sgd, acc, store_a, N, task, span, tc, rng);
  CHECK(mix.status == ta::Status::ok);
  CHECK(mix.samples == 3 * (N + 3 * 6));  // 3 minibatches (16, 16, 8) per epoch, each with the 6 buffer samples
  CHECK(mix.steps == 3 * 3);
  CHECK(mix.previous_epoch_loss > 0.0f);
  CHECK(mix.last_epoch_loss < mix.previous_epoch_loss);  // an easy task: the loss falls epoch to epoch
  tc.replay = ta::Replay::concat;
  const ta::TaskReport concat = ta::train_task(net, sgd, acc, store_a, N, task, span, tc, rng);
  CHECK(concat.samples == 3 * (N + 6));
  CHECK(concat.steps == 3 * 3);  // 46 samples in minibatches of 16
  CHECK(ta::check_health(net) == ta::Status::ok);
}

namespace {
W2 taught;  // the student replayed with a teacher
// Mean KL divergence between two networks' softened outputs (T = 2) on the store's samples.
float soft_distance(W2& student, W2& teacher, const Store& store) {
  float x[D], z[10], sum = 0.0f;
  for (std::size_t i = 0; i < store.count(); ++i) {
    const unsigned label = static_cast<unsigned>(store.get(i, x));
    std::memcpy(z, student.forward(x), sizeof z);
    const float* old = teacher.forward(x);
    sum += (ta::LogitMatchCrossEntropy::value_and_grad(z, {label, old, 1.0f}, nullptr, 10) -
            ta::SoftmaxCrossEntropy::value_and_grad(z, label, nullptr, 10)) / 4.0f;
  }
  return sum / static_cast<float>(store.count());
}
}  // namespace

TEST_CASE("replay with a teacher: weight 0 is plain replay, a weight keeps the old logits, the teacher never moves") {
  fill_learner_buffer();
  auto task = new_task;
  ta::TaskConfig tc;
  tc.epochs = 5;
  std::uint32_t order[N + 8];
  const ta::Span<std::uint32_t> span(order, N + 8);
  auto start = [](W2& w) {  // every run starts from the same network (the M4 has no room for a copy)
    ta::Rng init(5);
    w.init(init);
  };
  start(before);  // the teacher: the network as the task finds it
  auto train = [&](W2& student, const auto& buffer) {
    start(student);
    ta::SGD<W2> sgd(0.05f);
    ta::Rng rng(21);
    return ta::train_task(student, sgd, acc, buffer, N, task, span, tc, rng);
  };
  const ta::TaskReport plain = train(net, store_a);
  const ta::TaskReport zero = train(taught, ta::TeacherReplay<Store, W2>(store_a, before, 0.0f));
  CHECK(plain.status == ta::Status::ok);
  CHECK(zero.samples == plain.samples);
  CHECK(std::memcmp(net.parameters().data(), taught.parameters().data(), sizeof(float) * W2::param_count) == 0);
  const ta::TaskReport kd = train(taught, ta::TeacherReplay<Store, W2>(store_a, before, 1.0f));
  CHECK(kd.status == ta::Status::ok);
  CHECK(kd.refused == 0);
  start(net);  // the teacher never moved
  CHECK(std::memcmp(before.parameters().data(), net.parameters().data(), sizeof(float) * W2::param_count) == 0);
  train(net, store_a);
  // The new class pulls every output; the soft targets hold the replayed samples' closer to the teacher's.
  const float d_plain = soft_distance(net, before, store_a), d_kd = soft_distance(taught, before, store_a);
  CHECK(d_kd < 0.8f * d_plain);  // measured: 0.106 against 0.151
  // A broken teacher (NaN weights) gives no soft targets: every replayed sample is refused and counted, the
  // new samples still train, and the student stays healthy.
  before.parameters()[0] = NAN;
  const ta::TaskReport broken = train(taught, ta::TeacherReplay<Store, W2>(store_a, before, 1.0f));
  CHECK(broken.status == ta::Status::ok);
  CHECK(broken.refused == 5 * 3 * 6);  // 5 epochs x 3 minibatches x the 6 buffer samples
  CHECK(broken.samples == 5 * N);
  CHECK(ta::check_health(taught) == ta::Status::ok);
}

namespace {
// One epoch of the first n samples of new_task from `before` into `into`,
// with the buffer mixed in and weighed by w.
template <class Buffer>
ta::TaskReport train_from_before(W2& into, const Buffer& buffer, std::size_t n, ta::ReplayWeight w) {
  into = before;
  ta::SGD<W2> sgd(0.05f);
  std::uint32_t order[N + 8];
  ta::TaskConfig tc;
  tc.epochs = 1;
  tc.batch = 16;
  tc.weight = w;
  ta::Rng rng(7);
  return ta::train_task(into, sgd, acc, buffer, n, new_task, ta::Span<std::uint32_t>(order, N + 8), tc, rng);
}
// Checks that net's step from `before` is ratio times taught's.
void check_scaled_step(float ratio) {
  const float *p = net.parameters().data(), *q = taught.parameters().data(), *b = before.parameters().data();
  float largest = 0.0f;
  for (std::size_t i = 0; i < W2::param_count; ++i) {
    const float d_mean = q[i] - b[i];
    largest = std::fmax(largest, std::fabs(d_mean));
    REQUIRE(std::fabs((p[i] - b[i]) - ratio * d_mean) <= 1e-6f + 1e-4f * std::fabs(d_mean));
  }
  CHECK(largest > 1e-3f);  // the step is not empty
}
}  // namespace

TEST_CASE("ReplayWeight::added: the buffer joins at the new samples' weight; without a buffer it is the mean") {
  ta::Rng rng(4);
  before.init(rng);
  fill_learner_buffer();
  // One minibatch of 16 new + 6 buffer samples: the mean divides by 22, added by 16.
  REQUIRE(train_from_before(taught, store_a, 16, ta::ReplayWeight::mean).steps == 1);
  REQUIRE(train_from_before(net, store_a, 16, ta::ReplayWeight::added).steps == 1);
  check_scaled_step(22.0f / 16.0f);
  // 2 new + 6 buffer: divided by the larger part (6), so the buffer draw is one mean step and no more.
  REQUIRE(train_from_before(taught, store_a, 2, ta::ReplayWeight::mean).steps == 1);
  REQUIRE(train_from_before(net, store_a, 2, ta::ReplayWeight::added).steps == 1);
  check_scaled_step(8.0f / 6.0f);
  // No buffer: bit-identical to the mean, short last minibatch included (16, 16, 8).
  ta::NoBuffer none;
  REQUIRE(train_from_before(taught, none, N, ta::ReplayWeight::mean).steps == 3);
  REQUIRE(train_from_before(net, none, N, ta::ReplayWeight::added).steps == 3);
  CHECK(std::memcmp(net.parameters().data(), taught.parameters().data(), sizeof(float) * W2::param_count) == 0);
}

TEST_CASE("the soft-target loss: weight 0 is cross-entropy, its own logits add nothing, bad targets are refused") {
  const float z[4] = {1.5f, -0.5f, 3.0f, 0.25f}, other[4] = {-2.0f, 1.0f, 0.0f, 4.0f};
  float g_ce[4], g[4];
  const float ce = ta::SoftmaxCrossEntropy::value_and_grad(z, 2u, g_ce, 4);
  CHECK(ta::LogitMatchCrossEntropy::value_and_grad(z, {2u, other, 0.0f}, g, 4) == ce);
  CHECK(std::memcmp(g, g_ce, sizeof g) == 0);
  CHECK(std::fabs(ta::LogitMatchCrossEntropy::value_and_grad(z, {2u, z, 1.0f}, g, 4) - ce) < 1e-6f);  // KL = 0
  CHECK(testsupport::rel_error(g, g_ce, 4) < 1e-6f);
  CHECK(ta::LogitMatchCrossEntropy::value_and_grad(z, {2u, other, 1.0f}, g, 4) > ce);  // KL > 0
  // Soft-target gradients stay bounded (|softmax - softmax| <= 1, times weight T) however far apart the logits.
  const float far[4] = {3e38f, -3e38f, 0.0f, 3e38f};  // differences overflow to -Inf
  const float loss = ta::LogitMatchCrossEntropy::value_and_grad(z, {2u, far, 1.0f}, g, 4);
  CHECK(std::isfinite(loss));
  for (std::size_t i = 0; i < 4; ++i) CHECK(std::fabs(g[i] - g_ce[i]) <= 2.0f * 1.0001f);
  const float nan[4] = {0.0f, NAN, 0.0f, 0.0f};
  CHECK(ta::LogitMatchCrossEntropy::check({2u, nan, 1.0f}, 4) == ta::Status::non_finite_target);
  CHECK(ta::LogitMatchCrossEntropy::check({2u, nullptr, 1.0f}, 4) == ta::Status::non_finite_target);
  CHECK(ta::LogitMatchCrossEntropy::check({2u, other, -1.0f}, 4) == ta::Status::non_finite_target);
  CHECK(ta::LogitMatchCrossEntropy::check({2u, other, NAN}, 4) == ta::Status::non_finite_target);
  CHECK(ta::LogitMatchCrossEntropy::check({4u, other, 1.0f}, 4) == ta::Status::bad_label);
  CHECK(ta::LogitMatchCrossEntropy::check({2u, other, 1.0f}, 4) == ta::Status::ok);
}

TEST_CASE("growth hook: the learner retrains after each growth the policy asks for, up to the limit") {
  struct Twice {
    int calls = 0;
    bool after_task(W2&, const ta::TaskReport&, float) { return ++calls <= 2; }
  };
  ta::Rng rng(6);
  net.init(rng);
  ta::SGD<W2> sgd(0.05f);
  std::uint32_t order[N];
  auto task = [](std::size_t i, float* x) {
    std::memcpy(x, real + i * D, D * sizeof(float));
    return 2u;
  };
  ta::TaskConfig tc;
  tc.epochs = 1;
  Twice policy;
  int validations = 0;
  const ta::TaskReport r = ta::learn_task(net, sgd, acc, ta::NoBuffer{}, N, task, ta::Span<std::uint32_t>(order, N), tc,
                                          rng, policy, [&] { return static_cast<float>(++validations); });
  CHECK(r.grown == 2);
  CHECK(validations == 3);
  CHECK(r.samples == 3 * N);
  ta::NoGrowth fixed;
  CHECK(ta::learn_task(net, sgd, acc, ta::NoBuffer{}, N, task, ta::Span<std::uint32_t>(order, N), tc, rng, fixed,
                       [] { return 0.0f; }).grown == 0);
}

namespace {
using G2 = ta::Sequential<ta::Input<64>, ta::GrowableDense<24, 8>, ta::ReLU, ta::Dense<10>>;
G2 g_net, g_ref;
bool g_trial_seen = false;
std::uint64_t g_trial_hash = 0;  // of the first trial at width 16 (no third network: the Cortex-M4's RAM)
std::uint64_t hash_of(const G2& n) {
  std::uint64_t h = 1469598103934665603ull ^ n.active_width<0>();
  const auto* b = reinterpret_cast<const unsigned char*>(n.parameters().data());
  for (std::size_t i = 0; i < G2::param_count * sizeof(float); ++i) h = (h ^ b[i]) * 1099511628211ull;
  return h;
}
ta::GradientAccumulator<G2> g_acc;
ta::GrowthProbe<G2, 1> g_probe;
bool same_parameters(const G2& a, const G2& b) {
  return a.active_width<0>() == b.active_width<0>() &&
         std::memcmp(a.parameters().data(), b.parameters().data(), G2::param_count * sizeof(float)) == 0;
}
}  // namespace

TEST_CASE("growth by probing: keep leaves the task's training alone; a taken growth is the trial, bit for bit") {
  make_class(real, 8);
  auto task = [](std::size_t i, float* x) {
    std::memcpy(x, real + i * D, D * sizeof(float));
    return static_cast<unsigned>(i % 2);
  };
  std::uint32_t order[N];
  const ta::Span<std::uint32_t> span(order, N);
  ta::TaskConfig tc;
  tc.epochs = 2;
  const std::size_t step[G2::layer_count] = {8, 0, 0};
  g_probe = ta::GrowthProbe<G2, 1>{};
  REQUIRE(g_probe.add_candidate(step) == ta::Status::ok);
  CHECK(g_probe.add_candidate(step) == ta::Status::capacity_exceeded);  // full
  const std::size_t none[G2::layer_count] = {};
  CHECK(ta::GrowthProbe<G2, 3>{}.add_candidate(none) == ta::Status::bad_hyperparameter);
  ta::GrowthProbe<G2, 3> each;
  const std::size_t two[G2::layer_count] = {8, 0, 4};
  CHECK(each.add_each_layer(two) == ta::Status::ok);
  CHECK(each.candidates == 2);
  CHECK(each.step[1][2] == 4);
  CHECK(each.step[1][0] == 0);

  // The reference: the task trained alone.
  ta::Rng r1(21), g1(5);
  g_ref.init(r1);
  g_net = g_ref;
  ta::Rng r2 = r1, g2 = g1;
  ta::SGD<G2> sgd(0.05f), sgd2(0.05f);
  const ta::TaskReport alone = ta::train_task(g_ref, sgd, g_acc, ta::NoBuffer{}, N, task, span, tc, r1);
  // A validation that sees no gain in width: keep, and nothing but the task's training happened.
  const ta::LayerProbeGrowth policy{0.01f, 0.0f, 1.0f, 1};
  ta::TaskReport r = ta::learn_task_probed(g_net, sgd2, g_acc, ta::NoBuffer{}, N, task, span, tc, r2, policy, g_probe,
                                           g2, [](G2&) { return 0.5f; });
  CHECK(r.grown == 0);
  CHECK(g_probe.last.decision.reason == ta::GrowthReason::keep_good_enough);
  CHECK(g_probe.measured[0].available);
  CHECK(g_probe.measured[0].gain == 0.0f);
  CHECK(std::fabs(g_probe.flops_now - 1.0f / 3.0f) < 1e-6f);  // 8 of 24 units
  CHECK(std::fabs(g_probe.measured[0].flops_after - 2.0f / 3.0f) < 1e-6f);
  CHECK(same_parameters(g_net, g_ref));
  CHECK(r1.next_u32() == r2.next_u32());  // the learner's stream went on as without the probe
  CHECK(g1.next_u32() == g2.next_u32());
  CHECK(r.samples == alone.samples);
  CHECK(r.macs > 2.5 * alone.macs);  // the control and the trial were paid for

  // A validation that rewards width (0.25 per 8 units): grow once (the round
  // limit), and the network is the trial: grown by the same draws, retrained the same way.
  ta::Rng r3(22), g3(6);
  g_ref.init(r3);
  g_net = g_ref;
  ta::Rng r4 = r3, g4 = g3;
  (void)ta::train_task(g_ref, sgd, g_acc, ta::NoBuffer{}, N, task, span, tc, r3);
  REQUIRE(ta::grow_all(g_ref, step, g3) == ta::Status::ok);
  (void)ta::train_task(g_ref, sgd, g_acc, ta::NoBuffer{}, N, task, span, tc, r3);
  auto by_width = [](G2& n) {
    if (n.active_width<0>() == 16 && !g_trial_seen) {  // the first trial at 16
      g_trial_hash = hash_of(n);
      g_trial_seen = true;
    }
    return static_cast<float>(n.active_width<0>()) / 32.0f;
  };
  g_trial_seen = false;
  r = ta::learn_task_probed(g_net, sgd2, g_acc, ta::NoBuffer{}, N, task, span, tc, r4, policy, g_probe, g4, by_width);
  CHECK(r.grown == 1);
  REQUIRE(g_trial_seen);
  CHECK(hash_of(g_net) == g_trial_hash);
  CHECK(g_probe.last.decision.reason == ta::GrowthReason::keep_round_limit);
  CHECK(g_net.active_width<0>() == 16);
  CHECK(same_parameters(g_net, g_ref));
  CHECK(r3.next_u32() == r4.next_u32());
  CHECK(r.samples == 2 * alone.samples);

  // The same reward past a FLOPs budget of 0.4 (16 units: 2/3): kept at 8, the reason logged.
  g_net.init(r4);
  const ta::LayerProbeGrowth budget{0.01f, 0.0f, 0.4f};
  r = ta::learn_task_probed(g_net, sgd2, g_acc, ta::NoBuffer{}, N, task, span, tc, r4, budget, g_probe, g4, by_width);
  CHECK(r.grown == 0);
  CHECK(g_probe.last.decision.reason == ta::GrowthReason::keep_over_budget);
  CHECK(g_net.active_width<0>() == 8);
  // Without a round limit it grows while it pays, up to the maximum.
  const ta::LayerProbeGrowth open{0.01f, 0.0f, 1.0f};
  r = ta::learn_task_probed(g_net, sgd2, g_acc, ta::NoBuffer{}, N, task, span, tc, r4, open, g_probe, g4, by_width);
  CHECK(r.grown == 2);
  CHECK(g_net.active_width<0>() == 24);
  CHECK(g_probe.last.decision.reason == ta::GrowthReason::keep_at_maximum);
  CHECK(ta::check_health(g_net) == ta::Status::ok);
}

namespace {
// Two growable layers: a unit of the first costs 16 + (width of the second) MACs, one of the second (width of the first) + 10.
using G3 = ta::Sequential<ta::Input<16>, ta::GrowableDense<32, 8>, ta::ReLU, ta::GrowableDense<16, 4>, ta::ReLU,
                          ta::Dense<10>>;
G3 g3;
ta::GrowthCandidates<G3, 2> g3_steps;
}  // namespace

TEST_CASE("cheapest growth: when the policy says grow, the layer whose step adds the fewest FLOPs, within the budget") {
  ta::Rng rng(31);
  g3.init(rng);
  CHECK(g3.inference_flops() == 2 * (16 * 8 + 8 * 4 + 4 * 10));
  g3_steps = ta::GrowthCandidates<G3, 2>{};
  const std::size_t step[G3::layer_count] = {8, 0, 4, 0, 0};
  REQUIRE(g3_steps.add_each_layer(step) == ta::Status::ok);
  ta::CheapestGrowth<G3, ta::ThresholdGrowth, 2> hook;
  hook.policy = ta::ThresholdGrowth{0.9f};
  hook.steps = &g3_steps;
  hook.budget = 0.5f;  // of 2 x 1,184 MACs at (32, 16)
  const ta::TaskReport r;
  CHECK_FALSE(hook.after_task(g3, r, 0.5f));  // no Rng: refused
  CHECK(hook.last.reason == ta::GrowthReason::keep_invalid_metrics);
  hook.rng = &rng;
  CHECK_FALSE(hook.after_task(g3, r, 0.95f));  // good enough: nothing changes
  CHECK(hook.last.reason == ta::GrowthReason::keep_good_enough);
  CHECK(g3.active_width<2>() == 4);
  // (8, 8) costs 272 MACs, (16, 4) 360: the second layer, up to its maximum.
  for (std::size_t w = 8; w <= 16; w += 4) {
    REQUIRE(hook.after_task(g3, r, 0.5f));
    CHECK(hook.taken == 1);
    CHECK(g3.active_width<0>() == 8);
    CHECK(g3.active_width<2>() == w);
  }
  // Then only the first layer can grow: (16, 16) is 672 of 1,184 MACs, over the budget.
  CHECK_FALSE(hook.after_task(g3, r, 0.5f));
  CHECK(hook.last.reason == ta::GrowthReason::keep_over_budget);
  CHECK(g3.active_width<0>() == 8);
  hook.budget = 0.6f;
  REQUIRE(hook.after_task(g3, r, 0.5f));
  CHECK(hook.taken == 0);
  CHECK(g3.active_width<0>() == 16);
  CHECK(hook.rounds == 4);
}

TEST_CASE("cheapest growth with the gain gate: the hook measures each growth's gain on its task") {
  ta::Rng rng(32);
  g3.init(rng);
  g3_steps = ta::GrowthCandidates<G3, 2>{};
  const std::size_t step[G3::layer_count] = {8, 0, 4, 0, 0};
  REQUIRE(g3_steps.add_each_layer(step) == ta::Status::ok);
  ta::CheapestGrowth<G3, ta::ThresholdGrowth, 2> hook;
  hook.policy = ta::ThresholdGrowth{0.9f, 1000, 0.01f};
  hook.steps = &g3_steps;
  hook.rng = &rng;
  const ta::TaskReport r;
  hook.start_task(0);
  REQUIRE(hook.after_task(g3, r, 0.5f));   // first decision of the task
  REQUIRE(hook.after_task(g3, r, 0.6f));   // +0.1 since the growth
  CHECK_FALSE(hook.after_task(g3, r, 0.605f));  // +0.005: not followed by another
  CHECK(hook.last.reason == ta::GrowthReason::keep_no_gain);
  CHECK(g3.active_width<2>() == 12);
  hook.start_task(1);  // a new task starts without a gain to show
  REQUIRE(hook.after_task(g3, r, 0.605f));
  CHECK(g3.active_width<2>() == 16);
  // The same with the uniform-step hook.
  g3.init(rng);
  ta::PolicyGrowth<G3, ta::ThresholdGrowth> uniform;
  uniform.policy = hook.policy;
  uniform.step[0] = 8;
  uniform.rng = &rng;
  uniform.start_task(0);
  REQUIRE(uniform.after_task(g3, r, 0.5f));
  CHECK_FALSE(uniform.after_task(g3, r, 0.5f));
  CHECK(uniform.last.reason == ta::GrowthReason::keep_no_gain);
  CHECK(g3.active_width<0>() == 16);
}

TEST_CASE("P3 metrics: final, average incremental accuracy and forgetting") {
  ta::AccuracyMatrix<3> m;
  m.set(0, 0, 1.0f);
  m.set_seen(0, 1.0f);
  m.set(1, 0, 0.8f);
  m.set(1, 1, 0.9f);
  m.set_seen(1, 0.85f);
  m.set(2, 0, 0.5f);
  m.set(2, 1, 0.6f);
  m.set(2, 2, 1.0f);
  m.set_seen(2, 0.7f);
  CHECK(std::fabs(m.final_accuracy() - 0.7f) < 1e-6f);
  CHECK(std::fabs(m.average_accuracy() - (1.0f + 0.85f + 0.7f) / 3.0f) < 1e-6f);
  CHECK(std::fabs(m.forgetting() - ((1.0f - 0.5f) + (0.9f - 0.6f)) / 2.0f) < 1e-6f);
}
