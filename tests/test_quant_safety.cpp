// int8 quantisation under hostile inputs (quant/): property tests over many
// seeded random networks and calibrations. Each quantize() must either
// return ok with an int8 model that follows its float model, or refuse with
// a QuantStatus and leave the Int8Network bit for bit as it was; the float
// network is never changed; a refused calibration sample changes no
// statistic; no forward runs before a successful quantize().
//
// The undefined behaviour these guard against (float -> int casts out of
// range) is caught by the build tinyadapt_quant_sanitized (tests/CMakeLists.txt,
// clang: -fsanitize=float-cast-overflow,undefined,address), which runs this file.
#include <tinyadapt/quant/quantize.hpp>
#include <tinyadapt/tinyadapt.hpp>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <vector>

#include "support/test.hpp"

namespace ta = tinyadapt;
namespace tq = ta::quant;

namespace {

// One Dense layer: its int8 error has a closed-form bound (dense_bound).
using D = ta::Sequential<ta::Input<12>, ta::Dense<5>>;
// Positively homogeneous networks (ReLU, max-pooling, linear layers): scaling
// the input and each layer scales every tensor, and int8 must follow.
using R = ta::Sequential<ta::Input<10>, ta::Dense<8>, ta::ReLU, ta::Dense<6>, ta::LeakyReLU<>, ta::Dense<3>>;
using C = ta::Sequential<ta::Input<7, 7, 1>, ta::Conv2D<3, 3>, ta::ReLU, ta::Conv2D<4, 3>, ta::MaxPool2D<2>,
                         ta::Flatten, ta::Dense<3>>;
// Table activations: checked for safety only.
using S = ta::Sequential<ta::Input<6, 6, 1>, ta::Conv2D<2, 3, 1, ta::Padding::same>, ta::Tanh, ta::Flatten,
                         ta::Dense<5>, ta::Sigmoid, ta::Dense<3>>;

// 10^e for e uniform in [lo, hi], with a random sign.
float log_uniform(ta::Rng& r, float lo, float hi) {
  const double v = std::pow(10.0, static_cast<double>(r.uniform(lo, hi)));
  const double c = v > FLT_MAX ? FLT_MAX : v;
  return static_cast<float>(r.below(2) ? c : -c);
}

// Bytes of an object, to prove it unchanged.
template <class T>
std::vector<unsigned char> bytes_of(const T& v) {
  std::vector<unsigned char> b(sizeof v);
  std::memcpy(b.data(), &v, sizeof v);
  return b;
}
template <class T>
bool same_bytes(const T& v, const std::vector<unsigned char>& b) {
  return std::memcmp(&v, b.data(), sizeof v) == 0;
}

bool known(tq::QuantStatus s) { return std::strcmp(tq::to_string(s), "unknown status") != 0; }

// Everything a trial needs for one network type (static: W3-sized objects
// do not belong on the stack).
template <class Net>
struct Bench {
  Net net;
  tq::Calibrator<Net> cal;
  ta::Int8Network<Net> q;
  std::vector<std::vector<float>> samples;  // the normal calibration samples
};

// Observes x; a refused sample must leave the statistics bit for bit.
template <class Net>
tq::QuantStatus observe_checked(Bench<Net>& b, const float* x) {
  const auto before = bytes_of(b.cal.statistics());
  const tq::QuantStatus s = b.cal.observe(b.net, x);
  if (s != tq::QuantStatus::ok) CHECK(same_bytes(b.cal.statistics(), before));
  return s;
}

// Quantises, checking the contract: the float network unchanged; on error a
// known code and the int8 network unchanged; on success a ready network.
template <class Net>
tq::QuantStatus quantize_checked(Bench<Net>& b, float percentile) {
  const auto net_before = bytes_of(b.net);
  const auto q_before = bytes_of(b.q);
  const tq::QuantStatus s = tq::quantize(b.net, b.cal, b.q, tq::QuantOptions{percentile});
  CHECK(same_bytes(b.net, net_before));
  CHECK(known(s));
  if (s != tq::QuantStatus::ok)
    CHECK(same_bytes(b.q, q_before));
  else
    CHECK(b.q.ready());
  return s;
}

// Largest |int8 - float| over the normal samples, in output steps.
template <class Net>
double worst_steps(Bench<Net>& b) {
  double worst = 0.0;
  float y[Net::output_size] = {};
  for (const auto& x : b.samples) {
    const float* f = b.net.forward(x.data());
    std::vector<float> fy(f, f + Net::output_size);
    if (b.q.forward(x.data(), y) != tq::QuantStatus::ok) return 1e30;
    for (std::size_t k = 0; k < Net::output_size; ++k) {
      const double e = std::fabs(static_cast<double>(y[k]) - fy[k]) / b.q.output_quant().scale;
      worst = e > worst || !(e == e) ? e : worst;
    }
  }
  return worst;
}

// Calibrates on n samples in [0, input_scale) plus, if outlier > 0, one more
// scaled by outlier; the normal samples are kept for evaluation.
template <class Net>
void calibrate(Bench<Net>& b, ta::Rng& r, int n, float input_scale, float outlier) {
  b.cal.reset();
  b.samples.clear();
  const int pick = static_cast<int>(r.below(static_cast<std::uint32_t>(n)));  // drawn always: same samples either way
  const int at = outlier > 0.0f ? pick : -1;
  for (int i = 0; i < n; ++i) {
    std::vector<float> x(Net::input_size);
    for (float& v : x) v = r.uniform(0.0f, 1.0f) * input_scale;
    if (i == at) {
      std::vector<float> o = x;
      for (float& v : o) v *= outlier;
      observe_checked(b, o.data());
    }
    if (observe_checked(b, x.data()) == tq::QuantStatus::ok) b.samples.push_back(x);
  }
}

// Multiplies the weights of every weighted layer by c_I and its bias by the
// product of the input scale and all c so far: each tensor of a positively
// homogeneous network is then scaled by that product. False (network left
// as scaled so far) if a product leaves [1e-28, 1e28].
template <class Net, std::size_t... I>
bool scale_layers(Net& net, ta::Rng& r, float input_scale, std::index_sequence<I...>) {
  double product = input_scale;
  bool ok = true;
  (
      [&] {
        using L = typename Net::template layer<I>;
        if constexpr (L::weight_count > 0) {
          const double c = std::fabs(log_uniform(r, -10.0f, 10.0f));
          product *= c;
          ok = ok && product > 1e-28 && product < 1e28;
          auto p = net.template layer_parameters<I>();
          for (std::size_t k = 0; k < L::weight_count; ++k) p[k] = static_cast<float>(p[k] * c);
          for (std::size_t k = L::weight_count; k < p.size(); ++k) p[k] = static_cast<float>(p[k] * product);
        }
      }(),
      ...);
  return ok;
}

// Hostile parameters: each multiplied by 10^U(-45, 38.5) (so from denormal
// to FLT_MAX), or a few set to FLT_MAX, -FLT_MAX, the smallest denormal, 0.
template <class Net>
void hostile_parameters(Net& net, ta::Rng& r) {
  auto p = net.parameters();
  if (r.below(2)) {
    for (float& v : p) v = log_uniform(r, -45.0f, 38.5f);
  } else {
    const float special[] = {FLT_MAX, -FLT_MAX, 1.4e-45f, -1.4e-45f, 0.0f, 1e30f, -1e-30f};
    for (int k = 0; k < 4; ++k) p[r.below(static_cast<std::uint32_t>(p.size()))] = special[r.below(7)];
  }
}

// The closed-form error bound of the one-Dense network D, per output, from
// the quantised network's own scales and multipliers (s_w = M s_out / (s_in 2^24)
// is the weight scale the kernel applies): output rounding, the start value's
// rounding, input rounding through the weights, and weight rounding (half a
// step plus the multiplier's rounding, relative 1 / M) through the inputs.
// Every output must be within it of the float output clamped to the output range.
bool dense_within_bound(Bench<D>& b, double& worst_ratio) {
  using P = ta::kernels::int8::Packing<5, 12, 4>;
  const auto& qi = b.q.input_quant();
  const auto& qo = b.q.output_quant();
  const double s_in = qi.scale, s_out = qo.scale;
  const float* w = b.net.parameters().data();
  const std::uint32_t* packed = b.q.layer_parameters<0>();
  bool ok = true;
  for (const auto& x : b.samples) {
    float y[5] = {};
    if (b.q.forward(x.data(), y) != tq::QuantStatus::ok) return false;
    for (std::size_t r = 0; r < 5; ++r) {
      const double mult = packed[P::mult_word(r)];
      const double s_w = mult * s_out / (s_in * 16777216.0);
      double ref = w[60 + r], bound = 2.0 * s_out + 0.5 * s_out * mult / 16777216.0 + 1e-5 * std::fabs(ref);
      for (std::size_t i = 0; i < 12; ++i) {
        const double wi = std::fabs(static_cast<double>(w[r * 12 + i])), xi = std::fabs(static_cast<double>(x[i]));
        const double e_w = 1.5 * s_w + wi / mult;
        ref += static_cast<double>(w[r * 12 + i]) * x[i];
        bound += (wi + e_w) * s_in / 2.0 + e_w * xi + 1e-5 * wi * xi;
      }
      const double lo = s_out * (-128 - qo.zero_point), hi = s_out * (127 - qo.zero_point);
      const double clamped = ref < lo ? lo : (ref > hi ? hi : ref);
      const double err = std::fabs(static_cast<double>(y[r]) - clamped);
      worst_ratio = std::fmax(worst_ratio, err / bound);
      ok = ok && err <= bound;
    }
  }
  return ok;
}

struct Tally {
  int trials = 0, ok = 0, refused = 0;
  int by_code[16] = {};
  void add(tq::QuantStatus s) {
    ++trials;
    ++(s == tq::QuantStatus::ok ? ok : refused);
    ++by_code[static_cast<int>(s) & 15];
  }
  void print(const char* what) const {
    std::printf("%s: %d trials, %d ok, %d refused (", what, trials, ok, refused);
    for (int c = 1; c < 16; ++c)
      if (by_code[c]) std::printf(" %s: %d;", tq::to_string(static_cast<tq::QuantStatus>(c)), by_code[c]);
    std::printf(" )\n");
  }
};

// Scaled homogeneous networks: every tensor scaled by up to 1e28 either way,
// sometimes one outlier calibration sample. The ranges stay representable, so
// quantize() must succeed (but see the outlier case below), and the int8
// model follow the float one to 5% of the output range on the normal samples
// (as in test_quant.cpp).
template <class Net>
void scaled_networks(int trials, std::uint64_t seed, const char* name) {
  static Bench<Net> b;
  ta::Rng r(seed);
  Tally tally;
  double worst = 0.0;
  for (int t = 0; t < trials; ++t) {
    b.net.init(r, ta::Init::he_uniform);
    const float input_scale = std::fabs(log_uniform(r, -12.0f, 12.0f));
    if (!scale_layers(b.net, r, input_scale, std::make_index_sequence<Net::layer_count>{})) continue;
    const float outlier = r.below(3) == 0 ? 1e6f : 0.0f;
    calibrate(b, r, 30, input_scale, outlier);
    REQUIRE(b.samples.size() == 30);
    for (float pct : {100.0f, 90.0f}) {
      const tq::QuantStatus s = quantize_checked(b, pct);
      tally.add(s);
      // Min/max with the outlier may stretch an input range until one input
      // step times a weight exceeds 128 output steps: then the model cannot
      // follow its float one, and refusing it is right.
      if (outlier > 0.0f && pct == 100.0f)
        CHECK((s == tq::QuantStatus::ok || s == tq::QuantStatus::multiplier_range));
      else
        CHECK(s == tq::QuantStatus::ok);
      if (s != tq::QuantStatus::ok || pct < 100.0f) continue;  // percentile clips some samples on purpose
      const double e = worst_steps(b);
      worst = std::fmax(worst, e);
      CHECK(e < 12.75);
    }
  }
  tally.print(name);
  std::printf("  worst int8 error (min/max ranges): %.2f output steps\n", worst);
  CHECK(tally.trials >= trials);  // few scale draws fall outside [1e-28, 1e28]
}

// Hostile parameters and calibrations on any network: quantize() either
// succeeds with finite outputs or refuses cleanly; then one NaN/Inf
// parameter must be refused as non_finite_parameters with q unchanged.
template <class Net>
void hostile_networks(int trials, std::uint64_t seed, const char* name,
                      const std::function<void(Bench<Net>&, double&)>& extra = {}) {
  static Bench<Net> b;
  ta::Rng r(seed);
  Tally tally;
  double worst_ratio = 0.0;
  for (int t = 0; t < trials; ++t) {
    b.net.init(r);
    hostile_parameters(b.net, r);
    const float input_scale = r.below(2) ? 1.0f : std::fabs(log_uniform(r, -40.0f, 38.0f));
    calibrate(b, r, 20, input_scale, r.below(4) == 0 ? 1e6f : 0.0f);
    for (float pct : {100.0f, 95.0f}) {
      const tq::QuantStatus s = quantize_checked(b, pct);
      if (b.cal.samples() == 0) CHECK(s == tq::QuantStatus::no_samples);
      tally.add(s);
      if (s == tq::QuantStatus::ok && !b.samples.empty()) {
        float y[Net::output_size] = {};
        CHECK(b.q.forward(b.samples[0].data(), y) == tq::QuantStatus::ok);
        bool finite = true;
        for (float v : y) finite = finite && std::isfinite(v);
        CHECK(finite);
        if (extra && pct == 100.0f) extra(b, worst_ratio);
      }
    }
    // The float model broken: refused whatever the calibration says.
    auto p = b.net.parameters();
    const float bad[] = {NAN, INFINITY, -INFINITY};
    p[r.below(static_cast<std::uint32_t>(p.size()))] = bad[r.below(3)];
    if (b.cal.samples() > 0) CHECK(quantize_checked(b, 100.0f) == tq::QuantStatus::non_finite_parameters);
  }
  tally.print(name);
  if (extra) std::printf("  worst error / closed-form bound: %.3f\n", worst_ratio);
  CHECK(tally.ok >= tally.trials / 10);  // refusing everything would not pass
}

}  // namespace

