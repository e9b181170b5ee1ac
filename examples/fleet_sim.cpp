// A fleet of up to 10,000 simulated TinyReptile devices in one process (no
// broker): every device has its own P1 sine task, trains online on k samples
// from the round's θ, and sends Δ = φ − θ as a real wire message
// (io/encoder.hpp); the server decodes every message (io/decoder.hpp) and
// aggregates with a rule of meta/robust.hpp. A share of the devices drops
// out, straggles past the deadline, has its message corrupted on the way, or
// is poisoned.
//
//   fleet_sim [--devices N] [--rounds R] [--quick] [--csv FILE] [--threads T] [--seed S]
//             [--poison F] [--drop F] [--stragglers F] [--corrupt F] [--clip C] [--eps0 E] [--lr LR]
//             [--robust-clip C] [--clip-factor F] [--clip-range X] [--only LABEL] [--scale-only] [--no-scale]
//
//   (no flags)   devices 200, rounds 300: the rule × attack table, the
//                compression runs (float32, int8, top-10% sparse Δ) and the
//                scale runs (one round of 100, 1,000 and 10,000 devices)
//   --quick      the test's mode: 50 devices, 30 rounds, the mixed attack only;
//                exit 3 unless a robust rule beats the mean under every attack
//                that breaks the mean (MSE beyond 2× the clean run), nothing
//                non-finite reached θ, and no NaN message got in
//   --csv FILE   learning curves (default fleet_sim.csv next to the program);
//                the table goes to FILE's stem + .table.csv, the scale runs to
//                .scale.csv, the plot (gnuplot; skipped with a message when
//                missing) to .png
//   --robust-clip C  clip every update to norm C before median, trimmed
//                mean and geometric median too (default: off)
//   --only LABEL the runs whose rule/attack/encoding label contains LABEL
//                (e.g. clip/signflip), for studies: table and CSV, no summary
//   --scale-only only the scale runs; --no-scale: all but them
//   --eps0 E     the server's ε0 for every rule (default: each rule's, eps0_of)
//   --clip-factor F  clip_adaptive: C = F × the median norm of the last round (1)
//   --clip-range X   clip_adaptive: C stays within [--clip / X, --clip × X] (2: without
//                this bound, 100, the scale attack runs away: see the README)
//
// Attacks (the poisoned share, default 20%, fixed devices): signflip (−10 Δ),
// scale (100 Δ), noise (Δ replaced by N(0, 1) per parameter), nan (a NaN in
// the payload with the CRC recomputed: what a hostile device can send),
// mixed (a quarter of the poisoned devices each). Faults of every run: 5%
// of the devices drop out per round, 5% straggle (arrive after the 100 ms
// deadline: dropped as late, meta/round.hpp), 2% of the messages get one bit
// flipped on the way (the CRC refuses them).
//
// Rules: mean (meta::Server's running sum, streaming), clip (each update
// clipped to norm C, then the running mean: streaming, no buffer),
// clip_adaptive (the same with C of round r+1 = the median norm of round r's
// accepted updates × --clip-factor, meta/adaptive_clip.hpp: starts at --clip,
// moves by at most 2× per round, within [--clip / X, --clip × X], X = --clip-range), median,
// trimmed (25% off each end), geomed (geometric median): these three hold
// the round's updates in a meta::RobustRound (devices × 4,353 floats).
//
// Threads (all cores by default) run the devices and the evaluations; the
// server decodes and aggregates on one thread, as one server would. Every
// device draws from its own random stream, so results do not depend on the
// thread count.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <tinyadapt/io/to_server.hpp>
#include <tinyadapt/meta/adaptive_clip.hpp>
#include <tinyadapt/meta/robust.hpp>
#include <tinyadapt/meta/robust_wire.hpp>
#include <tinyadapt/tinyadapt.hpp>

#include "gnuplot.hpp"
#include "p1_sine.hpp"

namespace ta = tinyadapt;
namespace meta = tinyadapt::meta;
namespace io = tinyadapt::io;
using p1::W1;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kCount = W1::param_count;
constexpr std::size_t kMaxMessage = io::max_message_bytes<W1>();
constexpr std::uint32_t kDeadlineMs = 100;
constexpr std::size_t kClipNorms = 1024;  // clip_adaptive's room for a round's norms (a sample beyond)

enum class Attack { none, signflip, scale, noise, nan, mixed };
enum class Rule { mean, clip, clip_adaptive, median, trimmed, geomed };
const char* name_of(Attack a) {
  switch (a) {
    case Attack::none: return "none";
    case Attack::signflip: return "signflip";
    case Attack::scale: return "scale";
    case Attack::noise: return "noise";
    case Attack::nan: return "nan";
    case Attack::mixed: return "mixed";
  }
  return "?";
}
const char* name_of(Rule r) {
  switch (r) {
    case Rule::mean: return "mean";
    case Rule::clip: return "clip";
    case Rule::clip_adaptive: return "clip_adaptive";
    case Rule::median: return "median";
    case Rule::trimmed: return "trimmed";
    case Rule::geomed: return "geomed";
  }
  return "?";
}
const char* name_of(io::Encoding e) {
  return e == io::Encoding::float32 ? "float32" : e == io::Encoding::int8_layer ? "int8" : "sparse10";
}

