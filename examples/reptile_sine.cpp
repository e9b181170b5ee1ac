// P1 (../shared/guides/protocols.md): sine few-shot regression with
// TinyReptile and its baselines, on the network W1 (1 -> 64 tanh -> 64 tanh -> 1).
//
//   reptile_sine [--quick] [--csv FILE] [--rounds N] [--lr LR] [--speed] [--study]
//
//   (no flags)  the full protocol: a study of the online learning rate of
//               batch-1 SGD on W1 (validation tasks), then 30,000 device visits
//               per method and seed (3 seeds), evaluation on 200 unseen test
//               tasks, and the timed 30,000-round TinyReptile k = 10 run
//   --quick     the test's mode: 1 seed, 1,000 device visits, fewer tasks; fails
//               (exit 3) unless the meta-learned inits beat scratch after 1 and 4 steps
//   --csv FILE  where the results go (default: reptile_sine.csv next to the
//               program); the validation curve goes to FILE's stem + .curve.txt and
//               its plot (gnuplot, skipped with a message when missing) to .png
//   --rounds N  device visits per method instead of 30,000 (the PyTorch
//               cross-check, tools/reptile_sine_torch.py, compares at equal rounds)
//   --lr LR     the online device lr, instead of the study's choice (the study is skipped)
//   --speed     only the timed 30,000-round TinyReptile k = 10 meta-training
//   --study     only the learning-rate study
//
// Methods (CSV names): tinyreptile (one device per round, online SGD on k
// streamed samples, θ ← θ + ε_t(φ − θ), ε linearly decayed from ε0 to 0),
// reptile (batch Reptile: 50 stored points, 5 minibatch SGD steps of 10, lr
// 0.02, the same ε schedule), fedavg (5 devices per round, the same online
// local training, θ ← sample-weighted mean of φ; 1/5 of the rounds), joint
// (one network trained online on every task's samples, the same samples) and
// scratch (the initialisation itself). ε0 ∈ {0.1, 0.5, 1.0} is chosen on
// validation tasks, never on the test tasks.
//
// CSV columns: method,k,eps0,seed, test MSE after 0/1/4/8/32 adaptation steps
// (mean over the test tasks), device_ram_bytes (the memory report of what one
// device holds during a round: network + optimizer, plus the stored batch and
// the gradient accumulator for batch Reptile), device_macs_per_round (of one
// participating device), bytes_per_round (sent by one participating device:
// φ as float32; joint: the raw samples a device would send instead, 8 bytes
// each), host_seconds (the meta-training on the host, evaluations excluded).
// fedavg's eps0 is its effective server step, 1; joint and scratch have 0.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <tinyadapt/tinyadapt.hpp>

#include "gnuplot.hpp"
#include "p1_sine.hpp"
#include "stats.hpp"

namespace ta = tinyadapt;
namespace meta = ta::meta;

