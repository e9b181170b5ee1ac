// Protocol P2 (../shared/guides/protocols.md): few-shot digits across devices.
// TinyReptile (online device rounds), batch Reptile, FedAvg, joint pretraining
// and scratch, meta-trained on classes 0-5 and judged by 3-way 5-shot and
// 1-shot adaptation on the unseen classes 6-9, for a tanh and a ReLU network.
//
//   reptile_digits [--quick] [--csv FILE]
//     (no flag)  the full protocol: 10,000 device rounds, 500 test episodes,
//                seeds 1, 2, 3, the ε0 and learning-rate sweeps below
//     --quick    the test's mode: 1,000 rounds, one seed, 60 test episodes;
//                exits nonzero unless TinyReptile's and batch Reptile's inits
//                beat scratch after 1 and 4 adaptation steps (both networks)
//     --csv      where the results go (default reptile_digits.csv); the plot
//                of validation accuracy against rounds is FILE with .png for
//                .csv (gnuplot; skipped with a message when it is missing),
//                its data FILE with .curves.dat
//
// The protocol as run here:
//   data      digits 8x8, X/16. Classes 0-5: meta-training (all samples);
//             classes 6-9: test episodes only.
//   device    3 classes drawn from the meta-training classes in random order
//             (the order is the label, so labels are permuted per device), 10
//             samples of each, streamed in random order: 30 samples. 10,000
//             device visits.
//   tinyreptile  meta::device_round: online SGD, batch 1, each sample once;
//             server θ ← θ + ε_t(φ − θ), ε linearly decayed from ε0 to 0.
//             ε0 ∈ {0.1, 0.5, 1.0}; device lr ∈ {0.01 ... 0.5}; for each ε0 the
//             lr with the best validation accuracy, then the best ε0.
//   reptile   meta::batch_round: the 30 samples stored (SampleBatch), 3
//             minibatch steps of 10, SGD lr 0.1; the same ε0 sweep.
//   fedavg    5 devices per round (2,000 rounds: equal device visits), the
//             same online device round, θ ← the sample-weighted mean of φ
//             (ε = 1); device lr chosen on validation from the same grid.
//   joint     the transfer-learning baseline (Chen et al. 2019, "A Closer Look
//             at Few-shot Classification"): one 64→32→6 network trained online
//             on the same 300,000 device samples with their true labels 0-5
//             (SGD, lr linearly decayed, lr chosen on validation); θ is its
//             hidden layer plus a freshly initialised 3-way head. (A 3-way head
//             trained on the permuted device tasks without a meta update is
//             TinyReptile with ε = 1 held constant: θ ← φ every round, one
//             online SGD run over all tasks; permuted labels make its best
//             output uniform, so that baseline learns no usable head.)
//   scratch   PyTorch-default initialisation (the init every method starts from).
//   test      per seed 500 episodes: 3 of the classes 6-9 in random order,
//             5 support and 15 query samples per class (disjoint); the 1-shot
//             episode is the first support sample of each class with the same
//             query. From θ: 32 full-batch SGD steps, lr 0.1, on all support
//             samples (meta::adapt), query accuracy after 0/1/4/8/32 steps.
//   validation  class-disjoint, as the test is: two folds, each meta-trains
//             on three of the classes 0-5 ({0,1,2} or {3,4,5}) and validates on
//             200 5-shot episodes of the other three; a configuration's score
//             is the accuracy averaged over steps 1, 4, 8 and 32, both folds and
//             the seeds. Held-out samples of the meta-training classes would
//             reward inits that over-specialise to those classes. The chosen
//             configurations (and, per ε0, the best lr) are then meta-trained on
//             all of 0-5 for the test. The curves (accuracy after 4 and 32
//             steps) use the first 100 validation episodes every 500 visits,
//             mean over folds and seeds.
//
// CSV: one row per (method, k, eps0, seed), metric = query accuracy in %.
// Method names: tinyreptile, reptile, fedavg, joint, scratch; "_relu" for the
// ReLU network, then "_1shot" for 1-shot rows (tinyreptile_relu_1shot).
// k = samples per device round (30; scratch 0); eps0 = ε0 (fedavg 1, joint and
// scratch 0). device_ram_bytes = ta::training_memory<Net, SGD<Net>>() plus what
// the method stores (TinyReptile and FedAvg: the current sample; batch Reptile:
// SampleBatch<30> and a GradientAccumulator), joint = the device's buffer of one
// sample it uploads; device_macs_per_round = multiply-accumulates of one device
// round (forward, weight gradients, the top layer's input gradient; batch
// Reptile adds its 3 parameter updates); bytes_per_round = what one device
// sends: φ as float32 (joint: its 30 raw samples, 64 + 1 bytes each);
// host_seconds = host time of that run's meta-training (validation excluded).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include <tinyadapt/tinyadapt.hpp>

#include "datasets.hpp"
#include "gnuplot.hpp"
#include "stats.hpp"

namespace ta = tinyadapt;
namespace meta = ta::meta;