struct Options {
  std::uint32_t devices = 200, rounds = 300, k = 10, seed = 1;
  unsigned threads = 0;
  float lr = 0.015f;  // P1's stable online lr for k = 10 (README, P1)
  float eps0 = 0.0f;  // > 0: this server step for every rule; 0: each rule's own (eps0_of)
  float poison = 0.2f, drop = 0.05f, stragglers = 0.05f, corrupt = 0.02f;
  float clip = 0.5f;  // about the honest median |Δ| of round 0 (the run prints it)
  float robust_clip = INFINITY;  // clipping before median, trimmed mean and geometric median (off)
  float clip_factor = 1.0f;      // clip_adaptive: C = factor × the last round's median norm
  float clip_range = 2.0f;       // clip_adaptive: C within [clip / range, clip × range]
  std::uint32_t val_tasks = 50, test_tasks = 200, checkpoints = 10;
  bool quick = false, progress = true;
};

// ε0 per rule, chosen on the validation tasks of a clean run (seed 1, 200
// devices, 300 rounds) among 2, 4 and 8: the mean diverges at 4; clipping
// and the robust rules shrink the aggregate (clipped norms; the median of
// heterogeneous Δ is nearer 0 than their mean), so they take a larger step.
// Above 1 at all because the mean of many Δ is less noisy than one device's.
float eps0_of(Rule r) { return r == Rule::mean ? 2.0f : 4.0f; }

struct Setup {
  Rule rule = Rule::mean;
  Attack attack = Attack::none;
  io::Encoding encoding = io::Encoding::float32;
  float poison = 0.2f;
};

// One run's outcome.
struct Result {
  Setup setup;
  double test[p1::kMetrics] = {};
  std::vector<std::pair<std::uint32_t, double>> curve;  // (round, validation MSE after 32 steps)
  std::uint64_t sent = 0, accepted = 0, wire_rejected = 0, refused = 0, late = 0, dropped = 0, failed_rounds = 0;
  std::uint64_t nan_accepted = 0;  // NaN messages that got in (must stay 0)
  std::uint64_t bytes = 0;         // message bytes sent, all rounds
  unsigned nonfinite_theta = 0;    // rounds after which θ was not finite (must stay 0)
  double honest_norm_median = 0.0; // |Δ| of honest devices in round 0
  std::vector<float> clip_bounds;  // clip_adaptive: C of each round
  double seconds = 0.0;
  std::uint32_t rounds = 0;
};

struct Device {
  p1::Task task;
  ta::Rng rng;
  bool poisoned = false;
};

// What each device produced in a round.
struct Outcome {
  enum Kind : unsigned char { none, message } kind = none;
  bool nan = false;
  float latency_ms = 0.0f;
  float norm = 0.0f;  // |Δ| before any attack
  std::size_t size = 0;
};

struct Worker {
  W1 net;
  ta::SGD<W1> opt{0.015f};
  float delta[kCount];
  p1::Evaluator eval;
};

template <class Fn>
void parallel_for(unsigned threads, std::size_t n, Fn&& fn) {
  if (threads <= 1 || n < 2) {
    fn(0u, std::size_t{0}, n);
    return;
  }
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) {
    const std::size_t b = n * t / threads, e = n * (t + 1) / threads;
    pool.emplace_back([&fn, t, b, e] { fn(t, b, e); });
  }
  for (std::thread& th : pool) th.join();
}

// A hostile device's forged NaN: the first payload value (float32, sparse)
// or the first layer scale (int8) becomes NaN and the trailer CRC is
// recomputed, so only the decoder's value checks stand in the way.
void forge_nan(unsigned char* msg, std::size_t size, io::Encoding e) {
  const std::size_t at = io::message_header_bytes + (e == io::Encoding::float32 ? 0 : 4);
  const std::uint32_t nan_bits = 0x7fc00000u;
  io::detail::put(msg + at, nan_bits, 4);
  io::detail::put(msg + size - 4, io::crc32(msg, size - 4), 4);
}

Attack attack_of(Attack a, std::uint32_t device) {
  if (a != Attack::mixed) return a;
  static constexpr Attack each[] = {Attack::signflip, Attack::scale, Attack::noise, Attack::nan};
  return each[device % 4];
}

class Fleet {
 public:
  Fleet(const Options& o, unsigned threads) : opt_(o), threads_(threads), devices_(o.devices), outcomes_(o.devices) {
    for (unsigned t = 0; t < threads_; ++t) workers_.push_back(std::make_unique<Worker>());
    messages_.resize(o.devices);
    for (auto& m : messages_) m.resize(kMaxMessage);
    val_ = p1::make_tasks(o.val_tasks, ta::Rng(o.seed, 12));
    test_ = p1::make_tasks(o.test_tasks, ta::Rng(o.seed, 13));
    ta::Rng irng(o.seed, 10);
    init_.init(irng);  // PyTorch's default: the same θ0 for every run
  }

