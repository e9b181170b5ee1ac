// Robust aggregation (meta/robust.hpp, clip.hpp, adaptive_clip.hpp, round.hpp, robust_wire.hpp):
// known answers, permutation invariance, the breakdown property of median,
// trimmed mean and geometric median, and refusals that leave the round and θ
// bit-identical. Runs on the host (doctest) and on the Cortex-M4 (QEMU).
#include <tinyadapt/meta/adaptive_clip.hpp>
#include <tinyadapt/meta/robust.hpp>
#include <tinyadapt/meta/robust_wire.hpp>
#include <tinyadapt/tinyadapt.hpp>

#include <cmath>
#include <cstring>

#include "support/test.hpp"

namespace ta = tinyadapt;
namespace meta = tinyadapt::meta;
namespace io = tinyadapt::io;

namespace {

// 3 → 2: 8 parameters, small enough to write answers by hand.
using Tiny = ta::Sequential<ta::Input<3>, ta::Dense<2>>;
constexpr std::size_t P = Tiny::param_count;
static_assert(P == 8, "Dense<2> on 3 inputs: 6 weights, 2 biases");
constexpr std::size_t Max = 16;
using Round = meta::RobustRound<Tiny, Max>;
static_assert(Round::memory_bytes() >= (Max + 1) * P * 4 + Round::block * Max * 4, "the updates dominate");

Round g_round, g_other;  // static: a round is (Max + 1) × P floats and more

void fill(float* v, float value) {
  for (std::size_t i = 0; i < P; ++i) v[i] = value;
}
void random_update(ta::Rng& rng, float* v, float lo, float hi) {
  for (std::size_t i = 0; i < P; ++i) v[i] = rng.uniform(lo, hi);
}
meta::RobustConfig rule(meta::Robust r, std::uint32_t trim = 0, float clip = INFINITY) {
  meta::RobustConfig c;
  c.rule = r;
  c.trim = trim;
  c.clip_norm = clip;
  return c;
}
bool same_bits(ta::Span<const float> a, ta::Span<const float> b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}
// The round's guarded state: its committed updates and their devices.
bool same_round(const Round& a, const Round& b) {
  if (a.size() != b.size()) return false;
  for (std::uint32_t i = 0; i < a.size(); ++i)
    if (!same_bits(a.update(i), b.update(i)) || a.device(i) != b.device(i)) return false;
  return true;
}
void copy_round(const Round& from, Round& to) {
  to.clear();
  REQUIRE(to.configure(from.config()) == ta::Status::ok);
  for (std::uint32_t i = 0; i < from.size(); ++i) REQUIRE(to.add_delta(from.update(i), from.device(i)).ok());
}

}  // namespace

TEST_CASE("select_kth finds every order statistic, ties and all") {
  ta::Rng rng(7);
  float v[33], w[33], sorted[33];
  for (std::size_t n : {1u, 2u, 3u, 8u, 33u}) {
    for (std::size_t i = 0; i < n; ++i) sorted[i] = v[i] = static_cast<float>(rng.below(5)) - 2.0f;  // many ties
    for (std::size_t i = 1; i < n; ++i)  // insertion sort: the reference
      for (std::size_t j = i; j > 0 && sorted[j] < sorted[j - 1]; --j) {
        const float t = sorted[j];
        sorted[j] = sorted[j - 1];
        sorted[j - 1] = t;
      }
    for (std::size_t k = 0; k < n; ++k) {
      std::memcpy(w, v, sizeof v);
      CHECK(meta::detail::select_kth(w, n, k) == sorted[k]);
      bool partitioned = true;
      for (std::size_t i = 0; i < n; ++i) partitioned &= i < k ? w[i] <= w[k] : w[i] >= w[k];
      CHECK(partitioned);
    }
  }
}