namespace {

// P1's network, tasks, test tasks and evaluation (examples/p1_sine.hpp).
using p1::W1;
using p1::kShots;
using p1::kReportAt;
using p1::kMetrics;
using p1::FewShotTask;
using p1::make_tasks;
using p1::kAdaptLr;
using p1::kQuery;
using p1::query_x;
using p1::Task;
using Opt = ta::SGD<W1>;
using Batch = meta::SampleBatch<ta::MSE, W1, 50>;
using Clock = std::chrono::steady_clock;

constexpr float kBatchLr = 0.02f;        // batch Reptile's inner SGD
constexpr std::size_t kBatchPoints = 50, kMinibatch = 10, kBatchSteps = 5;
constexpr unsigned kFedDevices = 5;
constexpr float kEps0[] = {0.1f, 0.5f, 1.0f};

// Device cost model (memory report, MAC counts of the layers).
constexpr std::size_t kOnlineRam = ta::training_memory<W1, Opt>().total();
constexpr std::size_t kBatchRam = kOnlineRam + sizeof(Batch) + sizeof(ta::GradientAccumulator<W1>);
// One training sample: forward, weight gradient (the rank-1 update) and input
// gradient of every layer but the first.
constexpr std::size_t kStepMacs = 3 * W1::macs - W1::layer<0>::macs;
constexpr std::size_t kPhiBytes = 4 * W1::param_count;
static_assert(kStepMacs == 12608, "W1's training step is 4,224 forward + 4,224 dW + 4,160 dx MACs");

enum class Method { tinyreptile, reptile, fedavg, joint, scratch };
const char* name_of(Method m) {
  switch (m) {
    case Method::tinyreptile: return "tinyreptile";
    case Method::reptile: return "reptile";
    case Method::fedavg: return "fedavg";
    case Method::joint: return "joint";
    case Method::scratch: return "scratch";
  }
  return "?";
}

// The devices of a run: one generator for their tasks and samples
// (p1::Stream reads it), as sample(i, x) -> target.
struct Stream {
  ta::Rng rng;
  p1::Stream device{&rng, {}};
  explicit Stream(ta::Rng r) : rng(r) {}
  Stream(const Stream&) = delete;
  void next_task() { device.task = p1::draw_task(rng); }
  const float* operator()(std::size_t i, float* x) { return device(i, x); }
};

// Random streams per seed: the same tasks and samples for every method.
ta::Rng init_rng(std::uint64_t seed) { return ta::Rng(seed, 10); }
ta::Rng data_rng(std::uint64_t seed) { return ta::Rng(seed, 11); }
ta::Rng validation_rng(std::uint64_t seed) { return ta::Rng(seed, 12); }
ta::Rng test_rng(std::uint64_t seed) { return ta::Rng(seed, 13); }

using Metrics = std::array<double, kMetrics>;

W1 g_device, g_joint, g_init;
p1::Evaluator g_eval;
ta::GradientAccumulator<W1> g_batch_acc;
Batch g_batch;
unsigned g_adapt_failures = 0;

// Mean MSE on the query grid after 0/1/4/8/32 full-batch steps from θ.
Metrics evaluate(ta::Span<const float> theta, const std::vector<FewShotTask>& tasks) {
  double sums[kMetrics] = {};
  p1::evaluate(g_eval, theta, tasks.data(), tasks.size(), sums, g_adapt_failures);
  Metrics sum{};
  for (std::size_t j = 0; j < kMetrics; ++j) sum[j] = sums[j];
  for (double& s : sum) s /= static_cast<double>(tasks.size());
  return sum;
}

struct Config {
  Method method;
  unsigned k;     // samples per device visit
  float eps0;     // server step at round 0
  float lr;       // online device lr (tinyreptile, fedavg, joint)
  float max_norm; // the device optimizer's per-layer clipping
};

struct Run {
  Config config;
  std::uint64_t seed = 0;
  Metrics test{};
  double val32 = NAN;              // validation MSE after 32 steps, at the end
  double seconds = 0.0;            // meta-training, evaluations excluded
  unsigned rejected = 0;           // device rounds that produced no usable φ
  unsigned skipped = 0;            // samples refused inside the rounds
  std::vector<std::pair<unsigned, double>> curve;  // (device visits, validation MSE after 32 steps)
};

std::size_t ram_of(const Config& c) {
  if (c.method == Method::scratch) return 0;
  return c.method == Method::reptile ? kBatchRam : kOnlineRam;
}
std::size_t macs_of(const Config& c) {
  switch (c.method) {
    case Method::reptile:  // 50 sample gradients, 5 mean-gradient updates (one MAC per parameter)
      return kBatchPoints * kStepMacs + kBatchSteps * W1::param_count;
    case Method::scratch: return 0;
    default: return c.k * kStepMacs;
  }
}
std::size_t bytes_of(const Config& c) {
  if (c.method == Method::scratch) return 0;
  return c.method == Method::joint ? c.k * 2 * sizeof(float) : kPhiBytes;
}

struct Plan {
  unsigned visits = 30000;      // device visits (tasks seen) per method
  unsigned checkpoints = 10;    // validation points on the curve (plus visit 0)
  std::size_t val_tasks = 100, test_tasks = 200;
  bool progress = true;
};

// Meta-trains one configuration for one seed and evaluates it.
Run run(const Config& c, std::uint64_t seed, const Plan& plan, const std::vector<FewShotTask>& val,
        const std::vector<FewShotTask>* test) {
  Run out;
  out.config = c;
  out.seed = seed;
  ta::Rng irng = init_rng(seed);
  g_init.init(irng);  // PyTorch's default, the same θ0 for every method of a seed
  Stream sample(data_rng(seed));
  Opt device_opt(c.lr, c.max_norm);
  const unsigned per_round = c.method == Method::fedavg ? kFedDevices : 1;
  const unsigned rounds = c.method == Method::scratch ? 0 : plan.visits / per_round;

  std::unique_ptr<meta::Server<W1>> server;
  std::unique_ptr<meta::Server<W1, ta::ConstantLR>> fed;
  std::function<void()> round;
  std::function<ta::Span<const float>()> theta;
  const auto count = [&](const meta::RoundResult& r) {
    out.skipped += r.skipped;
    if (!r.ok()) ++out.rejected;
    return r.ok();
  };
  switch (c.method) {
    case Method::tinyreptile:
    case Method::reptile:
      server = std::make_unique<meta::Server<W1>>(g_init, ta::LinearDecayLR{c.eps0, 0.0f, rounds});
      theta = [&] { return server->theta(); };
      round = [&] {
        sample.next_task();
        meta::RoundResult r;
        if (c.method == Method::tinyreptile) {
          r = meta::device_round<ta::MSE>(g_device, device_opt, server->theta(), c.k, sample);
        } else {
          out.skipped += g_batch.fill(kBatchPoints, sample);
          Opt inner(kBatchLr);
          r = meta::batch_round(g_device, inner, g_batch_acc, server->theta(), g_batch, kMinibatch, kBatchSteps);
        }
        if (count(r)) server->add(g_device.parameters(), r.trained);
        server->end_round();
      };
      break;
    case Method::fedavg:
      fed = std::make_unique<meta::Server<W1, ta::ConstantLR>>(g_init, ta::ConstantLR{1.0f}, meta::Aggregation::fedavg);
      theta = [&] { return fed->theta(); };
      round = [&] {
        for (unsigned d = 0; d < kFedDevices; ++d) {
          sample.next_task();
          const meta::RoundResult r = meta::device_round<ta::MSE>(g_device, device_opt, fed->theta(), c.k, sample);
          if (count(r)) fed->add(g_device.parameters(), r.trained);
        }
        fed->end_round();
      };
      break;
    case Method::joint:
      g_joint.parameters();  // marks it initialised
      std::memcpy(g_joint.parameters().data(), g_init.parameters().data(), kPhiBytes);
      theta = [&] { return static_cast<const W1&>(g_joint).parameters(); };
      round = [&] {
        sample.next_task();
        float x[1];
        for (unsigned i = 0; i < c.k; ++i) {
          const float* t = sample(i, x);
          if (!ta::train_step<ta::MSE>(g_joint, device_opt, x, t).ok()) ++out.skipped;
        }
      };
      break;
    case Method::scratch:
      theta = [&] { return static_cast<const W1&>(g_init).parameters(); };
      break;
  }

  const unsigned every = rounds / (plan.checkpoints ? plan.checkpoints : 1);
  const auto checkpoint = [&](unsigned r) {
    out.curve.emplace_back(r * per_round, evaluate(theta(), val)[kMetrics - 1]);
  };
  checkpoint(0);
  const Clock::time_point started = Clock::now();
  Clock::time_point last = started;
  Clock::duration training{};
  for (unsigned r = 0; r < rounds;) {
    const Clock::time_point t0 = Clock::now();
    const unsigned next_checkpoint = every ? (r / every + 1) * every : rounds;
    const unsigned stop = std::min({rounds, r + 64, next_checkpoint});
    for (; r < stop; ++r) round();
    const Clock::time_point t1 = Clock::now();
    training += t1 - t0;
    if (every && r % every == 0) checkpoint(r);
    if (plan.progress && t1 - last > std::chrono::seconds(2) && r < rounds) {
      last = t1;
      const double done = std::chrono::duration<double>(t1 - started).count();
      std::printf("progress: %s k=%u eps0=%.1f seed %llu: round %u/%u, %.0f rounds/s, validation MSE@32 %.3f, ETA %.0f s\n",
                  name_of(c.method), c.k, static_cast<double>(c.eps0), static_cast<unsigned long long>(seed), r,
                  rounds, r / done, out.curve.back().second, done * (rounds - r) / r);
    }
  }
  if (out.curve.back().first != rounds * per_round) checkpoint(rounds);
  if (c.method == Method::scratch) out.curve.emplace_back(plan.visits, out.curve.back().second);  // a flat line
  out.seconds = std::chrono::duration<double>(training).count();
  out.val32 = out.curve.back().second;
  if (test) out.test = evaluate(theta(), *test);
  return out;
}

// The timed run: TinyReptile k = 10, 30,000 rounds, nothing but the meta-training.
// Wall seconds; cpu receives the process's CPU seconds (the same on an idle
// core, less than wall on a loaded machine).
double timed_tinyreptile(float lr, unsigned rounds, double& cpu) {
  ta::Rng irng = init_rng(1);
  g_init.init(irng);
  Stream sample(data_rng(1));
  const auto owned = std::make_unique<meta::Server<W1>>(g_init, ta::LinearDecayLR{1.0f, 0.0f, rounds});
  meta::Server<W1>& server = *owned;
  Opt sgd(lr);
  const std::clock_t c0 = std::clock();
  const Clock::time_point t0 = Clock::now();
  for (unsigned r = 0; r < rounds; ++r) {
    sample.next_task();
    if (meta::device_round<ta::MSE>(g_device, sgd, server.theta(), 10, sample).ok())
      server.add(g_device.parameters(), 10);
    server.end_round();
  }
  cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// ---------------------------------------------------------------------------
// The online learning rate of batch-1 SGD on W1, on validation tasks.

struct LrPoint {
  float lr, max_norm;
  std::vector<double> single_mse, single_diverged, refused, val10, val50, joint_mse;
};

// One task learnt online from θ0: 1,000 streamed samples; the grid MSE at the
// end, whether it is worse than at the start, and the refused steps.
void single_task(LrPoint& p, std::uint64_t seed, const std::vector<FewShotTask>& val, std::size_t tasks) {
  ta::Rng irng = init_rng(seed), data = data_rng(seed + 1000);
  g_init.init(irng);
  double mse = 0.0, diverged = 0.0, refused = 0.0;
  for (std::size_t t = 0; t < tasks; ++t) {
    const Task task = val[t].task;
    std::memcpy(g_device.parameters().data(), g_init.parameters().data(), kPhiBytes);
    float query_target = 0.0f;
    const auto grid = [&] {
      return meta::mean_squared_error(g_device, kQuery, [&](std::size_t i, float* x) {
        x[0] = query_x(i);
        query_target = task(x[0]);
        return static_cast<const float*>(&query_target);
      });
    };
    const float before = grid();
    Opt sgd(p.lr, p.max_norm);
    for (int i = 0; i < 1000; ++i) {
      const float x = data.uniform(-5.0f, 5.0f), y = task(x);
      if (!ta::train_step<ta::MSE>(g_device, sgd, &x, &y).ok()) refused += 1.0;
    }
    const float after = grid();
    mse += std::isfinite(after) ? after : 1e9;
    diverged += !(after < before) ? 1.0 : 0.0;
  }
  p.single_mse.push_back(mse / static_cast<double>(tasks));
  p.single_diverged.push_back(diverged);
  p.refused.push_back(refused);
}

std::vector<LrPoint> lr_study(const std::vector<std::uint64_t>& seeds, unsigned visits, unsigned joint_visits,
                              const std::vector<std::vector<FewShotTask>>& val) {
  const float lrs[] = {0.002f, 0.005f, 0.01f, 0.0125f, 0.015f, 0.0175f, 0.02f, 0.03f, 0.05f};
  const float norms[] = {ta::default_max_grad_norm, INFINITY};
  std::vector<LrPoint> points;
  Plan plan;
  plan.visits = visits;
  plan.checkpoints = 1;
  plan.progress = false;
  Plan joint_plan = plan;  // the joint network trains on one long stream: its full length
  joint_plan.visits = joint_visits;
  std::printf("\n== online learning rate of batch-1 SGD on W1 (validation tasks, %zu seeds)\n", seeds.size());
  std::printf("single task: 1,000 online samples of one task from θ0, grid MSE (%zu tasks; 'worse': tasks ending above\n"
              "their start, summed); TinyReptile: %u rounds, ε0 = 1 decayed, validation MSE after 32 adaptation steps;\n"
              "joint: %u x 10 samples online, validation MSE after 32 steps\n",
              std::min<std::size_t>(20, val[0].size()), visits, joint_visits);
  std::printf("%-9s %-6s | %-15s %-5s %-7s | %-15s %-15s | %-15s\n", "clip", "lr", "single-task MSE", "worse", "refused",
              "TinyReptile k10", "TinyReptile k50", "joint k10 val@32");
  for (float norm : norms) {
    for (float lr : lrs) {
      LrPoint p{lr, norm, {}, {}, {}, {}, {}, {}};
      for (std::size_t s = 0; s < seeds.size(); ++s) {
        single_task(p, seeds[s], val[s], std::min<std::size_t>(20, val[s].size()));
        for (unsigned k : {10u, 50u}) {
          const Run r = run({Method::tinyreptile, k, 1.0f, lr, norm}, seeds[s], plan, val[s], nullptr);
          (k == 10 ? p.val10 : p.val50).push_back(r.val32);
          p.refused.back() += r.skipped + r.rejected;
        }
        const Run j = run({Method::joint, 10, 0.0f, lr, norm}, seeds[s], joint_plan, val[s], nullptr);
        p.joint_mse.push_back(j.curve.back().second);
        p.refused.back() += j.skipped;
      }
      std::printf("%-9s %-6.4f | %-15s %-5.0f %-7.0f | %-15s %-15s | %-15s\n", std::isinf(norm) ? "off" : "1000",
                  static_cast<double>(lr), pm(p.single_mse, "%.4g").c_str(),
                  mean_std(p.single_diverged).mean * static_cast<double>(seeds.size()),
                  mean_std(p.refused).mean * static_cast<double>(seeds.size()), pm(p.val10, "%.4g").c_str(),
                  pm(p.val50, "%.4g").c_str(), pm(p.joint_mse, "%.4g").c_str());
      points.push_back(p);
    }
  }
  return points;
}

// The device lr: the best validation MSE among the learning rates with no
// refused step and no task that ended worse than it started, default clipping.
float choose_lr(const std::vector<LrPoint>& points, bool k50) {
  float best = 0.01f;
  double best_mse = INFINITY;
  for (const LrPoint& p : points) {
    if (std::isinf(p.max_norm) || mean_std(p.refused).mean > 0.0 || mean_std(p.single_diverged).mean > 0.0) continue;
    const double m = mean_std(k50 ? p.val50 : p.val10).mean;
    if (m < best_mse) {
      best_mse = m;
      best = p.lr;
    }
  }
  return best;
}

// The joint network's lr: its best validation MSE, default clipping (a long
// online run diverges at rates a k-sample device round survives).
float choose_joint_lr(const std::vector<LrPoint>& points) {
  float best = 0.01f;
  double best_mse = INFINITY;
  for (const LrPoint& p : points) {
    const double m = mean_std(p.joint_mse).mean;
    if (!std::isinf(p.max_norm) && m < best_mse) {
      best_mse = m;
      best = p.lr;
    }
  }
  return best;
}

// ---------------------------------------------------------------------------

std::string stem_of(const std::string& csv) {
  const std::size_t dot = csv.rfind('.'), slash = csv.rfind('/');
  return dot != std::string::npos && (slash == std::string::npos || dot > slash) ? csv.substr(0, dot) : csv;
}

bool write_csv(const std::string& path, const std::vector<Run>& runs) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return false;
  std::fprintf(f, "method,k,eps0,seed,metric_step0,metric_step1,metric_step4,metric_step8,metric_step32,"
                  "device_ram_bytes,device_macs_per_round,bytes_per_round,host_seconds\n");
  for (const Run& r : runs) {
    std::fprintf(f, "%s,%u,%.1f,%llu", name_of(r.config.method), r.config.k, static_cast<double>(r.config.eps0),
                 static_cast<unsigned long long>(r.seed));
    for (double m : r.test) std::fprintf(f, ",%.6f", m);
    std::fprintf(f, ",%zu,%zu,%zu,%.4f\n", ram_of(r.config), macs_of(r.config), bytes_of(r.config), r.seconds);
  }
  return std::fclose(f) == 0;
}

std::string label_of(const Config& c) {
  char s[64];
  if (c.method == Method::scratch) return "scratch";
  if (c.method == Method::fedavg || c.method == Method::joint)
    std::snprintf(s, sizeof s, "%s k=%u", name_of(c.method), c.k);
  else if (c.method == Method::reptile)
    std::snprintf(s, sizeof s, "reptile eps0=%.1f", static_cast<double>(c.eps0));
  else
    std::snprintf(s, sizeof s, "tinyreptile k=%u eps0=%.1f", c.k, static_cast<double>(c.eps0));
  return s;
}

// Validation curves (mean over seeds) of the chosen configurations, and their
// plot; false when either could not be written.
bool write_curves(const std::string& stem, const std::vector<std::vector<const Run*>>& chosen) {
  const std::string data = stem + ".curve.txt", png = stem + ".png";
  std::FILE* f = std::fopen(data.c_str(), "w");
  if (!f) {
    std::printf("cannot write %s\n", data.c_str());
    return false;
  }
  std::fprintf(f, "# device visits, validation MSE after 32 steps (mean over seeds); one block per method\n");
  for (const auto& runs : chosen) {
    std::fprintf(f, "# %s\n", label_of(runs[0]->config).c_str());
    for (std::size_t i = 0; i < runs[0]->curve.size(); ++i) {
      std::vector<double> v;
      for (const Run* r : runs) v.push_back(r->curve[i].second);
      std::fprintf(f, "%u %.6f\n", runs[0]->curve[i].first, mean_std(v).mean);
    }
    std::fprintf(f, "\n\n");
  }
  std::fclose(f);
  std::printf("validation curves: %s\n", data.c_str());
  Plot figure(stem + ".gnuplot", png, data);
  std::FILE* g = figure.script();
  if (!g) return figure.run();
  std::fprintf(g,
               "set terminal pngcairo size 1100,540 font \",11\"\nset output \"%s\"\n"
               "set title \"P1 sine, W1: validation MSE after 32 adaptation steps (mean over seeds)\"\n"
               "set xlabel \"device visits (tasks seen)\"\nset ylabel \"MSE\"\nset logscale y\nset grid\n"
               "set key outside right\nplot ",
               png.c_str());
  for (std::size_t i = 0; i < chosen.size(); ++i)
    std::fprintf(g, "%s\"%s\" index %zu using 1:2 with linespoints lw 2 title \"%s\"", i ? ", \\\n     " : "",
                 data.c_str(), i, label_of(chosen[i][0]->config).c_str());
  std::fprintf(g, "\n");
  return figure.run();
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // lines show through a pipe (| tee)
  bool quick = false, speed_only = false, study_only = false;
  unsigned visits = 0;
  float given_lr = 0.0f;
  std::string argv0 = argv[0], csv;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else if (std::strcmp(argv[i], "--speed") == 0) {
      speed_only = true;
    } else if (std::strcmp(argv[i], "--study") == 0) {
      study_only = true;
    } else if (std::strcmp(argv[i], "--csv") == 0 && i + 1 < argc) {
      csv = argv[++i];
    } else if (std::strcmp(argv[i], "--lr") == 0 && i + 1 < argc) {
      given_lr = std::strtof(argv[++i], nullptr);
    } else if (std::strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
      visits = static_cast<unsigned>(std::strtoul(argv[++i], nullptr, 10));
    } else {
      std::fprintf(stderr, "usage: reptile_sine [--quick] [--csv FILE] [--rounds N] [--lr LR] [--speed] [--study]\n");
      return 2;
    }
  }
  if (csv.empty()) {
    const std::size_t slash = argv0.rfind('/');
    csv = (slash == std::string::npos ? std::string() : argv0.substr(0, slash + 1)) + "reptile_sine.csv";
  }
  // The device lr used when the study is not run (--quick, --rounds, --speed):
  // what the full study chooses (README).
  constexpr float kDefaultLr10 = 0.015f, kDefaultLr50 = 0.015f, kDefaultLrJoint = 0.01f;
  if (speed_only) {
    double best = INFINITY, best_cpu = INFINITY;
    for (int i = 0; i < 5; ++i) {
      double cpu = 0.0;
      const double s = timed_tinyreptile(kDefaultLr10, 30000, cpu);
      best = std::min(best, s);
      best_cpu = std::min(best_cpu, cpu);
      std::printf("TinyReptile k=10, 30,000 rounds, lr %.3f: meta-training %.3f s wall, %.3f s CPU\n",
                  static_cast<double>(kDefaultLr10), s, cpu);
    }
    std::printf("speed: best of 5 %.3f s wall, %.3f s CPU (target <= 0.5 s)\n", best, best_cpu);
    return 0;
  }