  // Meta-trains one setup for `rounds` rounds and evaluates it; Capacity is
  // the RobustRound's compile-time room (>= devices).
  template <std::size_t Capacity>
  Result run(const Setup& s, std::uint32_t rounds, bool evaluate_test = true) {
    std::unique_ptr<meta::RobustRound<W1, Capacity>> robust;
    if (s.rule == Rule::median || s.rule == Rule::trimmed || s.rule == Rule::geomed) {
      robust = std::make_unique<meta::RobustRound<W1, Capacity>>();
      meta::RobustConfig c;
      c.rule = s.rule == Rule::median    ? meta::Robust::median
               : s.rule == Rule::trimmed ? meta::Robust::trimmed_mean
                                         : meta::Robust::geometric_median;
      c.trim = opt_.devices / 4;
      c.clip_norm = opt_.robust_clip;
      if (robust->configure(c) != ta::Status::ok) std::abort();
    }
    reset_devices(s);
    Result r;
    r.setup = s;
    r.rounds = rounds;
    const float eps0 = opt_.eps0 > 0.0f ? opt_.eps0 : eps0_of(s.rule);
    auto server = std::make_unique<meta::Server<W1>>(init_, ta::LinearDecayLR{eps0, 0.0f, rounds});
    auto staging = std::make_unique<meta::Parameters<W1>>();
    auto aclip = std::make_unique<meta::AdaptiveClip<kClipNorms>>(opt_.seed);
    if (aclip->configure({opt_.clip, opt_.clip_factor, opt_.clip / opt_.clip_range, opt_.clip * opt_.clip_range, 2.0f}) != ta::Status::ok)
      std::abort();
    std::vector<std::uint32_t> order;
    const std::uint32_t every = rounds / (opt_.checkpoints ? opt_.checkpoints : 1);
    const auto checkpoint = [&](std::uint32_t round) {
      r.curve.emplace_back(round, evaluate(server->theta(), val_)[p1::kMetrics - 1]);
    };
    checkpoint(0);
    const Clock::time_point t0 = Clock::now();
    Clock::time_point last = t0;
    Clock::duration training{};
    for (std::uint32_t round = 0; round < rounds; ++round) {
      const Clock::time_point a = Clock::now();
      devices_round(s, server->theta(), round, r);
      if (round == 0) r.honest_norm_median = honest_median();
      if (s.rule == Rule::clip_adaptive) r.clip_bounds.push_back(aclip->bound());
      server_round(s, *server, robust.get(), aclip.get(), *staging, round, order, r);
      training += Clock::now() - a;
      if (!ta::all_finite(server->theta().data(), kCount)) ++r.nonfinite_theta;
      if (every && (round + 1) % every == 0) checkpoint(round + 1);
      const Clock::time_point now = Clock::now();
      if (opt_.progress && now - last > std::chrono::seconds(2)) {
        last = now;
        const double done = std::chrono::duration<double>(now - t0).count();
        std::printf("progress: %s/%s/%s round %u/%u, %.0f devices/s, validation MSE@32 %.3f, ETA %.0f s\n",
                    name_of(s.rule), name_of(s.attack), name_of(s.encoding), round + 1, rounds,
                    (round + 1) * static_cast<double>(opt_.devices) / done, r.curve.back().second,
                    done * (rounds - round - 1) / (round + 1));
      }
    }
    if (r.curve.back().first != rounds) checkpoint(rounds);
    r.seconds = std::chrono::duration<double>(training).count();
    if (evaluate_test) {
      const std::vector<double> t = evaluate(server->theta(), test_);
      for (std::size_t j = 0; j < p1::kMetrics; ++j) r.test[j] = t[j];
    }
    return r;
  }

  // One timed round without the wire: Δ handed to Server::add_delta in
  // memory (what examples/reptile_sine.cpp times), devices in parallel.
  void timed_direct(double& device_s, double& server_s) {
    reset_devices(Setup{});
    auto server = std::make_unique<meta::Server<W1>>(init_, ta::LinearDecayLR{2.0f, 0.0f, 10});
    direct_.resize(static_cast<std::size_t>(opt_.devices) * kCount);
    const ta::Span<const float> theta = server->theta();
    const Clock::time_point a = Clock::now();
    parallel_for(threads_, opt_.devices, [&](unsigned t, std::size_t begin, std::size_t end) {
      Worker& w = *workers_[t];
      w.opt.lr = opt_.lr;
      for (std::size_t d = begin; d < end; ++d) {
        p1::Stream stream{&devices_[d].rng, devices_[d].task};
        float* delta = direct_.data() + d * kCount;
        std::memcpy(delta, theta.data(), kCount * sizeof(float));
        if (meta::device_round<ta::MSE>(w.net, w.opt, theta, opt_.k, stream).ok())
          meta::delta_in_place(w.net, ta::Span<float>(delta, kCount));
        else
          delta[0] = NAN;  // refused below
      }
    });
    const Clock::time_point b = Clock::now();
    std::uint32_t accepted = 0;
    for (std::size_t d = 0; d < opt_.devices; ++d)
      accepted += server->add_delta(ta::Span<const float>(direct_.data() + d * kCount, kCount), opt_.k) == ta::Status::ok;
    if (accepted == 0 || server->end_round() != ta::Status::ok) std::abort();
    const Clock::time_point c = Clock::now();
    device_s = std::chrono::duration<double>(b - a).count();
    server_s = std::chrono::duration<double>(c - b).count();
  }

  // One timed round (the Scale target): devices, then server; seconds of each.
  template <std::size_t Capacity>
  void timed_round(const Setup& s, double& device_s, double& server_s) {
    reset_devices(s);
    auto server = std::make_unique<meta::Server<W1>>(init_, ta::LinearDecayLR{2.0f, 0.0f, 10});
    auto staging = std::make_unique<meta::Parameters<W1>>();
    std::vector<std::uint32_t> order;
    Result r;
    const Clock::time_point a = Clock::now();
    devices_round(s, server->theta(), 0, r);
    const Clock::time_point b = Clock::now();
    server_round(s, *server, static_cast<meta::RobustRound<W1, Capacity>*>(nullptr), nullptr, *staging, 0, order, r);
    const Clock::time_point c = Clock::now();
    device_s = std::chrono::duration<double>(b - a).count();
    server_s = std::chrono::duration<double>(c - b).count();
    if (r.accepted == 0) std::abort();
  }