TEST_CASE("known answers: mean, median (odd and even), trimmed mean, geometric median") {
  const float values[5] = {1.0f, 100.0f, 2.0f, -7.0f, 3.0f};
  float u[P];
  g_round.clear();
  for (std::uint32_t d = 0; d < 5; ++d) {
    fill(u, values[d]);
    u[0] = static_cast<float>(d);  // coordinate 0: 0 1 2 3 4
    REQUIRE(g_round.add_delta(u, 10 + d).ok());
  }
  REQUIRE(g_round.configure(rule(meta::Robust::median)) == ta::Status::ok);
  REQUIRE(g_round.aggregate() == ta::Status::ok);
  CHECK(g_round.result()[0] == 2.0f);
  CHECK(g_round.result()[5] == 2.0f);  // of 1 100 2 -7 3
  REQUIRE(g_round.configure(rule(meta::Robust::mean)) == ta::Status::ok);
  REQUIRE(g_round.aggregate() == ta::Status::ok);
  CHECK(std::fabs(g_round.result()[5] - 99.0f / 5.0f) < 1e-5f);
  REQUIRE(g_round.configure(rule(meta::Robust::trimmed_mean, 1)) == ta::Status::ok);
  REQUIRE(g_round.aggregate() == ta::Status::ok);
  CHECK(g_round.result()[5] == 2.0f);  // mean of 1 2 3
  CHECK(g_round.result()[0] == 2.0f);  // mean of 1 2 3
  REQUIRE(g_round.configure(rule(meta::Robust::trimmed_mean, 9)) == ta::Status::ok);  // clamped to 2: the median
  REQUIRE(g_round.aggregate() == ta::Status::ok);
  CHECK(g_round.result()[5] == 2.0f);

  // Even n: the median is the mean of the two middle values.
  fill(u, 5.0f);
  REQUIRE(g_round.add_delta(u, 99).ok());  // 1 100 2 -7 3 5 → (2 + 3) / 2
  REQUIRE(g_round.configure(rule(meta::Robust::median)) == ta::Status::ok);
  REQUIRE(g_round.aggregate() == ta::Status::ok);
  CHECK(g_round.result()[5] == 2.5f);

  // Geometric median of three collinear points is the middle one; of the
  // corners of a square, its centre.
  g_round.clear();
  REQUIRE(g_round.configure(rule(meta::Robust::geometric_median)) == ta::Status::ok);
  for (float a : {0.0f, 1.0f, 10.0f}) {
    fill(u, a);
    REQUIRE(g_round.add_delta(u, static_cast<std::uint32_t>(a)).ok());
  }
  REQUIRE(g_round.aggregate() == ta::Status::ok);
  for (std::size_t i = 0; i < P; ++i) CHECK(std::fabs(g_round.result()[i] - 1.0f) < 1e-4f);
  g_round.clear();
  const float corners[4][2] = {{0, 0}, {0, 2}, {2, 0}, {2, 3}};
  for (std::uint32_t d = 0; d < 4; ++d) {
    fill(u, 0.0f);
    u[0] = corners[d][0], u[1] = corners[d][1];
    REQUIRE(g_round.add_delta(u, d).ok());
  }
  REQUIRE(g_round.aggregate() == ta::Status::ok);
  // The geometric median of a convex quadrilateral is where its diagonals cross: (0.8, 1.2).
  CHECK(std::fabs(g_round.result()[0] - 0.8f) < 2e-2f);
  CHECK(std::fabs(g_round.result()[1] - 1.2f) < 2e-2f);
  CHECK(g_round.weiszfeld_steps() >= 1);
}

