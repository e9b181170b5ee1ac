// TinyReptile's building blocks: the device round, the server step (Reptile
// and FedAvg), few-shot adaptation and the server checkpoint.
#include <cmath>
#include <cstring>
#include <limits>

#include <tinyadapt/tinyadapt.hpp>

#include "support/test.hpp"

namespace ta = tinyadapt;
namespace meta = ta::meta;

namespace {
using Net = ta::Sequential<ta::Input<1>, ta::Dense<16>, ta::Tanh, ta::Dense<1>>;
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

struct SineTask {
  float amplitude = 1.0f, phase = 0.0f, target = 0.0f;
  const float* operator()(float x) {
    target = amplitude * std::sin(x + phase);
    return &target;
  }
};

Net g_net, g_device;
ta::GradientAccumulator<Net> g_acc;
}  // namespace

TEST_CASE("device round: theta in, k online steps, refused samples counted and never trained on") {
  ta::Rng rng(1);
  g_net.init(rng);
  meta::Parameters<Net> theta;
  theta.copy_from(g_net);
  ta::SGD<Net> sgd(0.01f);
  SineTask task{2.0f, 0.5f};
  const auto sample = [&](std::size_t i, float* x) {
    x[0] = i % 4 == 3 ? kNaN : -4.0f + static_cast<float>(i);
    return task(x[0]);
  };
  const meta::RoundResult r = meta::device_round<ta::MSE>(g_device, sgd, theta, 8, sample);
  CHECK(r.ok());
  CHECK(r.trained == 6);
  CHECK(r.skipped == 2);
  // The same 6 good samples, stepped by hand, give the same φ bit for bit.
  static Net by_hand;
  theta.copy_to(by_hand);
  ta::SGD<Net> sgd2(0.01f);
  for (std::size_t i = 0; i < 8; ++i) {
    float x[1];
    const float* t = sample(i, x);
    if (i % 4 != 3) CHECK(ta::train_step<ta::MSE>(by_hand, sgd2, x, t).ok());
  }
  CHECK(std::memcmp(by_hand.parameters().data(), g_device.parameters().data(), sizeof(float) * Net::param_count) == 0);
  // Δ in the receive buffer, without a second copy.
  meta::Parameters<Net> buf = theta;
  meta::delta_in_place(g_device, buf.span());
  CHECK(buf.values[3] == g_device.parameters()[3] - theta.values[3]);
  // θ received straight into the network: trained in place, the same φ.
  theta.copy_to(g_device);
  const ta::Span<const float> in_place = static_cast<const Net&>(g_device).parameters();
  CHECK(meta::device_round<ta::MSE>(g_device, sgd, in_place, 8, sample).ok());
  CHECK(std::memcmp(by_hand.parameters().data(), g_device.parameters().data(), sizeof(float) * Net::param_count) == 0);
  // A wrong-size or non-finite θ is refused before anything is trained.
  float short_theta[5] = {};
  CHECK(meta::device_round<ta::MSE>(g_device, sgd, ta::Span<const float>(short_theta, 5), 8, sample).status ==
        ta::Status::size_mismatch);
  theta.values[7] = kNaN;
  CHECK(meta::device_round<ta::MSE>(g_device, sgd, theta, 8, sample).status == ta::Status::non_finite_update);
}

TEST_CASE("server: Reptile and FedAvg steps, rejected updates change nothing") {
  ta::Rng rng(2);
  g_net.init(rng);
  static meta::Server<Net, ta::ConstantLR> server(g_net, ta::ConstantLR{0.5f});
  static meta::Parameters<Net> theta0, phi1, phi2;
  theta0.copy_from(g_net);
  for (std::size_t i = 0; i < Net::param_count; ++i) {
    phi1.values[i] = theta0.values[i] + 1.0f;
    phi2.values[i] = theta0.values[i] - 3.0f;
  }
  CHECK(server.add(phi1.span()) == ta::Status::ok);
  static meta::Parameters<Net> bad = phi2;
  bad.values[11] = kNaN;
  CHECK(server.add(bad.span()) == ta::Status::non_finite_update);
  bad.values[11] = 3e38f;  // finite, but the sum would not be
  CHECK(server.add(bad.span()) == ta::Status::non_finite_update);
  CHECK(server.add_delta(ta::Span<const float>(phi2.values, 3)) == ta::Status::size_mismatch);
  CHECK(server.add(phi2.span()) == ta::Status::ok);
  CHECK(server.devices_in_round() == 2);
  CHECK(server.end_round() == ta::Status::ok);
  // θ + 0.5 * mean(+1, -3) = θ - 0.5: the rejected updates left no trace.
  for (std::size_t i = 0; i < Net::param_count; ++i) CHECK(server.theta()[i] == theta0.values[i] - 0.5f);
  CHECK(server.round() == 1);
  CHECK(server.end_round() == ta::Status::empty_batch);
  CHECK(server.round() == 1);

  static meta::Server<Net, ta::ConstantLR> fedavg(g_net, ta::ConstantLR{0.5f}, meta::Aggregation::fedavg);
  CHECK(fedavg.add(phi1.span(), 30) == ta::Status::ok);
  CHECK(fedavg.add(phi2.span(), 10) == ta::Status::ok);
  CHECK(fedavg.end_round() == ta::Status::ok);
  // The sample-weighted mean of φ: θ + (30 * 1 + 10 * -3) / 40 = θ.
  for (std::size_t i = 0; i < Net::param_count; ++i) CHECK(std::fabs(fedavg.theta()[i] - theta0.values[i]) < 1e-6f);
}

