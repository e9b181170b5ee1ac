// The step invariant, proven on many hostile cases rather than a few examples:
// an ok step leaves parameters and optimizer state finite, any other status
// leaves them bit-identical; NaN propagates through every layer; one hostile
// sample never bricks the model. Runs on the host (also built with
// -ffast-math) and on the Cortex-M4.
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include <tinyadapt/tinyadapt.hpp>

#include "support/test.hpp"

namespace ta = tinyadapt;

#if defined(TINYADAPT_ON_TARGET)
#define NOTE(x) ((void)0)
#else
#define NOTE(x) MESSAGE(x)
#endif

namespace {

using W1 = ta::Sequential<ta::Input<1>, ta::Dense<64>, ta::Tanh, ta::Dense<64>, ta::Tanh, ta::Dense<1>>;
using W2 = ta::Sequential<ta::Input<64>, ta::Dense<32>, ta::ReLU, ta::Dense<10>>;
// A small image network with every kind of layer between its trainable ones.
using Tiny = ta::Sequential<ta::Input<2>, ta::Dense<1>>;
using C1 = ta::Sequential<ta::Input<8, 8, 1>, ta::Conv2D<4, 3>, ta::ReLU, ta::MaxPool2D<2>, ta::Conv2D<4, 2>,
                          ta::Sigmoid, ta::Flatten, ta::Dense<3>>;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// Raw float bits from the generator: every class of value, NaN and Inf included.
float hostile(ta::Rng& rng) {
  switch (rng.below(8)) {
    case 0: return kNaN;
    case 1: return rng.below(2) ? kInf : -kInf;
    case 2: {  // any bit pattern
      const std::uint32_t bits = rng.next_u32();
      float f;
      std::memcpy(&f, &bits, sizeof f);
      return f;
    }
    case 3: return (rng.below(2) ? 1.0f : -1.0f) * 3.0e38f;
    case 4: return rng.uniform(-1.0f, 1.0f) * 1e20f;
    case 5: return rng.uniform(-1.0f, 1.0f) * 1e-39f;  // denormal
    default: return rng.uniform(-2.0f, 2.0f);           // ordinary
  }
}

template <class T>
bool same_bytes(const T& a, const T& b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

template <class Net>
bool params_finite(const Net& net) {
  const auto p = net.parameters();
  return ta::all_finite(p.data(), p.size());
}

template <class Opt>
bool state_finite(const Opt&) {
  return true;
}
template <class Net>
bool state_finite(const ta::SGDMomentum<Net>& o) {
  return ta::all_finite(o.velocity().data(), o.velocity().size());
}
template <class Net>
bool state_finite(const ta::Adam<Net>& o) {
  return ta::all_finite(o.first_moment().data(), o.first_moment().size()) &&
         ta::all_finite(o.second_moment().data(), o.second_moment().size());
}

template <class Loss>
struct Target;
template <>
struct Target<ta::MSE> {
  float t[1] = {};
  const float* get(ta::Rng& rng, bool bad) {
    t[0] = bad ? hostile(rng) : rng.uniform(-1.0f, 1.0f);
    return t;
  }
};
template <>
struct Target<ta::SoftmaxCrossEntropy> {
  unsigned get(ta::Rng& rng, bool bad) { return bad ? rng.below(16) : rng.below(3); }
};

// Shared by the test cases (the on-target suite has 256 KB of RAM for all).
W2 g_net, g_before, g_copy;
ta::Adam<W2> g_adam;
ta::GradientAccumulator<W2> g_acc;

struct Counts {
  unsigned ok = 0, refused = 0;
};

// Hostile steps (inputs, targets, learning rates, a few hostile weights)
// through train_step and the accumulator, checking the invariant after each.
template <class Loss, class Net, class Opt>
Counts hostile_steps(Net& net, Opt& opt, std::uint64_t seed, unsigned steps) {
  static Opt before_opt;
  static Net before_net;
  static ta::GradientAccumulator<Net> acc, before_acc;
  Target<Loss> target;
  ta::Rng rng(seed);
  Counts c;
  float x[Net::input_size];
  for (unsigned s = 0; s < steps; ++s) {
    const bool bad_x = rng.below(3) == 0, bad_t = rng.below(4) == 0;
    for (float& v : x) v = bad_x && rng.below(4) == 0 ? hostile(rng) : rng.uniform(-1.0f, 1.0f);
    if (rng.below(6) == 0) opt.lr = hostile(rng);
    else opt.lr = rng.uniform(0.0f, 0.05f);
    if (rng.below(50) == 0) net.parameters()[rng.below(Net::param_count)] = hostile(rng);
    before_net = net;
    before_opt = opt;
    const auto tg = target.get(rng, bad_t);
    ta::Status st;
    if (rng.below(3) == 0) {  // a mini-batch of two
      before_acc = acc;
      st = acc.template add<Loss>(net, x, tg).status;
      if (st != ta::Status::ok) {
        CHECK(same_bytes(acc, before_acc));
      } else {
        CHECK(ta::all_finite(acc.gradient(), Net::trainable_count));
        (void)acc.template add<Loss>(net, x, target.get(rng, false));
        st = acc.apply(net, opt);
      }
    } else {
      st = ta::train_step<Loss>(net, opt, x, tg).status;
    }
    if (st == ta::Status::ok) {
      ++c.ok;
      CHECK(params_finite(net));
      CHECK(state_finite(opt));
    } else {
      ++c.refused;
      const auto a = net.parameters(), b = before_net.parameters();
      CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
      CHECK(same_bytes(opt, before_opt));
    }
    if (!params_finite(net) || ta::check_health(net) != ta::Status::ok) {  // start again from a healthy model
      ta::Rng init(seed + s);
      net.init(init);
      opt.reset();
    }
  }
  return c;
}

template <class Loss, class Net>
void invariant_for_all_optimizers(std::uint64_t seed, unsigned steps) {
  static Net net;
  ta::Rng rng(seed);
  net.init(rng);
  static ta::SGD<Net> sgd;
  static ta::SGDMomentum<Net> mom(0.01f, 0.9f, true, 1e-3f);
  static ta::Adam<Net> adam(1e-3f, 0.9f, 0.999f, 1e-8f, 1e-4f);
  const Counts a = hostile_steps<Loss>(net, sgd, seed + 1, steps);
  const Counts b = hostile_steps<Loss>(net, mom, seed + 2, steps);
  const Counts c = hostile_steps<Loss>(net, adam, seed + 3, steps);
  NOTE("ok/refused steps: SGD " << a.ok << "/" << a.refused << ", momentum " << b.ok << "/" << b.refused << ", Adam "
                                << c.ok << "/" << c.refused);
  // Both outcomes were exercised, or the test proves nothing.
  CHECK(a.ok > steps / 10);
  CHECK(a.refused > steps / 10);
  CHECK(b.ok > steps / 10);
  CHECK(b.refused > steps / 10);
  CHECK(c.ok > steps / 10);
  CHECK(c.refused > steps / 10);
}

}  // namespace

TEST_CASE("invariant: ok leaves finite weights and state, an error leaves them bit-identical") {
  invariant_for_all_optimizers<ta::SoftmaxCrossEntropy, C1>(300, 300);
#if !defined(TINYADAPT_ON_TARGET)  // W1 and W2 with every optimizer need more than 256 KB at once
  invariant_for_all_optimizers<ta::MSE, W1>(100, 300);
  invariant_for_all_optimizers<ta::SoftmaxCrossEntropy, W2>(200, 300);
#endif
}

namespace {
// Trains W2 on a fixed separable task; returns the training accuracy.
template <class Opt>
float train_clean(W2& net, Opt& opt, unsigned steps, std::uint64_t seed) {
  ta::Rng rng(seed);
  float x[64];
  unsigned right = 0, counted = 0;
  for (unsigned s = 0; s < steps; ++s) {
    const unsigned label = rng.below(10);
    for (std::size_t i = 0; i < 64; ++i) x[i] = (i % 10 == label ? 1.0f : 0.0f) + rng.uniform(-0.2f, 0.2f);
    const ta::Prediction p = ta::predict(net, x);
    const ta::StepResult r = ta::train_step<ta::SoftmaxCrossEntropy>(net, opt, x, label);
    CHECK(r.ok());
    if (s >= steps / 2) {
      ++counted;
      right += p.ok() && p.label == label ? 1u : 0u;
    }
  }
  return static_cast<float>(right) / static_cast<float>(counted);
}

template <class Opt>
void glitch_does_not_brick(Opt& o, float lr, const char* name) {
  W2& net = g_net;
  const float glitches[] = {1e24f, -1e24f, 1e18f, 3e38f, 1e9f};
  for (float g : glitches) {
    ta::Rng rng(7);
    net.init(rng);
    o.reset();
    o.lr = lr;
    CHECK(train_clean(net, o, 400, 1) > 0.9f);
    float x[64] = {};
    x[5] = g;  // one feature of one sample glitches
    const ta::StepResult r = ta::train_step<ta::SoftmaxCrossEntropy>(net, o, x, 3u);
    CHECK(params_finite(net));
    // Refused or clipped: either way clean training goes on and recovers.
    const float acc = train_clean(net, o, 600, 2);
    if (!(acc > 0.9f)) NOTE(name << ": glitch " << g << " status " << ta::to_string(r.status) << " accuracy " << acc);
    (void)r;
    (void)name;
    CHECK(acc > 0.9f);
    CHECK(ta::check_health(net) == ta::Status::ok);
  }
}
}  // namespace

TEST_CASE("one glitching sample never bricks the model") {
  static ta::SGD<W2> sgd;
  glitch_does_not_brick(sgd, 0.05f, "SGD");
  static ta::SGDMomentum<W2> mom;
  glitch_does_not_brick(mom, 0.02f, "momentum");
  glitch_does_not_brick(g_adam, 0.005f, "Adam");
}

namespace {
// Parameters of W2 that 10 clean Adam steps move, after 100 clean steps and,
// optionally, one sample of features 1e15.
std::size_t moved_by_adam(bool glitch, float max_norm, bool& glitch_ok) {
  W2 &net = g_net, &before = g_before;
  ta::Rng rng(11);
  net.init(rng);
  ta::Adam<W2>& adam = g_adam;
  adam.reset();
  adam.lr = 1e-3f;
  adam.max_grad_norm = max_norm;
  float x[64];
  for (unsigned s = 0; s < 110; ++s) {
    if (s == 100 && glitch) {
      float huge[64];
      for (float& v : huge) v = 1e15f;
      glitch_ok = ta::train_step<ta::SoftmaxCrossEntropy>(net, adam, huge, 2u).ok();
      CHECK(state_finite(adam));
      CHECK(params_finite(net));
    }
    if (s == 100) before = net;
    for (std::size_t i = 0; i < 64; ++i) x[i] = rng.uniform(0.0f, 1.0f);
    CHECK(ta::train_step<ta::SoftmaxCrossEntropy>(net, adam, x, s % 10).ok());
  }
  std::size_t moved = 0;
  for (std::size_t i = 0; i < W2::param_count; ++i) moved += net.parameters()[i] != before.parameters()[i] ? 1u : 0u;
  return moved;
}
}  // namespace

TEST_CASE("Adam: a huge gradient freezes no parameter, the step counter cannot wrap") {
  bool accepted = false;
  const std::size_t control = moved_by_adam(false, ta::default_max_grad_norm, accepted);
  const std::size_t after = moved_by_adam(true, ta::default_max_grad_norm, accepted);
  NOTE("Adam, parameters moving in 10 steps: " << control << " without, " << after << " after a 1e15 sample (accepted: "
                                                << accepted << ")");
  CHECK(after >= control * 9 / 10);
  // Without clipping the moment bounds alone keep the state finite (so v decays).
  (void)moved_by_adam(true, kInf, accepted);

  W2& net = g_net;
  ta::Rng rng(12);
  net.init(rng);
  ta::Adam<W2>& adam = g_adam;
  adam.reset();
  adam.max_grad_norm = ta::default_max_grad_norm;
  adam.set_steps(UINT32_MAX - 1);
  const float x[64] = {0.5f};
  for (unsigned s = 0; s < 3; ++s) CHECK(ta::train_step<ta::SoftmaxCrossEntropy>(net, adam, x, 1u).ok());
  CHECK(adam.steps() == UINT32_MAX);
  CHECK(params_finite(net));
  CHECK(state_finite(adam));
}

TEST_CASE("NaN propagates through every layer and is blamed on the model") {
  CHECK(ta::is_nan(ta::tanh_fast(kNaN)));
  CHECK(ta::is_nan(ta::exp_nonneg(kNaN)));
  CHECK(ta::tanh_fast(kInf) == 1.0f);
  float y[8];
  ta::detail::SigmoidFn sig;
  CHECK(ta::is_nan(sig.f(kNaN)));
  // An infinite pre-activation is an overflow upstream: not hidden by saturation.
  CHECK(ta::is_nan(sig.f(kInf)));
  CHECK(ta::is_nan(sig.f(-kInf)));
  CHECK(ta::is_nan(ta::detail::TanhFn::f(kInf)));
  CHECK(ta::detail::TanhFn::f(3e38f) == 1.0f);
  for (std::size_t pos = 0; pos < 4; ++pos) {  // a NaN anywhere in a max-pool window
    using Pool = ta::MaxPool2D<2>::bind<ta::Shape<2, 2, 1>>;
    float in[4] = {1.0f, 2.0f, 3.0f, 4.0f};
    in[pos] = kNaN;
    unsigned char arg[1];
    Pool{}.forward(nullptr, in, y, arg);
    CHECK(ta::is_nan(y[0]));
  }
  {
    using Relu = ta::ReLU::bind<ta::Shape<8>>;
    float in[8] = {1, -1, 2, -2, kNaN, 3, -3, 0};
    unsigned char mask[1];
    Relu{}.forward(nullptr, in, y, mask);
    CHECK(ta::is_nan(y[4]));
    CHECK(y[1] == 0.0f);
  }
  // One NaN weight behind a Tanh: the step is refused and the model blamed.
  static W1 net;  // NOLINT: one W1 for this case
  ta::Rng rng(3);
  net.init(rng);
  net.parameters()[200] = kNaN;  // a weight of the second layer
  static ta::SGD<W1> sgd(0.01f);
  const float x[1] = {0.5f}, t[1] = {0.1f};
  CHECK(ta::train_step<ta::MSE>(net, sgd, x, t).status == ta::Status::non_finite_model);
  CHECK(ta::predict(net, x).status == ta::Status::non_finite_model);
  CHECK(ta::check_health(net) == ta::Status::non_finite_model);
  CHECK(ta::is_model_error(ta::Status::non_finite_model));
  // An Inf weight behind a Tanh saturates it (tanh(Inf) = 1) unless caught.
  net.init(rng);
  net.parameters()[0] = kInf;
  CHECK(ta::train_step<ta::MSE>(net, sgd, x, t).status == ta::Status::non_finite_model);
}

TEST_CASE("a diverged model is told apart from a bad sample, and restored") {
  W2& net = g_net;
  ta::Rng rng(5);
  net.init(rng);
  static ta::SGD<W2> sgd(0.05f);
  static ta::LastGood<W2, ta::SGD<W2>> good;
  CHECK(good.save(net, sgd) == ta::Status::ok);
  static_assert(ta::LastGood<W2, ta::SGD<W2>>::memory().total() == sizeof(ta::LastGood<W2, ta::SGD<W2>>));
  // Finite but enormous weights: every output overflows, whatever the input.
  for (std::size_t i = 0; i < 64 * 32; ++i) net.parameters()[i] = 3e37f;
  for (std::size_t i = 64 * 32 + 32; i < 64 * 32 + 32 + 320; ++i) net.parameters()[i] = 3e37f;
  for (std::size_t i = 64 * 32; i < 64 * 32 + 32; ++i) net.parameters()[i] = 1.0f;  // biases: the zero probe overflows too
  float x[64];
  for (float& v : x) v = 0.5f;
  const ta::StepResult r = ta::train_step<ta::SoftmaxCrossEntropy>(net, sgd, x, 1u);
  CHECK(r.status == ta::Status::model_diverged);
  CHECK(ta::is_model_error(r.status));
  CHECK(good.restore(net, sgd));
  CHECK(ta::check_health(net) == ta::Status::ok);
  CHECK(ta::train_step<ta::SoftmaxCrossEntropy>(net, sgd, x, 1u).ok());
  // A broken model is never saved over a good copy.
  net.parameters()[0] = kNaN;
  CHECK(good.save(net, sgd) == ta::Status::non_finite_model);
  CHECK(good.restore(net));
  CHECK(params_finite(net));
}

TEST_CASE("hyper-parameters are validated and nothing changes when they are bad") {
  W2 &net = g_net, &before = g_before;
  ta::Rng rng(6);
  net.init(rng);
  before = net;
  float x[64] = {};
  const float bad_rates[] = {kNaN, kInf, -0.1f};
  for (float lr : bad_rates) {
    ta::SGD<W2> sgd(lr);
    CHECK(sgd.check() == ta::Status::bad_hyperparameter);
    CHECK(ta::train_step<ta::SoftmaxCrossEntropy>(net, sgd, x, 1u).status == ta::Status::bad_hyperparameter);
  }
  CHECK(ta::SGD<W2>(0.1f, 0.0f).check() == ta::Status::bad_hyperparameter);   // clip norm 0
  CHECK(ta::SGD<W2>(0.1f, kNaN).check() == ta::Status::bad_hyperparameter);   // clip norm NaN
  CHECK(ta::SGD<W2>(0.1f, kInf).check() == ta::Status::ok);                   // no clipping
  CHECK(ta::SGDMomentum<Tiny>(0.1f, 1.0f).check() == ta::Status::bad_hyperparameter);
  CHECK(ta::SGDMomentum<Tiny>(0.1f, 0.9f, false, -1.0f).check() == ta::Status::bad_hyperparameter);
  CHECK(ta::Adam<Tiny>(1e-3f, 0.9f, 0.999f, 0.0f).check() == ta::Status::bad_hyperparameter);  // eps 0
  CHECK(ta::Adam<Tiny>(1e-3f, 1.0f).check() == ta::Status::bad_hyperparameter);
  CHECK(ta::Adam<Tiny>(1e-3f, 0.9f, 1.5f).check() == ta::Status::bad_hyperparameter);
  ta::Adam<W2>& adam = g_adam;
  adam.reset();
  adam.eps = 0.0f;
  ta::GradientAccumulator<W2>& acc = g_acc;
  acc.clear();
  CHECK(acc.add<ta::SoftmaxCrossEntropy>(net, x, 1u).ok());
  CHECK(acc.apply(net, adam) == ta::Status::bad_hyperparameter);
  CHECK(acc.count() == 1);  // the batch is kept for a corrected optimizer
  const auto a = net.parameters(), b = before.parameters();
  CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

TEST_CASE("a network that was never initialised is refused") {
  static Tiny net;  // never initialised
  static ta::SGD<Tiny> sgd(0.1f);
  const float x[2] = {};
  const float t[1] = {1.0f};
  CHECK_FALSE(net.initialised());
  CHECK(ta::train_step<ta::MSE>(net, sgd, x, t).status == ta::Status::not_initialised);
  CHECK(ta::check_health(net) == ta::Status::not_initialised);
  net.parameters()[0] = 0.5f;  // setting weights counts
  CHECK(net.initialised());
  CHECK(ta::train_step<ta::MSE>(net, sgd, x, t).ok());
}

TEST_CASE("predict reports non-finite inputs instead of class 0") {
  W2& net = g_net;
  ta::Rng rng(8);
  net.init(rng);
  float x[64] = {};
  CHECK(ta::predict(net, x).ok());
  x[3] = kNaN;
  const ta::Prediction p = ta::predict(net, x);
  CHECK(p.status == ta::Status::non_finite_input);
  CHECK(p.label == W2::output_size);
  ta::Tensor<ta::Shape<8, 8>> t;
  CHECK(ta::predict(net, t).ok());
}

TEST_CASE("binary cross-entropy checks its domain; the logits form is finite everywhere") {
  using Net = ta::Sequential<ta::Input<2>, ta::Dense<1>>;  // no Sigmoid: outputs are not probabilities
  static Net net, before;
  ta::Rng rng(9);
  net.init(rng);
  before = net;
  static ta::SGD<Net> sgd(0.1f);
  const float x[2] = {10.0f, 10.0f};
  const float t_ok[1] = {1.0f}, t_bad[1] = {3.4e38f};
  net.parameters()[0] = net.parameters()[1] = 1.0f;  // output 20 + b: outside [0, 1]
  net.parameters()[2] = 0.0f;
  before = net;
  CHECK(ta::train_step<ta::BinaryCrossEntropy>(net, sgd, x, t_ok).status == ta::Status::out_of_domain);
  CHECK(ta::train_step<ta::BinaryCrossEntropy>(net, sgd, x, t_bad).status == ta::Status::out_of_domain);
  CHECK(ta::train_step<ta::BinaryCrossEntropyWithLogits>(net, sgd, x, t_bad).status == ta::Status::out_of_domain);
  const auto a = net.parameters(), b = before.parameters();
  CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
  CHECK(ta::train_step<ta::BinaryCrossEntropyWithLogits>(net, sgd, x, t_ok).ok());
  // Values and gradient against the formula, at ordinary and extreme logits.
  const float zs[] = {-200.0f, -3.0f, 0.0f, 0.7f, 50.0f, 3e38f};
  for (float z : zs) {
    const float t[1] = {0.25f};
    float g[1];
    const float loss = ta::BinaryCrossEntropyWithLogits::value_and_grad(&z, t, g, 1);
    CHECK(ta::is_finite(loss));
    CHECK(ta::is_finite(g[0]));
    const double zd = z, p = 1.0 / (1.0 + std::exp(-zd));
    const double expect = zd > 30 ? zd * (1 - 0.25) : (zd < -30 ? -zd * 0.25 : -(0.25 * std::log(p) + 0.75 * std::log(1 - p)));
    CHECK(std::fabs(loss - expect) <= 1e-5 * (1 + std::fabs(expect)));
    CHECK(std::fabs(g[0] - (p - 0.25)) <= 1e-6);
  }
}

TEST_CASE("input range guard: reject or clip a glitching sensor") {
  W2 &net = g_net, &before = g_before;
  ta::Rng rng(10);
  net.init(rng);
  before = net;
  static ta::SGD<W2> sgd(0.1f);
  float x[64];
  for (float& v : x) v = 0.5f;
  x[7] = 250.0f;
  const ta::InputRange reject{0.0f, 1.0f, ta::InputRange::Mode::reject};
  CHECK(ta::train_step<ta::SoftmaxCrossEntropy>(net, sgd, x, 1u, reject).status == ta::Status::input_out_of_range);
  const auto a = net.parameters(), b = before.parameters();
  CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
  const ta::InputRange clip{0.0f, 1.0f, ta::InputRange::Mode::clip};
  CHECK(ta::train_step<ta::SoftmaxCrossEntropy>(net, sgd, x, 1u, clip).ok());
  // The clipped sample trains exactly like its clamped copy.
  W2& copy = g_copy;
  copy = before;
  static ta::SGD<W2> sgd2(0.1f);
  x[7] = 1.0f;
  CHECK(ta::train_step<ta::SoftmaxCrossEntropy>(copy, sgd2, x, 1u).ok());
  CHECK(std::memcmp(copy.parameters().data(), net.parameters().data(), a.size() * sizeof(float)) == 0);
  CHECK(ta::train_step<ta::SoftmaxCrossEntropy>(net, sgd, x, 1u, ta::InputRange{1.0f, 0.0f}).status ==
        ta::Status::bad_hyperparameter);
}

TEST_CASE("gradient norm clipping bounds how far one step moves a layer") {
  W2 &net = g_net, &before = g_before;
  ta::Rng rng(12);
  net.init(rng);
  before = net;
  static ta::SGD<W2> sgd(0.1f, 2.0f);  // clip each layer's gradient at norm 2
  float x[64];
  for (float& v : x) v = 50.0f;
  CHECK(ta::train_step<ta::SoftmaxCrossEntropy>(net, sgd, x, 4u).ok());
  // Layer 0 (64x32 + 32) and layer 2 (32x10 + 10): |Δ| <= lr * 2 each.
  const std::size_t ends[] = {64 * 32 + 32, W2::param_count};
  std::size_t start = 0;
  for (std::size_t end : ends) {
    double sq = 0.0;
    for (std::size_t i = start; i < end; ++i) {
      const double d = static_cast<double>(net.parameters()[i]) - before.parameters()[i];
      sq += d * d;
    }
    CHECK(std::sqrt(sq) <= 0.1 * 2.0 * (1 + 1e-4));
    CHECK(sq > 0.0);
    start = end;
  }
}