namespace {

using SCE = ta::SoftmaxCrossEntropy;
template <class Act, std::size_t Out>
using Mlp = ta::Sequential<ta::Input<64>, ta::Dense<32>, Act, ta::Dense<Out>>;

constexpr std::size_t kWays = 3, kDeviceShots = 10, kRoundSamples = kWays * kDeviceShots, kQuery = 15, kMaxShots = 5;
constexpr std::size_t kHidden = 32, kFeatureParams = 64 * kHidden + kHidden;
constexpr std::uint32_t kReportAt[] = {0, 1, 4, 8, 32};
constexpr std::size_t kReports = sizeof kReportAt / sizeof kReportAt[0];
constexpr float kAdaptLr = 0.1f, kBatchLr = 0.1f;
constexpr std::size_t kMinibatch = 10, kBatchSteps = 3, kFedAvgDevices = 5;
constexpr std::uint64_t kInitStream = 1, kTaskStream = 2, kValStream = 3, kTestStream = 4, kHeadStream = 5;

// ---------------------------------------------------------------- progress

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// A line about every two seconds, wherever the time goes (training or evaluation).
struct Progress {
  Clock::time_point start = Clock::now(), last = Clock::now();
  std::string run;                  // what is running
  double work_total = 1, work_done = 0;  // device visits over the whole program
  void tick(const char* what, std::size_t done, std::size_t total) {
    if (seconds_since(last) < 2.0) return;
    last = Clock::now();
    const double elapsed = seconds_since(start), f = work_done / work_total;
    std::printf("progress: %s: %s %zu/%zu, %.0f%% of all rounds, %.0f s elapsed", run.c_str(), what, done, total,
                100.0 * f, elapsed);
    if (f > 0.02) std::printf(", ETA ~%.0f s", elapsed * (1.0 - f) / f);
    std::printf("\n");
  }
};
Progress g_progress;

// ---------------------------------------------------------------- data

struct Digits {
  data::Dataset all;
  std::vector<std::uint32_t> pool[10];  // the samples of each class
  void copy(std::uint32_t i, float* x) const { std::memcpy(x, all.sample(i), 64 * sizeof(float)); }
};

bool load(Digits& d) {
  if (!data::load_digits(d.all)) return false;
  for (std::uint32_t i = 0; i < d.all.size(); ++i) d.pool[d.all.y[i]].push_back(i);
  return true;
}

// k distinct entries of v (partial Fisher-Yates, v is reordered).
template <class T>
void draw(ta::Rng& rng, std::vector<T>& v, std::size_t k, T* out) {
  for (std::size_t i = 0; i < k; ++i) {
    const std::size_t j = i + rng.below(static_cast<std::uint32_t>(v.size() - i));
    std::swap(v[i], v[j]);
    out[i] = v[i];
  }
}

// A meta-training device's 30 samples; label = position of the class in the draw.
struct Task {
  std::uint32_t index[kRoundSamples];
  unsigned label[kRoundSamples], true_class[kRoundSamples];
};

// The devices of one run over its meta-training classes: its own generator
// and copies of the pools, so a run depends on its seed and classes only.
class TaskStream {
 public:
  TaskStream(const Digits& d, std::uint64_t seed, const std::vector<unsigned>& classes)
      : rng_(seed, kTaskStream), classes_(classes) {
    for (unsigned c : classes_) pool_[c] = d.pool[c];
  }
  Task next() {
    unsigned drawn[kWays];
    draw(rng_, classes_, kWays, drawn);
    Task t{};
    for (std::size_t c = 0; c < kWays; ++c) {
      draw(rng_, pool_[drawn[c]], kDeviceShots, t.index + c * kDeviceShots);
      for (std::size_t s = 0; s < kDeviceShots; ++s) {
        t.label[c * kDeviceShots + s] = static_cast<unsigned>(c);
        t.true_class[c * kDeviceShots + s] = drawn[c];
      }
    }
    for (std::size_t i = kRoundSamples; i > 1; --i) {  // streamed in random order
      const std::size_t j = rng_.below(static_cast<std::uint32_t>(i));
      std::swap(t.index[i - 1], t.index[j]);
      std::swap(t.label[i - 1], t.label[j]);
      std::swap(t.true_class[i - 1], t.true_class[j]);
    }
    return t;
  }