TEST_CASE("server checkpoint: a run resumes exactly; a corrupted checkpoint is refused") {
  ta::Rng rng(3);
  g_net.init(rng);
  using S = meta::Server<Net, ta::LinearDecayLR>;
  static S a(g_net, ta::LinearDecayLR{1.0f, 0.0f, 40}), b(g_net, ta::LinearDecayLR{0.3f, 0.0f, 7});
  ta::SGD<Net> sgd(0.01f);
  const auto round = [&](S& s) {
    SineTask task{s.rng().uniform(0.1f, 5.0f), s.rng().uniform(0.0f, 6.28f)};
    const meta::RoundResult r = meta::device_round<ta::MSE>(g_device, sgd, s.theta(), 10, [&](std::size_t, float* x) {
      x[0] = s.rng().uniform(-5.0f, 5.0f);
      return task(x[0]);
    });
    CHECK(r.ok());
    CHECK(s.add(g_device.parameters()) == ta::Status::ok);
    CHECK(s.end_round() == ta::Status::ok);
  };
  for (int r = 0; r < 20; ++r) round(a);
  static unsigned char saved[S::state_bytes];
  CHECK(a.save(saved, sizeof saved) == ta::Status::ok);
  for (int r = 0; r < 20; ++r) round(a);
  // b resumes from the checkpoint (schedule, round and generator included).
  saved[100] ^= 1u;
  CHECK(b.load(saved, sizeof saved) != ta::Status::ok);
  CHECK(b.round() == 0);
  saved[100] ^= 1u;
  CHECK(b.load(saved, sizeof saved) == ta::Status::ok);
  CHECK(b.round() == 20);
  for (int r = 0; r < 20; ++r) round(b);
  CHECK(std::memcmp(a.theta().data(), b.theta().data(), sizeof(float) * Net::param_count) == 0);
}

TEST_CASE("few-shot adaptation: metrics after chosen steps, full-batch and online") {
  ta::Rng rng(4);
  g_net.init(rng);
  meta::Parameters<Net> theta;
  theta.copy_from(g_net);
  SineTask task{1.5f, 0.3f};
  float xs[10];
  for (std::size_t i = 0; i < 10; ++i) xs[i] = -4.5f + static_cast<float>(i);
  const auto shot = [&](std::size_t i, float* x) {
    x[0] = xs[i];
    return task(x[0]);
  };
  SineTask query = task;
  const auto eval = [&](Net& n) {
    return meta::mean_squared_error(n, 50, [&](std::size_t i, float* x) {
      x[0] = -5.0f + 10.0f * static_cast<float>(i) / 49.0f;
      return query(x[0]);
    });
  };
  const std::uint32_t at[] = {0, 1, 4, 8, 32};
  float full[5], online[5];
  ta::SGD<Net> sgd(0.02f);
  CHECK(meta::adapt<ta::MSE>(g_device, sgd, g_acc, theta.span(), meta::AdaptMode::full_batch, 10, shot, at, full, eval) ==
        ta::Status::ok);
  theta.copy_to(g_net);
  CHECK(full[0] == eval(g_net));  // step 0 is θ itself
  CHECK(full[4] < full[0]);
  const std::uint32_t at_online[] = {0, 1, 4, 10, 32};
  CHECK(meta::adapt<ta::MSE>(g_device, sgd, g_acc, theta.span(), meta::AdaptMode::online, 10, shot, at_online, online,
                             eval) == ta::Status::ok);
  CHECK(online[0] == full[0]);
  CHECK(online[3] == online[4]);  // 10 shots: nothing happens after step 10
  CHECK(online[1] != online[0]);  // one shot, one step
}

TEST_CASE("batch Reptile device: stored samples, minibatch steps") {
  ta::Rng rng(5);
  g_net.init(rng);
  static meta::SampleBatch<ta::MSE, Net, 50> batch;
  SineTask task{3.0f, 1.0f};
  const std::uint32_t skipped = batch.fill(52, [&](std::size_t i, float* x) {
    x[0] = i == 7 ? kNaN : rng.uniform(-5.0f, 5.0f);
    return task(x[0]);
  });
  CHECK(skipped == 1);
  CHECK(batch.size == 50);
  ta::SGD<Net> sgd(0.02f);
  meta::Parameters<Net> theta;
  theta.copy_from(g_net);
  const meta::RoundResult r = meta::batch_round(g_device, sgd, g_acc, theta.span(), batch, 10, 5);
  CHECK(r.ok());
  CHECK(r.trained == 50);
}