  Plan plan;
  std::vector<std::uint64_t> seeds = {1, 2, 3};
  if (quick) {
    plan.visits = 1000;
    plan.checkpoints = 4;
    plan.val_tasks = 20;
    plan.test_tasks = 50;
    seeds = {1};
  }
  if (visits) plan.visits = visits;
  const bool full = !quick && !visits;

  std::printf("P1 sine few-shot regression, W1 1->64 tanh->64 tanh->1 (%zu parameters), MSE, PyTorch-default init\n",
              W1::param_count);
  std::printf("%u device visits per method, %zu seeds, %zu validation and %zu test tasks per seed, K = %zu shots,"
              " 32 full-batch SGD steps of lr %.2f%s\n",
              plan.visits, seeds.size(), plan.val_tasks, plan.test_tasks, kShots, static_cast<double>(kAdaptLr),
              quick ? " (quick mode)" : "");
  std::printf("device RAM: online %zu B (network %zu + SGD %zu), batch Reptile %zu B (+ stored batch %zu + gradient "
              "accumulator %zu)\n",
              kOnlineRam, sizeof(W1), sizeof(Opt), kBatchRam, sizeof(Batch), sizeof(ta::GradientAccumulator<W1>));
  std::printf("device MACs per training sample %zu; φ sent per round %zu B\n", kStepMacs, kPhiBytes);
#ifndef NDEBUG
  std::printf("note: not a Release build (NDEBUG undefined): host times are not the documented ones\n");
#endif