 private:
  ta::Rng rng_;
  std::vector<unsigned> classes_;
  std::vector<std::uint32_t> pool_[10];
};

// An evaluation episode; row c holds the samples of label c.
struct Episode {
  std::uint32_t support[kWays][kMaxShots];
  std::uint32_t query[kWays][kQuery];
};

std::vector<Episode> draw_episodes(std::size_t n, ta::Rng rng, std::vector<unsigned> classes,
                                   const std::vector<std::uint32_t>* samples_of_class) {
  std::vector<std::uint32_t> by_class[10];
  for (unsigned c : classes) by_class[c] = samples_of_class[c];
  std::vector<Episode> eps(n);
  for (Episode& e : eps) {
    unsigned drawn[kWays];
    draw(rng, classes, kWays, drawn);
    for (std::size_t c = 0; c < kWays; ++c) {
      std::uint32_t s[kMaxShots + kQuery];
      draw(rng, by_class[drawn[c]], kMaxShots + kQuery, s);
      std::copy(s, s + kMaxShots, e.support[c]);
      std::copy(s + kMaxShots, s + kMaxShots + kQuery, e.query[c]);
    }
  }
  return eps;
}

// ---------------------------------------------------------------- evaluation

using Scores = std::vector<float>;  // accuracy in % after each of kReportAt

// Mean query accuracy over the first n episodes after adapting from θ on
// `shots` support samples per class.
template <class Net>
Scores evaluate(const meta::Parameters<Net>& theta, const std::vector<Episode>& eps, std::size_t n,
                std::size_t shots, const Digits& d) {
  static Net net;
  static ta::GradientAccumulator<Net> acc;
  ta::SGD<Net> sgd(kAdaptLr);
  double sum[kReports] = {};
  n = std::min(n, eps.size());
  for (std::size_t e = 0; e < n; ++e) {
    const Episode& ep = eps[e];
    const auto shot = [&](std::size_t i, float* x) {
      d.copy(ep.support[i / shots][i % shots], x);
      return static_cast<unsigned>(i / shots);
    };
    const auto query = [&](std::size_t i, float* x) {
      d.copy(ep.query[i / kQuery][i % kQuery], x);
      return static_cast<unsigned>(i / kQuery);
    };
    float m[kReports] = {};
    const ta::Status st =
        meta::adapt<SCE>(net, sgd, acc, theta.span(), meta::AdaptMode::full_batch, kWays * shots, shot, kReportAt, m,
                         [&](Net& adapted) { return ta::accuracy(adapted, kWays * kQuery, query); });
    if (st != ta::Status::ok) std::printf("note: adaptation stopped: %s\n", ta::to_string(st));
    for (std::size_t j = 0; j < kReports; ++j) sum[j] += static_cast<double>(m[j]);
    if (e % 8 == 7) g_progress.tick("episode", e + 1, n);
  }
  Scores s(kReports);
  for (std::size_t j = 0; j < kReports; ++j) s[j] = static_cast<float>(100.0 * sum[j] / static_cast<double>(n));
  return s;
}

// ---------------------------------------------------------------- methods

// The CSV's method names, in the enum's order.
enum class Method { tinyreptile, reptile, fedavg, joint, scratch };
constexpr const char* kMethodNames[] = {"tinyreptile", "reptile", "fedavg", "joint", "scratch"};
const char* name(Method m) { return kMethodNames[static_cast<int>(m)]; }

struct Settings {
  bool quick = false;
  std::uint32_t rounds = 10000;  // device visits
  std::size_t test_episodes = 500, val_episodes = 200, curve_episodes = 100;
  std::uint32_t curve_every = 500;
  std::vector<std::uint64_t> seeds = {1, 2, 3};
  std::vector<float> eps0s = {0.1f, 0.5f, 1.0f};
  std::vector<float> device_lrs = {0.01f, 0.02f, 0.05f, 0.1f, 0.2f, 0.5f};
  std::vector<float> joint_lrs = {0.01f, 0.03f, 0.1f};
  // Validation folds: meta-training classes; the other three of 0-5 validate.
  std::vector<std::vector<unsigned>> folds = {{0, 1, 2}, {3, 4, 5}};
};

// One meta-training run (method, ε0, lr, seed) of the 3-way network.
template <class Net>
struct Run {
  Method method = Method::scratch;
  float eps0 = 0.0f, lr = 0.0f;
  std::uint64_t seed = 0;
  meta::Parameters<Net> theta;
  double seconds = 0.0;       // meta-training only
  std::vector<float> curve4, curve32;  // validation accuracy (5-shot) after 4 and 32 steps every curve_every visits
  float val = 0.0f;           // final validation score: mean accuracy after 1, 4, 8, 32 steps
  float val32 = 0.0f;         // final validation accuracy after 32 steps
  float hidden_stat = 0.0f;   // ReLU: dead hidden units; tanh: % of saturated activations
  std::uint32_t skipped = 0, refused = 0;
};

// The hidden layer on every digit: ReLU units never active, or the share of
// tanh outputs beyond ±0.99.
template <class Net>
float hidden_stat(const meta::Parameters<Net>& theta, const Digits& d, bool relu) {
  const float* w = theta.values;
  const float* b = theta.values + 64 * kHidden;
  std::size_t dead = 0, saturated = 0;
  for (std::size_t j = 0; j < kHidden; ++j) {
    bool alive = false;
    for (std::size_t i = 0; i < d.all.size(); ++i) {
      const float* x = d.all.sample(i);
      float z = b[j];
      for (std::size_t k = 0; k < 64; ++k) z += w[j * 64 + k] * x[k];
      alive = alive || z > 0.0f;
      saturated += std::fabs(std::tanh(z)) > 0.99f ? 1u : 0u;
    }
    dead += alive ? 0u : 1u;
  }
  if (relu) return static_cast<float>(dead);
  return static_cast<float>(100.0 * static_cast<double>(saturated) / static_cast<double>(kHidden * d.all.size()));
}

template <class Act>
struct Bench {
  using Net = Mlp<Act, 3>;
  using Joint = Mlp<Act, 6>;
  static constexpr bool relu = std::is_same_v<Act, ta::ReLU>;
  static_assert(Net::param_count == kFeatureParams + kHidden * 3 + 3, "θ = hidden layer, then the 3-way head");

  // Per sample: forward, the weight gradients (or the fused SGD update) of both
  // layers, the input gradient of the top layer (the first layer computes none).
  static constexpr std::size_t step_macs = 3 * Net::macs - Net::template layer<0>::macs;
  static_assert(step_macs == 4384, "2,144 forward + 2,144 weight-gradient + 96 input-gradient MACs");
  static constexpr std::size_t sample_bytes = (Net::input_size + 1) * sizeof(float);
  using Batch = meta::SampleBatch<SCE, Net, kRoundSamples>;

  static std::size_t device_ram(Method m) {
    const std::size_t train = ta::training_memory<Net, ta::SGD<Net>>().total();
    switch (m) {
      case Method::tinyreptile:
      case Method::fedavg: return train + sample_bytes;
      case Method::reptile: return train + sizeof(Batch) + sizeof(ta::GradientAccumulator<Net>);
      case Method::joint: return sample_bytes;
      case Method::scratch: return 0;
    }
    return 0;
  }
  static std::size_t device_macs(Method m) {
    switch (m) {
      case Method::tinyreptile:
      case Method::fedavg: return kRoundSamples * step_macs;
      case Method::reptile: return kRoundSamples * step_macs + kBatchSteps * Net::param_count;
      case Method::joint:
      case Method::scratch: return 0;
    }
    return 0;
  }
  static std::size_t bytes_sent(Method m) {
    switch (m) {
      case Method::tinyreptile:
      case Method::fedavg:
      case Method::reptile: return 4 * Net::param_count;
      case Method::joint: return kRoundSamples * (64 + 1);
      case Method::scratch: return 0;
    }
    return 0;
  }

  const Digits& d;
  const Settings& cfg;
  const std::vector<unsigned>& classes;  // meta-training classes
  const std::vector<Episode>& val;       // validation episodes (none for a test run)

  Scores validate(const meta::Parameters<Net>& theta, std::size_t n) const { return evaluate<Net>(theta, val, n, 5, d); }