 private:
  void reset_devices(const Setup& s) {
    ta::Rng pick(opt_.seed, 20);
    for (std::uint32_t d = 0; d < opt_.devices; ++d) {
      Device& dev = devices_[d];
      dev.rng = ta::Rng(opt_.seed * 1000003ull + d, 30);
      dev.task = p1::draw_task(dev.rng);  // the device's own task, all rounds
      dev.poisoned = false;
    }
    if (s.attack == Attack::none) return;
    // The poisoned share: a seeded choice of devices, the same for every rule.
    const auto bad = static_cast<std::uint32_t>(std::lround(s.poison * static_cast<float>(opt_.devices)));
    std::vector<std::uint32_t> ids(opt_.devices);
    for (std::uint32_t d = 0; d < opt_.devices; ++d) ids[d] = d;
    for (std::uint32_t i = 0; i < bad; ++i) {
      const std::uint32_t j = i + pick.below(opt_.devices - i);
      std::swap(ids[i], ids[j]);
      devices_[ids[i]].poisoned = true;
    }
  }

  // Every device's round, in parallel: train, Δ, attack, encode, faults.
  void devices_round(const Setup& s, ta::Span<const float> theta, std::uint32_t round, Result& r) {
    parallel_for(threads_, opt_.devices, [&](unsigned t, std::size_t begin, std::size_t end) {
      Worker& w = *workers_[t];
      w.opt.lr = opt_.lr;
      for (std::size_t d = begin; d < end; ++d) {
        Device& dev = devices_[d];
        Outcome& out = outcomes_[d];
        out = Outcome{};
        const float fate = dev.rng.uniform();
        if (fate < opt_.drop) continue;  // never answers
        const bool straggler = fate < opt_.drop + opt_.stragglers;
        out.latency_ms = straggler ? dev.rng.uniform(1.5f, 4.0f) * kDeadlineMs : dev.rng.uniform(0.05f, 0.95f) * kDeadlineMs;
        p1::Stream stream{&dev.rng, dev.task};
        const meta::RoundResult rr = meta::device_round<ta::MSE>(w.net, w.opt, theta, opt_.k, stream);
        if (!rr.ok()) continue;  // the device has nothing to send
        std::memcpy(w.delta, theta.data(), sizeof w.delta);
        meta::delta_in_place(w.net, ta::Span<float>(w.delta, kCount));
        out.norm = meta::update_norm(w.delta, kCount);
        const Attack attack = dev.poisoned ? attack_of(s.attack, static_cast<std::uint32_t>(d)) : Attack::none;
        if (attack == Attack::signflip)
          for (float& v : w.delta) v *= -10.0f;
        else if (attack == Attack::scale)
          for (float& v : w.delta) v *= 100.0f;
        else if (attack == Attack::noise)
          for (float& v : w.delta) v = dev.rng.normal();
        io::MessageInfo info = io::info_for<W1>(io::PayloadKind::delta, s.encoding, round,
                                                static_cast<std::uint32_t>(d), opt_.k);
        if (s.encoding == io::Encoding::sparse) info.sparse_entries = io::sparse_entries_for(kCount, 10.0f);
        unsigned char* msg = messages_[d].data();
        if (io::encode_message(info, ta::Span<const float>(w.delta, kCount), io::groups_of<W1>(), msg, kMaxMessage,
                               &out.size) != io::WireStatus::ok)
          continue;
        if (attack == Attack::nan) {
          forge_nan(msg, out.size, s.encoding);
          out.nan = true;
        }
        if (dev.rng.uniform() < opt_.corrupt) {  // one bit flipped on the way
          const std::uint32_t at = dev.rng.below(static_cast<std::uint32_t>(out.size));
          msg[at] = static_cast<unsigned char>(msg[at] ^ (1u << dev.rng.below(8)));
        }
        out.kind = Outcome::message;
      }
    });
    (void)r;
  }

  double honest_median() {
    std::vector<float> norms;
    for (std::uint32_t d = 0; d < opt_.devices; ++d)
      if (outcomes_[d].kind == Outcome::message && !devices_[d].poisoned) norms.push_back(outcomes_[d].norm);
    if (norms.empty()) return 0.0;
    std::nth_element(norms.begin(), norms.begin() + static_cast<std::ptrdiff_t>(norms.size() / 2), norms.end());
    return norms[norms.size() / 2];
  }