  std::vector<std::vector<FewShotTask>> val, test;
  for (std::uint64_t s : seeds) {
    val.push_back(make_tasks(plan.val_tasks, validation_rng(s)));
    test.push_back(make_tasks(plan.test_tasks, test_rng(s)));
  }

  float lr10 = given_lr > 0.0f ? given_lr : kDefaultLr10, lr50 = given_lr > 0.0f ? given_lr : kDefaultLr50;
  float lr_joint = given_lr > 0.0f ? given_lr : kDefaultLrJoint;
  if ((full && given_lr <= 0.0f) || study_only) {
    const std::vector<LrPoint> points = lr_study(seeds, 3000, plan.visits, val);
    lr10 = choose_lr(points, false);
    lr50 = choose_lr(points, true);
    lr_joint = choose_joint_lr(points);
  }
  std::printf("\nonline lr: devices k=10 %.4f, k=50 %.4f, joint %.4f%s\n", static_cast<double>(lr10),
              static_cast<double>(lr50), static_cast<double>(lr_joint),
              given_lr > 0.0f ? " (--lr)"
              : full || study_only ? " (chosen by the study on validation tasks)"
                                   : " (the full study's choice)");
  if (study_only) return 0;

  // Configurations, then one run per seed.
  const float clip = ta::default_max_grad_norm;
  std::vector<Config> configs;
  const std::vector<float> eps0s = quick ? std::vector<float>{1.0f} : std::vector<float>(std::begin(kEps0), std::end(kEps0));
  for (unsigned k : {10u, 50u})
    for (float e : eps0s) configs.push_back({Method::tinyreptile, k, e, k == 10 ? lr10 : lr50, clip});
  for (float e : eps0s) configs.push_back({Method::reptile, static_cast<unsigned>(kBatchPoints), e, kBatchLr, clip});
  for (unsigned k : {10u, 50u}) configs.push_back({Method::fedavg, k, 1.0f, k == 10 ? lr10 : lr50, clip});
  for (unsigned k : {10u, 50u}) configs.push_back({Method::joint, k, 0.0f, lr_joint, clip});
  configs.push_back({Method::scratch, 0, 0.0f, 0.0f, clip});