TEST_CASE("every rule is invariant under the order of the updates") {
  ta::Rng rng(11);
  float u[Max][P];
  const std::uint32_t n = 13;
  for (std::uint32_t d = 0; d < n; ++d) random_update(rng, u[d], -3.0f, 3.0f);
  for (meta::Robust r : {meta::Robust::mean, meta::Robust::median, meta::Robust::trimmed_mean,
                         meta::Robust::geometric_median}) {
    float first[P];
    for (int trial = 0; trial < 4; ++trial) {
      std::uint32_t order[Max];
      for (std::uint32_t i = 0; i < n; ++i) order[i] = i;
      for (std::uint32_t i = n - 1; i > 0 && trial > 0; --i) {  // Fisher–Yates
        const std::uint32_t j = rng.below(i + 1);
        const std::uint32_t t = order[i];
        order[i] = order[j];
        order[j] = t;
      }
      g_round.clear();
      REQUIRE(g_round.configure(rule(r, 3)) == ta::Status::ok);
      for (std::uint32_t i = 0; i < n; ++i) REQUIRE(g_round.add_delta(u[order[i]], order[i]).ok());
      REQUIRE(g_round.aggregate() == ta::Status::ok);
      if (trial == 0) {
        std::memcpy(first, g_round.result().data(), sizeof first);
      } else if (r == meta::Robust::median) {
        CHECK(same_bits(g_round.result(), first));  // a selection: exact
      } else {
        CHECK(testsupport::rel_error(g_round.result().data(), first, P) < 1e-5f);  // sums: rounding only
      }
    }
  }
}

TEST_CASE("breakdown: f < n/2 arbitrary updates keep median and trimmed mean in the honest range") {
  ta::Rng rng(3);
  float honest[Max][P], bad[P];
  const std::uint32_t n = 15, f = 7;  // 8 honest, 7 poisoned
  for (float magnitude : {1e3f, 1e9f, 1e12f}) {
    for (meta::Robust r : {meta::Robust::median, meta::Robust::trimmed_mean, meta::Robust::geometric_median}) {
      g_round.clear();
      REQUIRE(g_round.configure(rule(r, f)) == ta::Status::ok);
      float lo[P], hi[P];
      for (std::size_t i = 0; i < P; ++i) lo[i] = INFINITY, hi[i] = -INFINITY;
      float honest_norm = 0.0f;
      for (std::uint32_t d = 0; d < n - f; ++d) {
        random_update(rng, honest[d], -1.0f, 1.0f);
        for (std::size_t i = 0; i < P; ++i) {
          lo[i] = honest[d][i] < lo[i] ? honest[d][i] : lo[i];
          hi[i] = honest[d][i] > hi[i] ? honest[d][i] : hi[i];
        }
        const float nrm = meta::update_norm(honest[d], P);
        honest_norm = nrm > honest_norm ? nrm : honest_norm;
        REQUIRE(g_round.add_delta(honest[d], d).ok());
      }
      for (std::uint32_t d = 0; d < f; ++d) {  // all on one side, or scattered
        for (std::size_t i = 0; i < P; ++i) bad[i] = magnitude * (d % 2 ? 1.0f : rng.uniform(-1.0f, 1.0f));
        REQUIRE(g_round.add_delta(bad, 100 + d).ok());
      }
      REQUIRE(g_round.aggregate() == ta::Status::ok);
      const ta::Span<const float> z = g_round.result();
      if (r == meta::Robust::geometric_median) {
        // |z| <= (2 (n − f) / (n − 2f)) max honest |Δ| for any f < n/2 outliers (Minsker 2015, with α = f / n).
        const float bound = 2.0f * static_cast<float>(n - f) / static_cast<float>(n - 2 * f) * honest_norm;
        CHECK(meta::update_norm(z.data(), P) <= bound * 1.01f);
      } else {
        bool inside = true;
        for (std::size_t i = 0; i < P; ++i) inside &= z[i] >= lo[i] && z[i] <= hi[i];
        CHECK(inside);
      }
    }
  }
  // The mean, for contrast, follows the poisoners anywhere.
  REQUIRE(g_round.configure(rule(meta::Robust::mean)) == ta::Status::ok);
  REQUIRE(g_round.aggregate() == ta::Status::ok);
  CHECK(ta::max_abs(g_round.result().data(), P) > 1e10f);
}