TEST_CASE("int8 networks refuse to run before a successful quantize()") {
  static Bench<R> b;
  float x[10] = {}, y[3] = {1.0f, 2.0f, 3.0f};
  std::int8_t xq[10] = {};
  CHECK(b.q.forward(x, y) == tq::QuantStatus::not_quantized);
  CHECK(b.q.forward_int8(xq) == tq::QuantStatus::not_quantized);
  CHECK(b.q.run() == tq::QuantStatus::not_quantized);
  CHECK(y[0] == 1.0f);
  // A refused quantize() keeps it that way.
  CHECK(quantize_checked(b, 100.0f) == tq::QuantStatus::no_samples);
  CHECK(quantize_checked(b, 0.0f) == tq::QuantStatus::invalid_option);
  CHECK(quantize_checked(b, NAN) == tq::QuantStatus::invalid_option);
  CHECK(quantize_checked(b, 100.5f) == tq::QuantStatus::invalid_option);
  CHECK(b.q.forward(x, y) == tq::QuantStatus::not_quantized);

  ta::Rng r(5);
  b.net.init(r);
  calibrate(b, r, 10, 1.0f, 0.0f);
  REQUIRE(quantize_checked(b, 100.0f) == tq::QuantStatus::ok);
  CHECK(b.q.forward(b.samples[0].data(), y) == tq::QuantStatus::ok);
  CHECK(b.q.forward_int8(xq) == tq::QuantStatus::ok);
  // Non-finite input: refused, outputs and output() as they were.
  const float y0 = y[0];
  const std::int8_t o0 = b.q.output()[0];
  for (float bad : {NAN, INFINITY, -INFINITY}) {
    x[3] = bad;
    CHECK(b.q.forward(x, y) == tq::QuantStatus::non_finite_input);
    CHECK(y[0] == y0);
    CHECK(b.q.output()[0] == o0);
  }
  // Finite but huge inputs saturate (a defined clamp before the cast).
  for (float& v : x) v = FLT_MAX;
  CHECK(b.q.forward(x, y) == tq::QuantStatus::ok);
  for (float& v : x) v = -FLT_MAX;
  CHECK(b.q.forward(x, y) == tq::QuantStatus::ok);
}