  if (g_adapt_failures) std::printf("(study: %u adaptations from diverged θ refused)\n", g_adapt_failures);
  g_adapt_failures = 0;
  std::printf("\n== meta-training and test (MSE on the %zu test tasks after 0/1/4/8/32 steps)\n", plan.test_tasks);
  std::printf("%-28s %-4s | %8s %8s %8s %8s %8s | %-9s | %-10s %-9s %-8s\n", "method", "seed", "step0", "step1",
              "step4", "step8", "step32", "val@32", "us/round", "rejected", "skipped");
  std::vector<Run> runs;
  for (const Config& c : configs) {
    for (std::size_t s = 0; s < seeds.size(); ++s) {
      Run r = run(c, seeds[s], plan, val[s], &test[s]);
      const unsigned rounds = c.method == Method::fedavg ? plan.visits / kFedDevices : plan.visits;
      std::printf("%-28s %-4llu | %8.4f %8.4f %8.4f %8.4f %8.4f | %9.4f | %10.2f %-9u %-8u\n", label_of(c).c_str(),
                  static_cast<unsigned long long>(r.seed), r.test[0], r.test[1], r.test[2], r.test[3], r.test[4],
                  r.val32, c.method == Method::scratch ? 0.0 : 1e6 * r.seconds / rounds, r.rejected, r.skipped);
      runs.push_back(std::move(r));
    }
  }
  if (g_adapt_failures) std::printf("warning: %u adaptations stopped on a model error\n", g_adapt_failures);