TEST_CASE("refused updates leave the round bit-identical") {
  ta::Rng rng(5);
  float u[P];
  g_round.clear();
  REQUIRE(g_round.configure(rule(meta::Robust::median, 0, 2.0f)) == ta::Status::ok);
  for (std::uint32_t d = 0; d < 6; ++d) {
    random_update(rng, u, -1.0f, 1.0f);
    REQUIRE(g_round.add_delta(u, d).ok());
  }
  copy_round(g_round, g_other);
  REQUIRE(g_round.aggregate() == ta::Status::ok);
  float before[P];
  std::memcpy(before, g_round.result().data(), sizeof before);

  const float nan = std::nanf(""), inf = INFINITY;
  for (float poison : {nan, inf, -inf, 2e12f, -1.0e38f}) {
    for (std::size_t at : {std::size_t{0}, P / 2, P - 1}) {
      random_update(rng, u, -1.0f, 1.0f);
      u[at] = poison;
      const meta::Admitted a = g_round.add_delta(u, 50);
      CHECK(a.admission == meta::Admission::invalid);
      CHECK(a.status == ta::Status::non_finite_update);
      CHECK(same_round(g_round, g_other));
      // Decoded into the staging slot and committed: the same refusal.
      std::memcpy(g_round.staging().data(), u, sizeof u);
      CHECK(g_round.commit(51).admission == meta::Admission::invalid);
      CHECK(same_round(g_round, g_other));
    }
  }
  // φ − θ that overflows: φ and θ finite, their difference not.
  float phi[P], theta[P];
  fill(phi, 3.0e38f);
  fill(theta, -3.0e38f);
  CHECK(g_round.add(phi, theta, 52).status == ta::Status::non_finite_update);
  CHECK(g_round.add_delta(ta::Span<const float>(u, P - 1), 53).status == ta::Status::size_mismatch);
  random_update(rng, u, -1.0f, 1.0f);
  CHECK(g_round.add_delta(u, 3).admission == meta::Admission::duplicate);  // device 3 is in already
  CHECK(same_round(g_round, g_other));
  REQUIRE(g_round.aggregate() == ta::Status::ok);
  CHECK(same_bits(g_round.result(), before));

  // A full round refuses the next device and keeps the ones it has.
  for (std::uint32_t d = 6; d < Max; ++d) REQUIRE(g_round.add_delta(u, d).ok());
  copy_round(g_round, g_other);
  CHECK(g_round.add_delta(u, 1000).admission == meta::Admission::full);
  CHECK(g_round.commit(1001).admission == meta::Admission::full);
  CHECK(same_round(g_round, g_other));
  // An empty round aggregates to nothing and keeps its last result.
  g_round.clear();
  std::memcpy(before, g_round.result().data(), sizeof before);
  CHECK(g_round.aggregate() == ta::Status::empty_batch);
  CHECK(same_bits(g_round.result(), before));
  // A bad configuration is refused and the old one kept.
  CHECK(g_round.configure(rule(meta::Robust::median, 0, -1.0f)) == ta::Status::bad_hyperparameter);
  CHECK(g_round.configure(rule(meta::Robust::median, 0, std::nanf(""))) == ta::Status::bad_hyperparameter);
  CHECK(g_round.config().clip_norm == 2.0f);
}