  // The server: messages in order of arrival through the round gate, each
  // decoded and handed to the rule; the round closes at the deadline.
  template <class Robust>
  void server_round(const Setup& s, meta::Server<W1>& server, Robust* robust, meta::AdaptiveClip<kClipNorms>* aclip,
                    meta::Parameters<W1>& staging, std::uint32_t round, std::vector<std::uint32_t>& order, Result& r) {
    order.clear();
    for (std::uint32_t d = 0; d < opt_.devices; ++d) {
      if (outcomes_[d].kind == Outcome::message) order.push_back(d);
      else ++r.dropped;
    }
    std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
      return outcomes_[a].latency_ms < outcomes_[b].latency_ms || (outcomes_[a].latency_ms == outcomes_[b].latency_ms && a < b);
    });
    meta::RoundGate gate(meta::RoundPolicy{opt_.devices, kDeadlineMs, 1});
    gate.open(server.round(), 0);
    std::uint32_t accepted = 0;
    for (const std::uint32_t d : order) {
      const Outcome& o = outcomes_[d];
      const auto now = static_cast<std::uint32_t>(o.latency_ms);
      ++r.sent;
      r.bytes += o.size;
      if (gate.check(accepted, now) == meta::RoundState::close || gate.admit(server.round(), now) != meta::Admission::accepted) {
        ++r.late;
        continue;
      }
      const unsigned char* msg = messages_[d].data();
      bool ok = false;
      io::WireStatus wire = io::WireStatus::ok;
      if (robust != nullptr) {
        const meta::RobustSubmit sub = meta::submit_update(*robust, server.round(), server.theta(), msg, o.size);
        wire = sub.wire;
        ok = sub.ok();
      } else if (s.rule == Rule::mean) {
        const io::SubmitResult sub = io::submit_update(server, msg, o.size, staging);
        wire = sub.wire;
        ok = sub.ok();
      } else {  // clip, clip_adaptive: streaming, the staging buffer clipped before the running mean
        io::StreamDecoder dec(io::expect_for<W1>(io::update_kinds, true, server.round()), staging.span());
        dec.feed(msg, o.size);
        wire = dec.finish();
        const ta::Status clipped = wire != io::WireStatus::ok ? ta::Status::ok
                                   : s.rule == Rule::clip || aclip == nullptr
                                       ? meta::clip_update(staging.span(), opt_.clip)
                                       : aclip->clip(staging.span());
        ok = wire == io::WireStatus::ok && clipped == ta::Status::ok &&
             server.add_delta(staging.span(), 1) == ta::Status::ok;
      }
      if (ok) {
        ++accepted;
        ++r.accepted;
        if (o.nan) ++r.nan_accepted;
      } else if (wire != io::WireStatus::ok) {
        ++r.wire_rejected;
      } else {
        ++r.refused;
      }
    }
    (void)round;
    const ta::Status st = robust != nullptr ? robust->end_round(server) : server.end_round();
    if (robust != nullptr) robust->clear();
    if (s.rule == Rule::clip_adaptive && aclip != nullptr) aclip->end_round();
    if (st != ta::Status::ok) ++r.failed_rounds;
  }

  std::vector<double> evaluate(ta::Span<const float> theta, const std::vector<p1::FewShotTask>& tasks) {
    std::vector<double> sums(threads_ * p1::kMetrics, 0.0);
    std::vector<unsigned> failures(threads_, 0);
    parallel_for(threads_, tasks.size(), [&](unsigned t, std::size_t b, std::size_t e) {
      double s[p1::kMetrics] = {};
      p1::evaluate(workers_[t]->eval, theta, tasks.data() + b, e - b, s, failures[t]);
      for (std::size_t j = 0; j < p1::kMetrics; ++j) sums[t * p1::kMetrics + j] = s[j];
    });
    std::vector<double> mean(p1::kMetrics, 0.0);
    for (unsigned t = 0; t < threads_; ++t)
      for (std::size_t j = 0; j < p1::kMetrics; ++j) mean[j] += sums[t * p1::kMetrics + j] / static_cast<double>(tasks.size());
    return mean;
  }

  Options opt_;
  unsigned threads_;
  std::vector<Device> devices_;
  std::vector<Outcome> outcomes_;
  std::vector<std::vector<unsigned char>> messages_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<p1::FewShotTask> val_, test_;
  std::vector<float> direct_;
  W1 init_;
};

template <class Fn>
Result with_capacity(std::uint32_t devices, Fn&& fn) {
  // RobustRound's room is a compile-time constant: the smallest that fits.
  if (devices <= 128) return fn(std::integral_constant<std::size_t, 128>{});
  if (devices <= 1024) return fn(std::integral_constant<std::size_t, 1024>{});
  return fn(std::integral_constant<std::size_t, 10000>{});
}

std::string stem_of(const std::string& csv) {
  const std::size_t dot = csv.rfind('.');
  return dot == std::string::npos || dot < csv.find_last_of('/') + 1 ? csv : csv.substr(0, dot);
}

std::string label_of(const Setup& s) {
  std::string l = std::string(name_of(s.rule)) + "/" + name_of(s.attack);
  if (s.encoding != io::Encoding::float32) l += std::string("/") + name_of(s.encoding);
  return l;
}

void print_header() {
  std::printf("\n%-13s %-9s %-8s %9s %9s %9s %8s %8s %8s %7s %7s %6s %9s\n", "rule", "attack", "encoding", "MSE@0",
              "MSE@4", "MSE@32", "accepted", "wire-rej", "refused", "late", "dropped", "NaN-in", "B/round");
}
void print_row(const Result& r) {
  std::printf("%-13s %-9s %-8s %9.4f %9.4f %9.4f %8llu %8llu %8llu %7llu %7llu %6llu %9.0f\n", name_of(r.setup.rule),
              name_of(r.setup.attack), name_of(r.setup.encoding), r.test[0], r.test[2], r.test[4],
              static_cast<unsigned long long>(r.accepted), static_cast<unsigned long long>(r.wire_rejected),
              static_cast<unsigned long long>(r.refused), static_cast<unsigned long long>(r.late),
              static_cast<unsigned long long>(r.dropped), static_cast<unsigned long long>(r.nan_accepted),
              static_cast<double>(r.bytes) / r.rounds);
}