  // ε0 per (method, k) on the validation tasks: the lowest mean validation MSE after 32 steps.
  const auto runs_of = [&](const Config& c) {
    std::vector<const Run*> v;
    for (const Run& r : runs)
      if (r.config.method == c.method && r.config.k == c.k && r.config.eps0 == c.eps0) v.push_back(&r);
    return v;
  };
  const auto column = [](const std::vector<const Run*>& v, std::size_t j) {
    std::vector<double> out;
    for (const Run* r : v) out.push_back(j < kMetrics ? r->test[j] : j == kMetrics ? r->val32 : r->seconds);
    return out;
  };
  std::vector<std::vector<const Run*>> chosen;
  for (const Config& c : configs) {
    const std::vector<const Run*> mine = runs_of(c);
    bool replaced = false, dominated = false;
    for (auto& ch : chosen) {
      const Config& o = ch[0]->config;
      if (o.method != c.method || o.k != c.k) continue;
      if (mean_std(column(mine, kMetrics)).mean < mean_std(column(ch, kMetrics)).mean) {
        ch = mine;
        replaced = true;
      } else {
        dominated = true;
      }
    }
    if (!replaced && !dominated) chosen.push_back(mine);
  }

  std::printf("\n== P1 table: test MSE, mean ± std over %zu seed(s); ε0 chosen on validation tasks\n", seeds.size());
  std::printf("| method | ε0 | step 0 | step 1 | step 4 | step 8 | step 32 | device RAM | device MACs/round | bytes "
              "sent/round | host µs/round |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const auto& ch : chosen) {
    const Config& c = ch[0]->config;
    const unsigned rounds = c.method == Method::fedavg ? plan.visits / kFedDevices : plan.visits;
    std::vector<double> us;
    for (double s : column(ch, kMetrics + 1)) us.push_back(1e6 * s / rounds);
    char name[48];
    std::snprintf(name, sizeof name, "%s%s", name_of(c.method),
                  c.method == Method::scratch || c.method == Method::reptile ? "" : (c.k == 10 ? " k=10" : " k=50"));
    std::printf("| %s | %s | %s | %s | %s | %s | %s | %zu B | %zu | %zu | %s |\n", name,
                c.method == Method::tinyreptile || c.method == Method::reptile
                    ? (std::to_string(c.eps0).substr(0, 3)).c_str()
                    : "–",
                pm(column(ch, 0)).c_str(), pm(column(ch, 1)).c_str(), pm(column(ch, 2)).c_str(),
                pm(column(ch, 3)).c_str(), pm(column(ch, 4)).c_str(), ram_of(c), macs_of(c), bytes_of(c),
                c.method == Method::scratch ? "–" : pm(us, "%.2f").c_str());
  }