TEST_CASE("norm clipping: streaming, direction kept, refusal changes nothing") {
  float v[P], w[P];
  for (std::size_t i = 0; i < P; ++i) v[i] = static_cast<float>(i) - 3.0f;
  std::memcpy(w, v, sizeof v);
  float norm = 0.0f;
  const float n0 = meta::update_norm(v, P);
  REQUIRE(meta::clip_update(ta::Span<float>(v, P), n0 * 2.0f, &norm) == ta::Status::ok);
  CHECK(same_bits(ta::Span<const float>(v, P), ta::Span<const float>(w, P)));  // under the bound: untouched
  CHECK(norm == n0);
  REQUIRE(meta::clip_update(ta::Span<float>(v, P), 1.0f) == ta::Status::ok);
  CHECK(std::fabs(meta::update_norm(v, P) - 1.0f) < 1e-5f);
  for (std::size_t i = 0; i < P; ++i) CHECK(std::fabs(v[i] - w[i] / n0) < 1e-6f);
  std::memcpy(w, v, sizeof v);
  v[2] = INFINITY;
  w[2] = INFINITY;
  CHECK(meta::clip_update(ta::Span<float>(v, P), 1.0f) == ta::Status::non_finite_update);
  CHECK(same_bits(ta::Span<const float>(v, P), ta::Span<const float>(w, P)));
  CHECK(meta::clip_update(ta::Span<float>(v, P), 0.0f) == ta::Status::bad_hyperparameter);

  // In a round, every update is clipped as it arrives: a scaled poisoner
  // moves the mean by at most clip / n.
  g_round.clear();
  REQUIRE(g_round.configure(rule(meta::Robust::mean, 0, 1.0f)) == ta::Status::ok);
  fill(v, 0.0f);
  for (std::uint32_t d = 0; d < 9; ++d) REQUIRE(g_round.add_delta(v, d).ok());
  fill(v, 1e9f);
  REQUIRE(g_round.add_delta(v, 9).ok());
  REQUIRE(g_round.aggregate() == ta::Status::ok);
  CHECK(meta::update_norm(g_round.result().data(), P) <= 0.1f * 1.0001f);
}

// An update of norm `norm` along (1, 1, ..., 1).
void update_of_norm(float* v, float norm) { fill(v, norm / std::sqrt(static_cast<float>(P))); }

TEST_CASE("adaptive clipping: the median norm of the last round, bounded per round and for good") {
  meta::AdaptiveClip<8> c;
  meta::AdaptiveClipConfig k;
  k.initial = 1.0f, k.factor = 1.0f, k.floor = 0.01f, k.ceiling = 100.0f, k.max_change = 4.0f;
  REQUIRE(c.configure(k) == ta::Status::ok);
  CHECK(c.bound() == 1.0f);
  // Known answers: the median (odd and even count) times the factor.
  for (float n : {0.5f, 3.0f, 2.0f}) c.observe(n);
  CHECK(c.end_round() == 2.0f);
  for (float n : {1.0f, 4.0f, 3.0f, 2.0f}) c.observe(n);
  CHECK(c.end_round() == 2.5f);
  CHECK(c.observed() == 0);
  // No update in a round: C kept; invalid norms ignored.
  c.observe(NAN), c.observe(-1.0f), c.observe(INFINITY);
  CHECK(c.observed() == 0);
  CHECK(c.end_round() == 2.5f);
  // One round moves C by at most max_change, and never past floor and ceiling.
  c.observe(1e6f);
  CHECK(c.end_round() == 10.0f);
  c.observe(1e6f);
  CHECK(c.end_round() == 40.0f);
  c.observe(1e6f);
  CHECK(c.end_round() == 100.0f);  // ceiling
  for (int r = 0; r < 8; ++r) c.observe(0.0f), c.end_round();  // 100 / 4^7 < 0.01
  CHECK(c.bound() == 0.01f);  // floor
  // factor
  k.factor = 0.5f;
  REQUIRE(c.configure(k) == ta::Status::ok);
  c.observe(1.0f), c.observe(1.5f), c.observe(0.2f);
  CHECK(c.end_round() == 0.5f);

  // Bad configurations are refused and change nothing.
  const float before = c.bound();
  for (const auto& bad : {meta::AdaptiveClipConfig{NAN, 1, 0.1f, 10, 2}, meta::AdaptiveClipConfig{1, 0, 0.1f, 10, 2},
                          meta::AdaptiveClipConfig{1, 1, 0.0f, 10, 2}, meta::AdaptiveClipConfig{0.05f, 1, 0.1f, 10, 2},
                          meta::AdaptiveClipConfig{1, 1, 0.1f, 0.5f, 2}, meta::AdaptiveClipConfig{1, 1, 0.1f, 10, 0.5f},
                          meta::AdaptiveClipConfig{1, 1, 0.1f, INFINITY, 2}, meta::AdaptiveClipConfig{1, -1, 0.1f, 10, 2}}) {
    CHECK(c.configure(bad) == ta::Status::bad_hyperparameter);
    CHECK(c.bound() == before);
    CHECK(c.config().factor == 0.5f);
  }
}