bool write_results(const std::string& csv, const std::vector<Result>& results, const Options& o) {
  std::FILE* f = std::fopen(csv.c_str(), "w");
  if (!f) return false;
  std::fprintf(f, "rule,attack,encoding,poison,devices,seed,round,val_mse32\n");
  for (const Result& r : results)
    for (const auto& p : r.curve)
      std::fprintf(f, "%s,%s,%s,%.2f,%u,%u,%u,%.6f\n", name_of(r.setup.rule), name_of(r.setup.attack),
                   name_of(r.setup.encoding), static_cast<double>(r.setup.poison), o.devices, o.seed, p.first, p.second);
  std::fclose(f);
  const std::string table = stem_of(csv) + ".table.csv";
  f = std::fopen(table.c_str(), "w");
  if (!f) return false;
  std::fprintf(f,
               "rule,attack,encoding,poison,devices,rounds,seed,test_mse0,test_mse1,test_mse4,test_mse8,test_mse32,"
               "sent,accepted,wire_rejected,refused,late,dropped,nan_accepted,nonfinite_theta,bytes_per_round,"
               "honest_norm_median,seconds\n");
  for (const Result& r : results)
    std::fprintf(f, "%s,%s,%s,%.2f,%u,%u,%u,%.6f,%.6f,%.6f,%.6f,%.6f,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%u,%.1f,%.5f,%.3f\n",
                 name_of(r.setup.rule), name_of(r.setup.attack), name_of(r.setup.encoding),
                 static_cast<double>(r.setup.poison), o.devices, r.rounds, o.seed, r.test[0], r.test[1], r.test[2],
                 r.test[3], r.test[4], static_cast<unsigned long long>(r.sent),
                 static_cast<unsigned long long>(r.accepted), static_cast<unsigned long long>(r.wire_rejected),
                 static_cast<unsigned long long>(r.refused), static_cast<unsigned long long>(r.late),
                 static_cast<unsigned long long>(r.dropped), static_cast<unsigned long long>(r.nan_accepted),
                 r.nonfinite_theta, static_cast<double>(r.bytes) / r.rounds, r.honest_norm_median, r.seconds);
  std::fclose(f);
  std::printf("curves: %s\ntable: %s\n", csv.c_str(), table.c_str());
  return true;
}

// The curves of every rule under one attack, plus the clean mean; false when
// the data or the plot could not be written.
bool plot(const std::string& csv, const std::vector<Result>& results, Attack attack) {
  const std::string stem = stem_of(csv), png = stem + ".png", data = stem + ".curves.txt";
  std::FILE* f = std::fopen(data.c_str(), "w");
  if (!f) {
    std::printf("cannot write %s\n", data.c_str());
    return false;
  }
  std::vector<std::string> titles;
  for (const Result& r : results) {
    const bool wanted = r.setup.encoding == io::Encoding::float32 &&
                        (r.setup.attack == attack || (r.setup.attack == Attack::none && r.setup.rule == Rule::mean));
    if (!wanted) continue;
    std::fprintf(f, "# %s\n", label_of(r.setup).c_str());
    for (const auto& p : r.curve) std::fprintf(f, "%u %.6f\n", p.first, p.second);
    std::fprintf(f, "\n\n");
    titles.push_back(label_of(r.setup));
  }
  std::fclose(f);
  Plot figure(stem + ".gnuplot", png, data);
  std::FILE* g = figure.script();
  if (!g) return figure.run();
  std::fprintf(g,
               "set terminal pngcairo size 1100,540 font \",11\"\nset output \"%s\"\n"
               "set title \"fleet: P1 validation MSE after 32 steps, %s attack (a broken mean leaves the top)\"\n"
               "set xlabel \"round\"\nset ylabel \"MSE\"\nset logscale y\nset yrange [0.1:1000]\nset grid\n"
               "set key outside right\nplot ",
               png.c_str(), name_of(attack));
  for (std::size_t i = 0; i < titles.size(); ++i)
    std::fprintf(g, "%s\"%s\" index %zu using 1:2 with linespoints lw 2 title \"%s\"", i ? ", \\\n     " : "",
                 data.c_str(), i, titles[i].c_str());
  std::fprintf(g, "\n");
  return figure.run();
}

const Result* find(const std::vector<Result>& v, Rule rule, Attack a, io::Encoding e = io::Encoding::float32) {
  for (const Result& r : v)
    if (r.setup.rule == rule && r.setup.attack == a && r.setup.encoding == e) return &r;
  return nullptr;
}