  // Curve point after `visits` device visits; the timer does not count it.
  void curve_point(Run<Net>& run, const meta::Parameters<Net>& theta, std::uint32_t visits) const {
    if (visits % cfg.curve_every != 0 || val.empty()) return;
    const Scores v = validate(theta, cfg.curve_episodes);
    run.curve4.push_back(v[2]);
    run.curve32.push_back(v[kReports - 1]);
  }

  Run<Net> train(Method m, float eps0, float lr, std::uint64_t seed) const {
    Run<Net> run;
    run.method = m;
    run.eps0 = eps0;
    run.lr = lr;
    run.seed = seed;
    static Net init;
    ta::Rng init_rng(seed, kInitStream);
    init.init(init_rng);  // PyTorch's default
    run.theta.copy_from(init);
    if (m == Method::joint) {
      train_joint(run);
    } else if (m != Method::scratch) {
      train_meta(run, init);
    }
    if (!val.empty()) {
      const Scores v = validate(run.theta, cfg.val_episodes);
      run.val32 = v[kReports - 1];
      run.val = (v[1] + v[2] + v[3] + v[4]) / 4.0f;
    }
    run.hidden_stat = hidden_stat(run.theta, d, relu);
    return run;
  }

  void train_meta(Run<Net>& run, const Net& init) const {
    const bool fed = run.method == Method::fedavg;
    const std::size_t per_round = fed ? kFedAvgDevices : 1;
    const auto server_rounds = static_cast<std::uint32_t>(cfg.rounds / per_round);
    meta::Server<Net> server(init, ta::LinearDecayLR{run.eps0, 0.0f, server_rounds},
                             fed ? meta::Aggregation::fedavg : meta::Aggregation::reptile, run.seed);
    TaskStream tasks(d, run.seed, classes);
    static Net device;
    static Batch batch;
    static ta::GradientAccumulator<Net> acc;
    ta::SGD<Net> sgd(run.method == Method::reptile ? kBatchLr : run.lr);
    std::uint32_t visits = 0;
    curve_point(run, server.parameters(), 0);
    Clock::time_point t0 = Clock::now();
    for (std::uint32_t r = 0; r < server_rounds; ++r) {
      for (std::size_t k = 0; k < per_round; ++k) {
        const Task t = tasks.next();
        const auto sample = [&](std::size_t i, float* x) {
          d.copy(t.index[i], x);
          return t.label[i];
        };
        meta::RoundResult rr;
        if (run.method == Method::reptile) {
          run.skipped += batch.fill(kRoundSamples, sample);
          rr = meta::batch_round(device, sgd, acc, server.theta(), batch, kMinibatch, kBatchSteps);
        } else {
          rr = meta::device_round<SCE>(device, sgd, server.theta(), kRoundSamples, sample);
        }
        run.skipped += rr.skipped;
        if (!rr.ok() || server.add(device.parameters(), rr.trained) != ta::Status::ok) ++run.refused;
      }
      if (server.end_round() != ta::Status::ok) ++run.refused;
      visits += static_cast<std::uint32_t>(per_round);
      g_progress.work_done += static_cast<double>(per_round);
      if (visits % cfg.curve_every == 0) {
        run.seconds += seconds_since(t0);
        curve_point(run, server.parameters(), visits);
        t0 = Clock::now();
      }
      if (r % 16 == 15) g_progress.tick("round", r + 1, server_rounds);
    }
    run.seconds += seconds_since(t0);
    run.theta = server.parameters();
  }

  // The hidden layer of the 6-way network and a fresh 3-way head.
  void joint_theta(const Joint& j, std::uint64_t seed, meta::Parameters<Net>& theta) const {
    static Net head;
    ta::Rng rng(seed, kHeadStream);
    head.init(rng);
    theta.copy_from(head);
    std::copy(j.parameters().data(), j.parameters().data() + kFeatureParams, theta.values);
  }