TEST_CASE("adaptive clipping: a hostile minority cannot move C outside the honest norms") {
  // 9 honest updates per round with norms in [0.8, 1.2], 4 hostile ones with
  // norm 10^9 (inflate) or 0 (deflate): after any number of rounds C stays
  // within the honest range, where a mean of the norms would be far off.
  for (const float hostile : {1e9f, 0.0f}) {
    meta::AdaptiveClip<16> c;
    REQUIRE(c.configure({1.0f, 1.0f, 1e-6f, 1e6f, 2.0f}) == ta::Status::ok);
    ta::Rng rng(3);
    float v[P];
    for (int round = 0; round < 50; ++round) {
      for (int d = 0; d < 13; ++d) {
        const bool bad = d % 3 == 0 && d < 12;  // devices 0, 3, 6, 9
        update_of_norm(v, bad ? hostile : rng.uniform(0.8f, 1.2f));
        float norm = 0.0f;
        REQUIRE(c.clip(ta::Span<float>(v, P), &norm) == ta::Status::ok);
        CHECK(meta::update_norm(v, P) <= c.bound() * 1.0001f);  // clipped to the open round's C
      }
      c.end_round();
      CHECK(c.bound() >= 0.8f * 0.9999f);
      CHECK(c.bound() <= 1.2f * 1.0001f);
    }
  }
}

TEST_CASE("adaptive clipping: refusals change nothing; more updates than room are sampled") {
  meta::AdaptiveClip<4> c;
  REQUIRE(c.configure({1.0f, 1.0f, 1e-3f, 1e3f, 8.0f}) == ta::Status::ok);
  float v[P], w[P];
  update_of_norm(v, 3.0f);
  v[1] = NAN;
  std::memcpy(w, v, sizeof v);
  CHECK(c.clip(ta::Span<float>(v, P)) == ta::Status::non_finite_update);
  CHECK(std::memcmp(v, w, sizeof v) == 0);
  fill(v, 2e12f);  // beyond the 2^40 bound
  CHECK(c.clip(ta::Span<float>(v, P)) == ta::Status::non_finite_update);
  CHECK(c.observed() == 0);
  CHECK(c.end_round() == 1.0f);
  // 100 norms into room for 4: the median of a uniform sample, all of them
  // equal here, so the sample's median is exact; seen counts them all.
  for (int i = 0; i < 100; ++i) c.observe(2.0f);
  CHECK(c.observed() == 100);
  CHECK(c.end_round() == 2.0f);
  // 75 of 100 at 4.0, the first 25 at 0.5: a sample of 4 is mostly 4.0 (a
  // buffer of the first 4 would say 0.5). Seeded, so the run repeats.
  meta::AdaptiveClip<4> a(7), b(7);
  REQUIRE(a.configure({1.0f, 1.0f, 1e-3f, 1e3f, 8.0f}) == ta::Status::ok);
  REQUIRE(b.configure(a.config()) == ta::Status::ok);
  for (int i = 0; i < 100; ++i) a.observe(i < 25 ? 0.5f : 4.0f), b.observe(i < 25 ? 0.5f : 4.0f);
  const float ca = a.end_round();
  CHECK(ca == b.end_round());
  CHECK(ca > 0.5f);
  static_assert(sizeof(meta::AdaptiveClip<256>) < 256 * 4 + 64, "fixed memory: the norms and a few words");
  // resume(): a saved bound within [floor, ceiling] continues with an empty round; anything else is refused.
  meta::AdaptiveClip<4> r;
  REQUIRE(r.configure({1.0f, 1.0f, 0.25f, 4.0f, 2.0f}) == ta::Status::ok);
  r.observe(3.0f);
  CHECK(r.resume(0.75f) == ta::Status::ok);
  CHECK(r.bound() == 0.75f);
  CHECK(r.observed() == 0);
  for (const float bad : {0.2f, 4.5f, NAN, INFINITY, -1.0f}) CHECK(r.resume(bad) == ta::Status::bad_hyperparameter);
  CHECK(r.bound() == 0.75f);
  CHECK(r.end_round() == 0.75f);  // no updates: C kept
}