TEST_CASE("int8 calibration refuses non-finite samples and leaves its statistics as they were") {
  static Bench<C> b;
  ta::Rng r(8);
  b.net.init(r);
  for (float& w : b.net.template layer_parameters<0>()) w = 1.0f;  // FLT_MAX inputs then overflow conv1
  calibrate(b, r, 5, 1.0f, 0.0f);
  for (int t = 0; t < 200; ++t) {
    std::vector<float> x(C::input_size);
    for (float& v : x) v = r.uniform(0.0f, 1.0f);
    const float bad[] = {NAN, INFINITY, -INFINITY};
    const int kind = static_cast<int>(r.below(3));
    if (kind < 2) x[r.below(C::input_size)] = bad[r.below(3)];
    if (kind == 2)
      for (float& v : x) v = FLT_MAX;  // finite, but the activations overflow
    const auto before = bytes_of(b.cal.statistics());
    CHECK(b.cal.observe(b.net, x.data()) == tq::QuantStatus::non_finite_sample);
    CHECK(same_bytes(b.cal.statistics(), before));
  }
  CHECK(b.cal.samples() == 5);
}

TEST_CASE("int8 percentile ranges drop the most extreme samples, exactly") {
  // The input tensor's range against a sort of the per-sample extremes.
  using N = ta::Sequential<ta::Input<3>, ta::Dense<2>>;
  static N net;
  static tq::Calibrator<N, 4> cal;
  ta::Rng r(12);
  net.init(r);
  for (int n : {1, 2, 3, 5, 10, 30, 99, 100, 250}) {
    cal.reset();
    std::vector<float> maxima, minima;
    for (int i = 0; i < n; ++i) {
      float x[3];
      for (float& v : x) v = log_uniform(r, -3.0f, 3.0f);
      REQUIRE(cal.observe(net, x) == tq::QuantStatus::ok);
      maxima.push_back(*std::max_element(x, x + 3));
      minima.push_back(*std::min_element(x, x + 3));
    }
    std::sort(maxima.rbegin(), maxima.rend());
    std::sort(minima.begin(), minima.end());
    for (float p : {100.0f, 99.9f, 99.0f, 98.0f, 90.0f, 50.0f, 1.0f}) {
      const std::size_t drop = std::min<std::size_t>(
          {static_cast<std::size_t>(std::floor(n * (100.0 - p) / 100.0 + 1e-9)), 3, static_cast<std::size_t>(n - 1)});
      const tq::Range range = cal.range(0, p);
      CHECK(range.hi == maxima[drop]);
      CHECK(range.lo == minima[drop]);
    }
  }
}