bool parse_float(const char* s, float lo, float hi, float& out) {
  char* end = nullptr;
  const float v = std::strtof(s, &end);
  if (end == s || *end != '\0' || !(v >= lo && v <= hi)) return false;
  out = v;
  return true;
}
bool parse_uint(const char* s, std::uint32_t lo, std::uint32_t hi, std::uint32_t& out) {
  char* end = nullptr;
  const unsigned long v = std::strtoul(s, &end, 10);
  if (end == s || *end != '\0' || v < lo || v > hi) return false;
  out = static_cast<std::uint32_t>(v);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  Options o;
  std::string csv;
  bool scale_only = false, no_scale = false, devices_given = false, rounds_given = false;
  std::string only;  // rule/attack labels to run (substring match), for studies
  std::uint32_t threads = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    bool ok = true;
    if (a == "--quick") o.quick = true;
    else if (a == "--scale-only") scale_only = true;
    else if (a == "--no-scale") no_scale = true;
    else if (a == "--csv" && v) csv = argv[++i];
    else if (a == "--devices" && v) ok = parse_uint(argv[++i], 5, 10000, o.devices), devices_given = true;
    else if (a == "--rounds" && v) ok = parse_uint(argv[++i], 1, 1000000, o.rounds), rounds_given = true;
    else if (a == "--threads" && v) ok = parse_uint(argv[++i], 1, 256, threads);
    else if (a == "--seed" && v) ok = parse_uint(argv[++i], 0, 0xFFFFFFFFu, o.seed);
    else if (a == "--poison" && v) ok = parse_float(argv[++i], 0.0f, 0.49f, o.poison);
    else if (a == "--drop" && v) ok = parse_float(argv[++i], 0.0f, 0.9f, o.drop);
    else if (a == "--stragglers" && v) ok = parse_float(argv[++i], 0.0f, 0.9f, o.stragglers);
    else if (a == "--corrupt" && v) ok = parse_float(argv[++i], 0.0f, 1.0f, o.corrupt);
    else if (a == "--clip" && v) ok = parse_float(argv[++i], 1e-6f, 1e6f, o.clip);
    else if (a == "--robust-clip" && v) ok = parse_float(argv[++i], 1e-6f, 1e6f, o.robust_clip);
    else if (a == "--clip-factor" && v) ok = parse_float(argv[++i], 1e-3f, 1e3f, o.clip_factor);
    else if (a == "--clip-range" && v) ok = parse_float(argv[++i], 1.0f, 1e4f, o.clip_range);
    else if (a == "--eps0" && v) ok = parse_float(argv[++i], 0.0f, 1000.0f, o.eps0);
    else if (a == "--lr" && v) ok = parse_float(argv[++i], 0.0f, 1.0f, o.lr);
    else if (a == "--only" && v) only = argv[++i];
    else ok = false;
    if (!ok) {
      std::fprintf(stderr,
                   "usage: fleet_sim [--devices N (5..10000)] [--rounds R] [--quick] [--csv FILE] [--threads T] "
                   "[--seed S] [--poison F] [--drop F] [--stragglers F] [--corrupt F] [--clip C] [--eps0 E] [--lr LR] "
                   "[--robust-clip C] [--clip-factor F] [--clip-range X] [--only LABEL] [--scale-only] [--no-scale]\n");
      return 2;
    }
  }
  if (o.drop + o.stragglers >= 1.0f) {
    std::fprintf(stderr, "fleet_sim: --drop + --stragglers must leave some devices on time\n");
    return 2;
  }
  if (o.quick) {
    if (!devices_given) o.devices = 50;
    if (!rounds_given) o.rounds = 30;
    o.val_tasks = 20;
    o.test_tasks = 50;
    o.checkpoints = 4;
  }
  if (csv.empty()) {
    const std::string self = argv[0];
    const std::size_t slash = self.find_last_of('/');
    csv = (slash == std::string::npos ? std::string() : self.substr(0, slash + 1)) + (o.quick ? "fleet_sim_quick.csv" : "fleet_sim.csv");
  }
  const unsigned hw = std::thread::hardware_concurrency();
  const unsigned nthreads = threads ? threads : (hw ? hw : 1);
  std::printf("fleet_sim: %u devices, %u rounds, k = %u, lr %.3f, eps0 %.1f (0: mean 2, the others 4; linear decay), "
              "%u threads, seed %u\n"
              "faults: %.0f%% drop out, %.0f%% straggle past the %u ms deadline, %.0f%% of messages get a bit flipped; "
              "poisoned: %.0f%%\n"
              "RobustRound<W1, %u devices>: %.1f MB\n",
              o.devices, o.rounds, o.k, static_cast<double>(o.lr), static_cast<double>(o.eps0), nthreads, o.seed,
              100.0 * o.drop, 100.0 * o.stragglers, kDeadlineMs, 100.0 * o.corrupt, 100.0 * o.poison, o.devices,
              static_cast<double>(o.devices) * (kCount + 16 + 1) * 4.0 / 1e6);

  std::vector<Result> results;
  bool pass = true;
  if (!scale_only) {
    Fleet fleet(o, nthreads);
    std::vector<Setup> setups;
    const std::vector<Attack> attacks = o.quick ? std::vector<Attack>{Attack::none, Attack::mixed}
                                                : std::vector<Attack>{Attack::none, Attack::signflip, Attack::scale,
                                                                      Attack::noise, Attack::nan, Attack::mixed};
    for (Attack a : attacks)
      for (Rule r : {Rule::mean, Rule::clip, Rule::clip_adaptive, Rule::median, Rule::trimmed, Rule::geomed})
        setups.push_back(Setup{r, a, io::Encoding::float32, a == Attack::none ? 0.0f : o.poison});
    // Compression: the clean mean with int8 and top-10% sparse deltas.
    for (io::Encoding e : {io::Encoding::int8_layer, io::Encoding::sparse})
      setups.push_back(Setup{Rule::mean, Attack::none, e, 0.0f});
    if (!only.empty()) {
      std::vector<Setup> kept;
      for (const Setup& st : setups)
        if ((label_of(st) + (st.encoding == io::Encoding::float32 ? "/float32" : "")).find(only) != std::string::npos)
          kept.push_back(st);
      setups = kept;
    }
    for (std::size_t i = 0; i < setups.size(); ++i) {
      if (o.progress)
        std::printf("progress: run %zu/%zu: %s\n", i + 1, setups.size(), label_of(setups[i]).c_str());
      results.push_back(with_capacity(o.devices, [&](auto cap) {
        return fleet.run<decltype(cap)::value>(setups[i], o.rounds);
      }));
    }
    print_header();
    for (const Result& r : results) print_row(r);
    std::printf("honest |Δ| median in round 0: %.4f (clip norm %.3f)\n", results.front().honest_norm_median,
                static_cast<double>(o.clip));
    for (const Result& r : results) {
      const std::vector<float>& c = r.clip_bounds;
      if (c.empty()) continue;
      std::printf("clip_adaptive/%s: C %.4f in round 0, %.4f in round %zu, %.4f in round %zu, min %.4f, max %.4f\n",
                  name_of(r.setup.attack), static_cast<double>(c.front()), static_cast<double>(c[c.size() / 2]),
                  c.size() / 2, static_cast<double>(c.back()), c.size() - 1,
                  static_cast<double>(*std::min_element(c.begin(), c.end())),
                  static_cast<double>(*std::max_element(c.begin(), c.end())));
    }

    // The targets, as far as this run shows them (a study with --only has no summary).
    const Result* clean = find(results, Rule::mean, Attack::none);
    const Result* i8 = find(results, Rule::mean, Attack::none, io::Encoding::int8_layer);
    const Result* sp = find(results, Rule::mean, Attack::none, io::Encoding::sparse);
    if (!only.empty() || !clean || !i8 || !sp) {
      write_results(csv, results, o);
      return 0;
    }
    std::printf("\nPoisoning (%.0f%% poisoned): final MSE@32 against the clean mean %.4f\n", 100.0 * o.poison,
                clean->test[4]);
    for (Attack a : attacks) {
      if (a == Attack::none) continue;
      const Result* mean = find(results, Rule::mean, a);
      const Result* best = nullptr;
      for (Rule r : {Rule::clip, Rule::clip_adaptive, Rule::median, Rule::trimmed, Rule::geomed}) {
        const Result* x = find(results, r, a);
        if (!best || x->test[4] < best->test[4]) best = x;
      }
      // Where the attack breaks the mean (beyond 2× the clean MSE), a robust rule must beat it.
      const bool broken = !(mean->test[4] <= 2.0 * clean->test[4]);
      const bool beats = !broken || best->test[4] < mean->test[4];
      const Result* own = find(results, best->setup.rule, Attack::none);
      std::printf("  %-9s mean %10.4f (%.2fx clean)   best robust: %-8s %8.4f (%.2fx the clean mean, %.2fx its own "
                  "clean run)%s\n",
                  name_of(a), mean->test[4], mean->test[4] / clean->test[4], name_of(best->setup.rule), best->test[4],
                  best->test[4] / clean->test[4], best->test[4] / own->test[4],
                  beats ? "" : "   <- robust rule does not beat the mean");
      if (!beats || !std::isfinite(best->test[4])) pass = false;
    }
    std::printf("\nCompression (clean mean): float32 %.0f B/round MSE@32 %.4f; int8 %.0f B/round (%.2fx fewer) MSE@32 "
                "%.4f (%+.1f%%); top-10%% sparse %.0f B/round (%.2fx fewer) MSE@32 %.4f (%+.1f%%)\n",
                static_cast<double>(clean->bytes) / clean->rounds, clean->test[4],
                static_cast<double>(i8->bytes) / i8->rounds, static_cast<double>(clean->bytes) / static_cast<double>(i8->bytes),
                i8->test[4], 100.0 * (i8->test[4] / clean->test[4] - 1.0), static_cast<double>(sp->bytes) / sp->rounds,
                static_cast<double>(clean->bytes) / static_cast<double>(sp->bytes), sp->test[4], 100.0 * (sp->test[4] / clean->test[4] - 1.0));
    unsigned nonfinite = 0;
    unsigned long long nan_in = 0;
    for (const Result& r : results) nonfinite += r.nonfinite_theta, nan_in += r.nan_accepted;
    std::printf("non-finite θ after a round: %u; NaN messages accepted: %llu\n", nonfinite, nan_in);
    if (nonfinite != 0 || nan_in != 0) pass = false;
    if (!write_results(csv, results, o)) {
      std::fprintf(stderr, "fleet_sim: cannot write %s\n", csv.c_str());
      return 1;
    }
    if (!plot(csv, results, o.quick ? Attack::mixed : Attack::signflip)) pass = false;
  }

  // Scale: one round of D devices, TinyReptile mean, float32 and int8 messages.
  if ((!o.quick && !no_scale) || scale_only) {
    const std::string scale_csv = stem_of(csv) + ".scale.csv";
    std::FILE* f = std::fopen(scale_csv.c_str(), "w");
    if (f) std::fprintf(f, "devices,path,threads,device_seconds,server_seconds,round_seconds,cpu_seconds,devices_per_second\n");
    std::printf("\nScale: one TinyReptile round (k = %u, W1, no faults), best of 3, %u threads; CPU = all threads\n",
                o.k, nthreads);
    std::printf("%8s %-8s %10s %10s %10s %10s %12s\n", "devices", "path", "devices s", "server s", "round s", "CPU s",
                "devices/s");
    for (std::uint32_t d : {100u, 1000u, 10000u}) {
      Options so = o;
      so.devices = d;
      so.drop = so.stragglers = so.corrupt = 0.0f;
      so.val_tasks = so.test_tasks = 1;
      so.progress = false;
      Fleet fleet(so, nthreads);
      for (int path = 0; path < 3; ++path) {  // in memory, float32 messages, int8 messages
        const io::Encoding e = path == 2 ? io::Encoding::int8_layer : io::Encoding::float32;
        const char* name = path == 0 ? "memory" : name_of(e);
        double best_dev = 1e9, best_srv = 1e9, best = 1e9, best_cpu = 0.0;
        for (int rep = 0; rep < 3; ++rep) {
          double dev_s = 0.0, srv_s = 0.0;
          const std::clock_t c0 = std::clock();
          if (path == 0) fleet.timed_direct(dev_s, srv_s);
          else fleet.timed_round<128>(Setup{Rule::mean, Attack::none, e, 0.0f}, dev_s, srv_s);
          const double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
          if (dev_s + srv_s < best) best = dev_s + srv_s, best_dev = dev_s, best_srv = srv_s, best_cpu = cpu;
        }
        std::printf("%8u %-8s %10.4f %10.4f %10.4f %10.4f %12.0f\n", d, name, best_dev, best_srv, best, best_cpu,
                    d / best);
        if (f)
          std::fprintf(f, "%u,%s,%u,%.5f,%.5f,%.5f,%.5f,%.0f\n", d, name, nthreads, best_dev, best_srv, best, best_cpu,
                       d / best);
      }
    }
    if (f) {
      std::fclose(f);
      std::printf("scale: %s\n", scale_csv.c_str());
    }
  }
  if (!pass) {
    std::printf("FAIL: see the lines above\n");
    return 3;
  }
  return 0;
}