TEST_CASE("end_round moves θ by ε · the robust aggregate, through the server's checks") {
  Tiny net;
  ta::Rng rng(1);
  net.init(rng);
  meta::Server<Tiny, ta::ConstantLR> server(net, ta::ConstantLR{0.5f});
  float theta0[P];
  std::memcpy(theta0, server.theta().data(), sizeof theta0);
  g_round.clear();
  REQUIRE(g_round.configure(rule(meta::Robust::median)) == ta::Status::ok);
  CHECK(g_round.end_round(server) == ta::Status::empty_batch);  // nothing in the round: θ as it was
  CHECK(same_bits(server.theta(), ta::Span<const float>(theta0, P)));
  CHECK(server.round() == 0);

  float phi[P];
  for (std::uint32_t d = 0; d < 5; ++d) {  // φ_d = θ + d (all coordinates)
    for (std::size_t i = 0; i < P; ++i) phi[i] = theta0[i] + static_cast<float>(d);
    REQUIRE(g_round.add(phi, server.theta(), d).ok());
  }
  for (std::size_t i = 0; i < P; ++i) phi[i] = std::nanf("");  // a NaN φ never gets in
  CHECK(g_round.add(phi, server.theta(), 9).admission == meta::Admission::invalid);
  REQUIRE(g_round.end_round(server) == ta::Status::ok);
  CHECK(server.round() == 1);
  CHECK(g_round.size() == 0);
  for (std::size_t i = 0; i < P; ++i) CHECK(std::fabs(server.theta()[i] - (theta0[i] + 0.5f * 2.0f)) < 1e-5f);

  // A server with updates of its own in the round is not mixed with a robust one.
  float delta[P];
  fill(delta, 0.25f);
  REQUIRE(server.add_delta(delta) == ta::Status::ok);
  REQUIRE(g_round.add_delta(delta, 1).ok());
  std::memcpy(theta0, server.theta().data(), sizeof theta0);
  CHECK(g_round.end_round(server) == ta::Status::size_mismatch);
  CHECK(same_bits(server.theta(), ta::Span<const float>(theta0, P)));
  CHECK(g_round.size() == 1);
}