  void train_joint(Run<Net>& run) const {
    static Joint j;
    ta::Rng init_rng(run.seed, kInitStream);
    j.init(init_rng);  // the same first layer as the 3-way init
    ta::SGD<Joint> sgd(run.lr);
    const ta::LinearDecayLR schedule{run.lr, 0.0f, static_cast<std::uint32_t>(cfg.rounds * kRoundSamples)};
    TaskStream tasks(d, run.seed, classes);
    std::uint32_t step = 0;
    meta::Parameters<Net> theta;
    joint_theta(j, run.seed, theta);
    curve_point(run, theta, 0);
    Clock::time_point t0 = Clock::now();
    for (std::uint32_t r = 0; r < cfg.rounds; ++r) {
      const Task t = tasks.next();
      for (std::size_t i = 0; i < kRoundSamples; ++i) {
        sgd.lr = schedule(step++);
        if (!ta::train_step<SCE>(j, sgd, d.all.sample(t.index[i]), t.true_class[i]).ok()) ++run.skipped;
      }
      g_progress.work_done += 1.0;
      if ((r + 1) % cfg.curve_every == 0) {
        run.seconds += seconds_since(t0);
        joint_theta(j, run.seed, theta);
        curve_point(run, theta, r + 1);
        t0 = Clock::now();
      }
      if (r % 16 == 15) g_progress.tick("round", r + 1, cfg.rounds);
    }
    run.seconds += seconds_since(t0);
    joint_theta(j, run.seed, run.theta);
  }
};

// ---------------------------------------------------------------- statistics, output

// One result row of the tables: a configuration over its seeds.
struct Row {
  std::string net, method;  // method: CSV name without net and shots suffixes
  float eps0 = 0, lr = 0;
  bool chosen = false;
  std::size_t shots = 5;
  std::vector<Scores> per_seed;
  double val = 0, hidden = 0, seconds = 0;
  std::size_t visits = 0;
  MeanStd at(std::size_t j) const {
    std::vector<double> v;
    for (const Scores& s : per_seed) v.push_back(static_cast<double>(s[j]));
    return mean_std(v);
  }
};

void print_header(const char* title) {
  std::printf("\n%s\n", title);
  std::printf("%-6s %-12s %5s %5s %5s | %-12s %-12s %-12s %-12s %-12s | %6s %7s %s\n", "net", "method", "shots", "eps0",
              "lr", "step 0", "step 1", "step 4", "step 8", "step 32", "score", "us/rnd", "hidden");
}

void print_row(const Row& r) {
  std::printf("%-6s %-12s %5zu %5.2f %5.3f |", r.net.c_str(), r.method.c_str(), r.shots, static_cast<double>(r.eps0),
              static_cast<double>(r.lr));
  for (std::size_t j = 0; j < kReports; ++j) {
    const MeanStd m = r.at(j);
    std::printf(" %5.1f ± %-4.1f", m.mean, m.std);
  }
  std::printf(" | %6.1f %7.1f %s %.1f%s\n", r.val, r.visits ? 1e6 * r.seconds / static_cast<double>(r.visits) : 0.0,
              r.net == "relu" ? "dead" : "sat%", r.hidden, r.chosen ? "  *" : "");
}

struct Output {
  std::FILE* csv = nullptr;
  std::vector<Row> rows;
};

template <class B>
void csv_rows(Output& out, const Row& r, Method m, const std::vector<double>& seconds,
              const std::vector<std::uint64_t>& seeds) {
  const std::string name = r.method + (r.net == "relu" ? "_relu" : "") + (r.shots == 1 ? "_1shot" : "");
  const unsigned k = m == Method::scratch ? 0u : static_cast<unsigned>(kRoundSamples);
  for (std::size_t s = 0; s < r.per_seed.size(); ++s) {
    std::fprintf(out.csv, "%s,%u,%.2f,%llu", name.c_str(), k, static_cast<double>(r.eps0),
                 static_cast<unsigned long long>(seeds[s]));
    for (std::size_t j = 0; j < kReports; ++j) std::fprintf(out.csv, ",%.2f", static_cast<double>(r.per_seed[s][j]));
    std::fprintf(out.csv, ",%zu,%zu,%zu,%.4f\n", B::device_ram(m), B::device_macs(m), B::bytes_sent(m), seconds[s]);
  }
  std::fflush(out.csv);
}

// Curves (mean over seeds) for the plot: per shown configuration a column of
// the accuracy after 4 steps and one after 32 steps.
struct Curves {
  std::vector<std::string> names;  // "<net> <steps> <configuration>"
  std::vector<std::vector<double>> columns;
};

template <class Net>
void add_curve(Curves& c, const std::string& net, const std::string& label, const std::vector<const Run<Net>*>& runs) {
  for (int steps : {4, 32}) {
    std::vector<double> mean;
    for (const Run<Net>* r : runs) {
      const std::vector<float>& v = steps == 4 ? r->curve4 : r->curve32;
      mean.resize(v.size(), 0.0);
      for (std::size_t i = 0; i < v.size(); ++i) mean[i] += static_cast<double>(v[i]) / static_cast<double>(runs.size());
    }
    c.names.push_back(net + " " + std::to_string(steps) + " " + label);
    c.columns.push_back(mean);
  }
}

// ---------------------------------------------------------------- the experiment of one network

struct Headline {  // chosen configurations, 5-shot and 1-shot, for the targets
  Row tiny5, rep5, fed5, joint5, scratch5, tiny1, rep1, scratch1;
};

// The classes 0-5 a validation fold leaves out of its meta-training.
std::vector<unsigned> held_out(const std::vector<unsigned>& fold) {
  std::vector<unsigned> v;
  for (unsigned c = 0; c < 6; ++c)
    if (std::find(fold.begin(), fold.end(), c) == fold.end()) v.push_back(c);
  return v;
}

template <class Act>
Headline run_network(const char* net_name, const Digits& d, const Settings& cfg, Output& out, Curves& curves) {
  using B = Bench<Act>;
  using Net = typename B::Net;
  static const std::vector<unsigned> meta_classes = {0, 1, 2, 3, 4, 5}, unseen = {6, 7, 8, 9};
  static const std::vector<Episode> no_episodes;
  std::vector<std::vector<std::vector<Episode>>> val_eps(cfg.seeds.size());  // [seed][fold]
  std::vector<std::vector<Episode>> test_eps;
  for (std::size_t s = 0; s < cfg.seeds.size(); ++s) {
    for (std::size_t f = 0; f < cfg.folds.size(); ++f)
      val_eps[s].push_back(
          draw_episodes(cfg.val_episodes, ta::Rng(cfg.seeds[s], kValStream + 16 * f), held_out(cfg.folds[f]), d.pool));
    test_eps.push_back(draw_episodes(cfg.test_episodes, ta::Rng(cfg.seeds[s], kTestStream), unseen, d.pool));
  }
  std::printf("\n== %s network 64 -> 32 %s -> 3: %zu parameters, training memory (SGD) %zu B, %zu MACs per "
              "training step\n",
              net_name, net_name, Net::param_count, ta::training_memory<Net, ta::SGD<Net>>().total(), B::step_macs);

  // Meta-training on each fold and class-disjoint validation of every configuration.
  struct Config {
    Method m;
    float eps0, lr;
    std::vector<Run<Net>> runs;    // validation: [seed * folds + fold]
    std::vector<Run<Net>> finals;  // the chosen ones, meta-trained on 0-5: [seed]
    double val = 0;
  };
  std::vector<Config> configs;
  for (float e : cfg.eps0s)
    for (float lr : cfg.device_lrs) configs.push_back({Method::tinyreptile, e, lr, {}, {}});
  for (float e : cfg.eps0s) configs.push_back({Method::reptile, e, kBatchLr, {}, {}});
  for (float lr : cfg.device_lrs) configs.push_back({Method::fedavg, 1.0f, lr, {}, {}});
  for (float lr : cfg.joint_lrs) configs.push_back({Method::joint, 0.0f, lr, {}, {}});
  configs.push_back({Method::scratch, 0.0f, 0.0f, {}, {}});

  std::printf("\nvalidation (class-disjoint: meta-train on {0,1,2}, validate on 3-way 5-shot episodes of {3,4,5}, and "
              "the reverse; score = accuracy %% averaged over steps 1, 4, 8, 32, mean ± std over %zu folds x %zu "
              "seed(s); hidden: %s)\n",
              cfg.folds.size(), cfg.seeds.size(), B::relu ? "dead ReLU units of 32" : "% of tanh outputs beyond ±0.99");
  for (Config& c : configs) {
    std::vector<double> vals, vals32, hidden;
    for (std::size_t s = 0; s < cfg.seeds.size(); ++s)
      for (std::size_t f = 0; f < cfg.folds.size(); ++f) {
        char what[128];
        std::snprintf(what, sizeof what, "%s %s eps0 %.2f lr %.3f fold %zu seed %llu", net_name, name(c.m),
                      static_cast<double>(c.eps0), static_cast<double>(c.lr), f + 1,
                      static_cast<unsigned long long>(cfg.seeds[s]));
        g_progress.run = what;
        const B bench{d, cfg, cfg.folds[f], val_eps[s][f]};
        c.runs.push_back(bench.train(c.m, c.eps0, c.lr, cfg.seeds[s]));
        vals.push_back(static_cast<double>(c.runs.back().val));
        vals32.push_back(static_cast<double>(c.runs.back().val32));
        hidden.push_back(static_cast<double>(c.runs.back().hidden_stat));
      }
    c.val = mean_std(vals).mean;
    double secs = 0;
    std::uint32_t refused = 0, skipped = 0;
    for (const Run<Net>& r : c.runs) {
      secs += r.seconds;
      refused += r.refused;
      skipped += r.skipped;
    }
    std::printf("  %-6s %-12s eps0 %.2f lr %.3f: score %5.1f ± %.1f, after 32 steps %5.1f %%, hidden %5.1f, %.2f s "
                "meta-training per run, %u refused updates, %u skipped samples\n",
                net_name, name(c.m), static_cast<double>(c.eps0), static_cast<double>(c.lr), c.val, mean_std(vals).std,
                mean_std(vals32).mean, mean_std(hidden).mean, secs / static_cast<double>(c.runs.size()), refused,
                skipped);
  }

  // Choices on validation: per (method, ε0) the best lr, then the best ε0.
  const auto best = [&](Method m, float eps0, bool any_eps) {
    Config* b = nullptr;
    for (Config& c : configs)
      if (c.m == m && (any_eps || c.eps0 == eps0) && (b == nullptr || c.val > b->val)) b = &c;
    return b;
  };
  std::vector<Config*> shown;
  for (float e : cfg.eps0s) shown.push_back(best(Method::tinyreptile, e, false));
  for (float e : cfg.eps0s) shown.push_back(best(Method::reptile, e, false));
  shown.push_back(best(Method::fedavg, 0, true));
  shown.push_back(best(Method::joint, 0, true));
  shown.push_back(best(Method::scratch, 0, true));
  const Config* chosen_tiny = best(Method::tinyreptile, 0, true);
  const Config* chosen_rep = best(Method::reptile, 0, true);
  for (const Config* c : shown) {
    const float lr0 = c->lr;
    const auto& grid = c->m == Method::joint ? cfg.joint_lrs : cfg.device_lrs;
    if ((c->m == Method::tinyreptile || c->m == Method::fedavg || c->m == Method::joint) && grid.size() > 1 &&
        (lr0 == grid.front() || lr0 == grid.back()))
      std::printf("note: %s %s eps0 %.2f: the best lr %.3f is at the edge of the grid\n", net_name, name(c->m),
                  static_cast<double>(c->eps0), static_cast<double>(lr0));
  }

  // The shown configurations meta-trained on all of 0-5, every seed.
  for (Config* c : shown)
    for (std::uint64_t seed : cfg.seeds) {
      char what[128];
      std::snprintf(what, sizeof what, "%s %s eps0 %.2f lr %.3f classes 0-5 seed %llu", net_name, name(c->m),
                    static_cast<double>(c->eps0), static_cast<double>(c->lr), static_cast<unsigned long long>(seed));
      g_progress.run = what;
      const B bench{d, cfg, meta_classes, no_episodes};
      c->finals.push_back(bench.train(c->m, c->eps0, c->lr, seed));
    }

  // Test: the shown configurations, every seed, 5-shot and 1-shot.
  Headline h;
  for (std::size_t shots : {std::size_t{5}, std::size_t{1}}) {
    char title[160];
    std::snprintf(title, sizeof title,
                  "test (classes 6-9, %zu episodes per seed, 3-way %zu-shot, query accuracy %% mean ± std over %zu "
                  "seed(s); * = chosen on validation)",
                  cfg.test_episodes, shots, cfg.seeds.size());
    print_header(title);
    for (const Config* c : shown) {
      Row r;
      r.net = net_name;
      r.method = name(c->m);
      r.eps0 = c->eps0;
      r.lr = c->lr;
      r.shots = shots;
      r.chosen = c == chosen_tiny || c == chosen_rep || c->m == Method::fedavg || c->m == Method::joint ||
                 c->m == Method::scratch;
      r.val = c->val;
      std::vector<double> seconds, hidden;
      for (std::size_t s = 0; s < c->finals.size(); ++s) {
        const Run<Net>& run = c->finals[s];
        char what[128];
        std::snprintf(what, sizeof what, "test %s %s eps0 %.2f %zu-shot seed %llu", net_name, name(c->m),
                      static_cast<double>(c->eps0), shots, static_cast<unsigned long long>(cfg.seeds[s]));
        g_progress.run = what;
        r.per_seed.push_back(evaluate<Net>(run.theta, test_eps[s], cfg.test_episodes, shots, d));
        seconds.push_back(run.seconds);
        hidden.push_back(static_cast<double>(run.hidden_stat));
        r.seconds += run.seconds;
        r.visits += c->m == Method::scratch ? 0 : cfg.rounds;
      }
      r.hidden = mean_std(hidden).mean;
      print_row(r);
      csv_rows<B>(out, r, c->m, seconds, cfg.seeds);
      out.rows.push_back(r);
      if (c == chosen_tiny) (shots == 5 ? h.tiny5 : h.tiny1) = r;
      if (c == chosen_rep) (shots == 5 ? h.rep5 : h.rep1) = r;
      if (c->m == Method::scratch) (shots == 5 ? h.scratch5 : h.scratch1) = r;
      if (shots == 5 && c->m == Method::fedavg) h.fed5 = r;
      if (shots == 5 && c->m == Method::joint) h.joint5 = r;
    }
  }

  // Validation curves of the shown meta-trained configurations (mean over seeds).
  for (const Config* c : shown) {
    if (c->m == Method::scratch) continue;
    std::vector<const Run<Net>*> runs;
    for (const Run<Net>& r : c->runs) runs.push_back(&r);
    char label[96];
    if (c->m == Method::tinyreptile || c->m == Method::reptile)
      std::snprintf(label, sizeof label, "%s eps0 %.1f", name(c->m), static_cast<double>(c->eps0));
    else
      std::snprintf(label, sizeof label, "%s", name(c->m));
    add_curve(curves, net_name, label, runs);
  }

  std::printf("\ndevice cost per round (%s): method, RAM bytes, training MACs, bytes sent, host us per device round\n",
              net_name);
  for (Method m : {Method::tinyreptile, Method::reptile, Method::fedavg, Method::joint}) {
    double secs = 0;
    std::size_t n = 0;
    for (const Config& c : configs)
      if (c.m == m)
        for (const Run<Net>& r : c.runs) {
          secs += r.seconds;
          ++n;
        }
    std::printf("  %-12s %7zu %8zu %7zu %8.1f\n", name(m), B::device_ram(m), B::device_macs(m), B::bytes_sent(m),
                n ? 1e6 * secs / static_cast<double>(n * cfg.rounds) : 0.0);
  }
  return h;
}

// ---------------------------------------------------------------- plot

std::string with_suffix(const std::string& csv, const char* suffix) {
  const std::size_t dot = csv.rfind('.'), slash = csv.rfind('/');
  const std::string stem = dot != std::string::npos && (slash == std::string::npos || dot > slash) ? csv.substr(0, dot)
                                                                                                    : csv;
  return stem + suffix;
}

// Writes the curves' data file; plots them with gnuplot when it is there.
// Returns false when the data cannot be written or gnuplot fails.
bool plot(const Curves& c, const Settings& cfg, const std::string& dat, const std::string& png) {
  std::FILE* f = std::fopen(dat.c_str(), "w");
  if (f == nullptr) {
    std::fprintf(stderr, "reptile_digits: cannot write %s\n", dat.c_str());
    return false;
  }
  std::fprintf(f, "# device_visits");
  for (const std::string& n : c.names) std::fprintf(f, " \"%s\"", n.c_str());
  std::fprintf(f, "\n");
  const std::size_t points = c.columns.empty() ? 0 : c.columns.front().size();
  for (std::size_t i = 0; i < points; ++i) {
    std::fprintf(f, "%zu", i * cfg.curve_every);
    for (const auto& col : c.columns) std::fprintf(f, " %.3f", i < col.size() ? col[i] : 0.0);
    std::fprintf(f, "\n");
  }
  std::fclose(f);
  Plot figure(with_suffix(png, ".gp"), png, dat);
  std::FILE* g = figure.script();
  if (g == nullptr) return figure.run();
  std::fprintf(g,
               "set terminal pngcairo size 1200,900 font \",10\"\nset output \"%s\"\n"
               "set multiplot layout 2,2 title \"P2 digits: class-disjoint validation accuracy (meta-train on "
               "{0,1,2}, validate on {3,4,5} and the reverse; 3-way 5-shot), mean over folds and %zu seed(s)\"\n"
               "set xlabel \"device visits (rounds of one device)\"\nset ylabel \"query accuracy %%\"\nset grid\n"
               "set key bottom right\n",
               png.c_str(), cfg.seeds.size());
  for (const char* steps : {"4", "32"})
    for (const char* net : {"tanh", "relu"}) {
      const std::string prefix = std::string(net) + " " + steps + " ";
      std::fprintf(g, "set title \"%s, after %s adaptation steps\"\nplot", net, steps);
      bool first = true;
      for (std::size_t i = 0; i < c.names.size(); ++i) {
        if (c.names[i].compare(0, prefix.size(), prefix) != 0) continue;
        std::fprintf(g, "%s \"%s\" using 1:%zu with linespoints lw 2 pt 7 ps 0.5 title \"%s\"", first ? "" : ",",
                     dat.c_str(), i + 2, c.names[i].c_str() + prefix.size());
        first = false;
      }
      std::fprintf(g, "\n");
    }
  std::fprintf(g, "unset multiplot\n");
  return figure.run();
}

// ---------------------------------------------------------------- targets

bool beats(const Row& a, const Row& b, std::size_t j) { return a.at(j).mean > b.at(j).mean; }

// Prints the P2 targets; returns whether the quick mode's assertion holds
// (meta-learned inits ahead of scratch after 1 and 4 steps).
bool targets(const char* net, const Headline& h) {
  const MeanStd t32 = h.tiny5.at(4), r32 = h.rep5.at(4);
  std::printf("\ntargets (%s, 5-shot, chosen eps0: tinyreptile %.1f lr %.3f, reptile %.1f):\n", net,
              static_cast<double>(h.tiny5.eps0), static_cast<double>(h.tiny5.lr), static_cast<double>(h.rep5.eps0));
  std::printf("  tinyreptile within 2 points of batch reptile after 32 steps: %.1f vs %.1f (%+.1f): %s\n", t32.mean,
              r32.mean, t32.mean - r32.mean, t32.mean >= r32.mean - 2.0 ? "met" : "MISSED");
  const double s4 = h.scratch5.at(2).mean, t4 = h.tiny5.at(2).mean, r4 = h.rep5.at(2).mean;
  std::printf("  both meta-learned inits >= 10 points ahead of scratch after 4 steps: tinyreptile %.1f, reptile %.1f, "
              "scratch %.1f (%+.1f, %+.1f): %s\n",
              t4, r4, s4, t4 - s4, r4 - s4, t4 - s4 >= 10.0 && r4 - s4 >= 10.0 ? "met" : "MISSED");
  bool ok = true;
  for (const Row* r : {&h.tiny5, &h.rep5, &h.tiny1, &h.rep1})
    for (std::size_t j : {std::size_t{1}, std::size_t{2}}) {
      const Row& s = r->shots == 5 ? h.scratch5 : h.scratch1;
      if (!beats(*r, s, j)) {
        std::printf("  FAILED: %s %s %zu-shot after %u steps: %.1f, scratch %.1f\n", net, r->method.c_str(), r->shots,
                    kReportAt[j], r->at(j).mean, s.at(j).mean);
        ok = false;
      }
    }
  std::printf("  meta-learned inits (tinyreptile, reptile; 5- and 1-shot) beat scratch after 1 and 4 steps: %s\n",
              ok ? "yes" : "NO");
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows through a pipe (| tee)
  Settings cfg;
  std::string csv_path = "reptile_digits.csv";
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      cfg.quick = true;
    } else if (std::strcmp(argv[i], "--csv") == 0 && i + 1 < argc) {
      csv_path = argv[++i];
    } else {
      std::fprintf(stderr, "usage: reptile_digits [--quick] [--csv FILE]\n");
      return 2;
    }
  }
  if (cfg.quick) {  // one grid point of each learning-rate sweep
    cfg.rounds = 1000;
    cfg.test_episodes = 60;
    cfg.val_episodes = 50;
    cfg.curve_episodes = 20;
    cfg.curve_every = 500;
    cfg.seeds = {1};
    cfg.eps0s = {0.1f, 1.0f};
    cfg.device_lrs = {0.1f};
    cfg.joint_lrs = {0.03f};
  }
  const std::size_t n_lr = cfg.device_lrs.size(), n_e = cfg.eps0s.size();
  const double trained_configs = static_cast<double>(n_e * n_lr + n_e + n_lr + cfg.joint_lrs.size());
  const double finals = static_cast<double>(2 * n_e + 2);  // the shown ones, scratch needs no training
  g_progress.work_total = 2.0 * static_cast<double>(cfg.seeds.size()) * cfg.rounds *
                          (trained_configs * static_cast<double>(cfg.folds.size()) + finals);

  std::printf("P2 few-shot digits%s: meta-train on classes 0-5, test 3-way 5-shot and 1-shot on 6-9; %u device "
              "rounds of 30 samples, %zu test episodes per seed, seeds",
              cfg.quick ? " (quick mode)" : "", cfg.rounds, cfg.test_episodes);
  for (std::uint64_t s : cfg.seeds) std::printf(" %llu", static_cast<unsigned long long>(s));
  std::printf("\n");

  static Digits digits;
  if (!load(digits)) return 1;
  std::printf("data: %zu digits; meta-training classes", digits.all.size());
  for (unsigned c = 0; c < 6; ++c) std::printf(" %zu", digits.pool[c].size());
  std::printf(", test classes");
  for (unsigned c = 6; c < 10; ++c) std::printf(" %zu", digits.pool[c].size());
  std::printf("\n");

  Output out;
  out.csv = std::fopen(csv_path.c_str(), "w");
  if (out.csv == nullptr) {
    std::fprintf(stderr, "reptile_digits: cannot write %s\n", csv_path.c_str());
    return 1;
  }
  std::fprintf(out.csv,
               "method,k,eps0,seed,metric_step0,metric_step1,metric_step4,metric_step8,metric_step32,device_ram_bytes,"
               "device_macs_per_round,bytes_per_round,host_seconds\n");

  Curves curves;
  const Headline tanh_h = run_network<ta::Tanh>("tanh", digits, cfg, out, curves);
  const Headline relu_h = run_network<ta::ReLU>("relu", digits, cfg, out, curves);
  std::fclose(out.csv);
  std::size_t csv_lines = 0;
  for (const Row& r : out.rows) csv_lines += r.per_seed.size();
  std::printf("\nresults: %s (%zu rows)\n", csv_path.c_str(), csv_lines);

  const bool plotted = plot(curves, cfg, with_suffix(csv_path, ".curves.dat"), with_suffix(csv_path, ".png"));
  const bool tanh_ok = targets("tanh", tanh_h), relu_ok = targets("relu", relu_h);

  const double ram_ratio = static_cast<double>(Bench<ta::Tanh>::device_ram(Method::tinyreptile)) /
                           static_cast<double>(Bench<ta::Tanh>::device_ram(Method::reptile));
  const double mac_ratio = static_cast<double>(Bench<ta::Tanh>::device_macs(Method::tinyreptile)) /
                           static_cast<double>(Bench<ta::Tanh>::device_macs(Method::reptile));
  std::printf("\nsavings (tanh): tinyreptile / batch reptile device RAM %.2fx, training MACs per round %.2fx\n",
              ram_ratio, mac_ratio);
  std::printf("done in %.0f s\n", seconds_since(g_progress.start));
  if (!plotted) return 1;
  if (cfg.quick && !(tanh_ok && relu_ok)) {
    std::printf("quick check FAILED: a meta-learned init did not beat scratch\n");
    return 1;
  }
  return 0;
}