TEST_CASE("int8 percentile calibration ignores one outlier sample, min/max does not") {
  static Bench<R> b;
  ta::Rng r(21);
  b.net.init(r, ta::Init::he_uniform);
  for (float outlier : {0.0f, 1e6f}) {
    ta::Rng data(4);  // the same normal samples both times
    calibrate(b, data, 100, 1.0f, outlier);
    REQUIRE(quantize_checked(b, 99.0f) == tq::QuantStatus::ok);
    const double robust = worst_steps(b);
    const float robust_scale = b.q.input_quant().scale;
    REQUIRE(quantize_checked(b, 100.0f) == tq::QuantStatus::ok);
    std::printf("outlier x%g: input scale min/max %g, percentile 99 %g; worst error on the normal samples in "
                "output steps: percentile 99 %.2f\n",
                static_cast<double>(outlier), static_cast<double>(b.q.input_quant().scale),
                static_cast<double>(robust_scale), robust);
    CHECK(robust_scale < 1.0f / 200.0f);  // the normal inputs are in [0, 1)
    if (outlier > 0.0f) CHECK(b.q.input_quant().scale > 1e5f / 255.0f);
    CHECK(robust < 25.5);  // clipped samples included: 10% of the output range
  }
}

TEST_CASE("int8 property: scaled homogeneous networks quantise and follow their float networks") {
  scaled_networks<R>(150, 101, "scaled dense");
  scaled_networks<C>(100, 102, "scaled conv");
}

TEST_CASE("int8 property: hostile networks are quantised within bounds or refused unchanged") {
  hostile_networks<D>(300, 201, "hostile one-Dense", [](Bench<D>& b, double& worst) {
    CHECK(dense_within_bound(b, worst));
  });
  hostile_networks<R>(200, 202, "hostile dense");
  hostile_networks<C>(150, 203, "hostile conv");
  hostile_networks<S>(150, 204, "hostile tables");
}