  // Targets.
  const auto find = [&](Method m, unsigned k) -> const std::vector<const Run*>* {
    for (const auto& ch : chosen)
      if (ch[0]->config.method == m && (k == 0 || ch[0]->config.k == k)) return &ch;
    return nullptr;
  };
  const auto* tr10 = find(Method::tinyreptile, 10);
  const auto* tr50 = find(Method::tinyreptile, 50);
  const auto* rep = find(Method::reptile, 0);
  const auto* scr = find(Method::scratch, 0);
  const auto* jo10 = find(Method::joint, 10);
  const auto step = [&](const std::vector<const Run*>* v, std::size_t j) { return mean_std(column(*v, j)).mean; };
  bool learns = true;
  std::printf("\n== targets\n");
  const auto target = [](const char* what, double value, double limit, bool below) {
    const bool met = below ? value <= limit : value >= limit;
    std::printf("%-64s %8.3f (%s %.3f): %s\n", what, value, below ? "<=" : ">=", limit, met ? "met" : "MISSED");
  };
  target("TinyReptile k=10 / batch Reptile, MSE after 32 steps", step(tr10, 4) / step(rep, 4), 1.25, true);
  target("TinyReptile / batch Reptile, device RAM", static_cast<double>(kOnlineRam) / kBatchRam, 0.55, true);
  target("TinyReptile k=10 / batch Reptile, device MACs per round",
         static_cast<double>(macs_of((*tr10)[0]->config)) / static_cast<double>(macs_of((*rep)[0]->config)), 0.25, true);
  target("TinyReptile k=50 / batch Reptile, MSE after 32 steps", step(tr50, 4) / step(rep, 4), 0.5, true);
  for (std::size_t j : {1u, 2u, 4u}) {
    char what[96];
    std::snprintf(what, sizeof what, "scratch / TinyReptile k=10, MSE after %u steps", kReportAt[j]);
    target(what, step(scr, j) / step(tr10, j), 1.0, false);
    std::snprintf(what, sizeof what, "joint k=10 / TinyReptile k=10, MSE after %u steps", kReportAt[j]);
    target(what, step(jo10, j) / step(tr10, j), 1.0, false);
  }
  for (const auto* meta_init : {tr10, rep})
    for (std::size_t j : {1u, 2u}) learns = learns && step(meta_init, j) < step(scr, j);

  if (full) {
    double best = INFINITY, best_cpu = INFINITY;
    for (int i = 0; i < 3; ++i) {
      double cpu = 0.0;
      best = std::min(best, timed_tinyreptile(lr10, 30000, cpu));
      best_cpu = std::min(best_cpu, cpu);
    }
    target("TinyReptile k=10, 30,000 rounds meta-training, wall s (best of 3)", best, 0.5, true);
    target("TinyReptile k=10, 30,000 rounds meta-training, CPU s (best of 3)", best_cpu, 0.5, true);
  }

  if (!write_csv(csv, runs)) {
    std::printf("cannot write %s\n", csv.c_str());
    return 1;
  }
  std::printf("\nCSV: %s (%zu rows)\n", csv.c_str(), runs.size());
  const bool plotted = write_curves(stem_of(csv), chosen);
  if (!learns) {
    std::printf("FAILED: a meta-learned init (TinyReptile k=10, batch Reptile) does not beat scratch after 1 and 4 steps\n");
    return 3;
  }
  return plotted ? 0 : 1;
}