TEST_CASE("update messages: decoded into the staging slot, committed only when whole and valid") {
  Tiny net;
  ta::Rng rng(2);
  net.init(rng);
  meta::Server<Tiny, ta::ConstantLR> server(net, ta::ConstantLR{1.0f});
  unsigned char msg[io::max_message_bytes<Tiny>()];
  float delta[P];
  g_round.clear();
  REQUIRE(g_round.configure(rule(meta::Robust::trimmed_mean, 1)) == ta::Status::ok);
  std::size_t size = 0;
  for (std::uint32_t d = 0; d < 4; ++d) {
    random_update(rng, delta, -1.0f, 1.0f);
    const io::Encoding e = d % 2 ? io::Encoding::int8_layer : io::Encoding::float32;
    REQUIRE(io::encode_message(io::info_for<Tiny>(io::PayloadKind::delta, e, server.round(), d, 10), delta,
                               io::groups_of<Tiny>(), msg, sizeof msg, &size) == io::WireStatus::ok);
    const meta::RobustSubmit s = meta::submit_update(g_round, server.round(), server.theta(), msg, size);
    CHECK(s.ok());
    CHECK(s.header.device == d);
    // The norm before clipping of what the round took (for AdaptiveClip::observe).
    const ta::Span<const float> took = g_round.update(g_round.size() - 1);
    const float n = meta::update_norm(took.data(), P);
    CHECK(std::fabs(s.norm - n) <= 1e-6f * n);
  }
  copy_round(g_round, g_other);
  // Every single-bit flip of the last message is refused and the round kept.
  std::size_t refused = 0, flips = 0;
  for (std::size_t byte = 0; byte < size; ++byte)
    for (int bit = 0; bit < 8; bit += 3) {
      msg[byte] = static_cast<unsigned char>(msg[byte] ^ (1u << bit));
      const meta::RobustSubmit s = meta::submit_update(g_round, server.round(), server.theta(), msg, size);
      msg[byte] = static_cast<unsigned char>(msg[byte] ^ (1u << bit));
      ++flips;
      refused += s.ok() ? 0u : 1u;
    }
  CHECK(refused == flips);
  CHECK(same_round(g_round, g_other));
  // Truncated, replayed (same device: duplicate), or for another round: refused.
  CHECK(meta::submit_update(g_round, server.round(), server.theta(), msg, size - 1).wire == io::WireStatus::truncated);
  CHECK(meta::submit_update(g_round, server.round(), server.theta(), msg, size).round.admission ==
        meta::Admission::duplicate);
  CHECK(meta::submit_update(g_round, server.round() + 1, server.theta(), msg, size).wire ==
        io::WireStatus::wrong_round);
  CHECK(same_round(g_round, g_other));
  REQUIRE(g_round.end_round(server) == ta::Status::ok);
}

TEST_CASE("round gate: quorum, deadline, extension, stale, future and late updates") {
  meta::RoundPolicy p;
  p.quorum = 3;
  p.deadline_ms = 100;
  p.min_updates = 2;
  meta::RoundGate gate(p);
  const std::uint32_t t0 = 0xFFFFFFF0u;  // the clock wraps during the round
  gate.open(7, t0);
  CHECK(gate.admit(7, t0 + 5) == meta::Admission::accepted);
  CHECK(gate.admit(6, t0 + 5) == meta::Admission::stale);
  CHECK(gate.admit(8, t0 + 5) == meta::Admission::future);
  CHECK(gate.admit(0, t0 + 5) == meta::Admission::stale);
  CHECK(gate.check(2, t0 + 50) == meta::RoundState::open);
  CHECK(gate.check(3, t0 + 50) == meta::RoundState::close);  // quorum
  CHECK(gate.admit(7, t0 + 100) == meta::Admission::late);
  CHECK(gate.check(2, t0 + 100) == meta::RoundState::close);  // deadline, enough updates
  CHECK(gate.check(1, t0 + 100) == meta::RoundState::extend);  // deadline, too few: same round, new clock
  CHECK(gate.round() == 7);
  CHECK(gate.extensions() == 1);
  CHECK(gate.opened_at() == t0 + 100);
  CHECK(gate.admit(7, t0 + 150) == meta::Admission::accepted);
  CHECK(gate.check(1, t0 + 150) == meta::RoundState::open);
  // No deadline: only the quorum closes a round.
  meta::RoundGate patient(meta::RoundPolicy{2, 0, 1});
  patient.open(0, 0);
  CHECK(patient.check(1, 0xFFFFFFFFu) == meta::RoundState::open);
  CHECK(patient.admit(0, 0xFFFFFFFFu) == meta::Admission::accepted);
  // Nonsense policies are made sane (quorum and min_updates at least 1, min <= quorum).
  meta::RoundGate odd(meta::RoundPolicy{0, 10, 5});
  CHECK(odd.policy().quorum == 1);
  CHECK(odd.policy().min_updates == 1);
}
