// P1 (../shared/guides/protocols.md) pieces shared by host programs: sine
// tasks y = A sin(x + φ), A ~ U[0.1, 5], φ ~ U[0, 2π], x ~ U[-5, 5]; a
// device's sample stream; few-shot test tasks and their evaluation (from θ,
// K = 10 shots, 32 full-batch SGD steps of lr 0.02, MSE on 50 evenly spaced
// x in [-5, 5]), as examples/reptile_sine.cpp defines them.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <tinyadapt/tinyadapt.hpp>

namespace p1 {

namespace ta = tinyadapt;

using W1 = ta::Sequential<ta::Input<1>, ta::Dense<64>, ta::Tanh, ta::Dense<64>, ta::Tanh, ta::Dense<1>>;

constexpr float kTwoPi = 6.28318530717958647692f;
constexpr std::size_t kShots = 10;  // K
constexpr std::size_t kQuery = 50;  // evenly spaced x in [-5, 5]
constexpr float kAdaptLr = 0.02f;   // full-batch SGD of the adaptation
constexpr std::uint32_t kReportAt[] = {0, 1, 4, 8, 32};
constexpr std::size_t kMetrics = sizeof kReportAt / sizeof kReportAt[0];

struct Task {
  float amplitude = 1.0f, phase = 0.0f;
  float operator()(float x) const { return amplitude * std::sin(x + phase); }
};
inline Task draw_task(ta::Rng& rng) {
  Task t;
  t.amplitude = rng.uniform(0.1f, 5.0f);
  t.phase = rng.uniform(0.0f, kTwoPi);
  return t;
}
inline float query_x(std::size_t i) {
  return -5.0f + 10.0f * static_cast<float>(i) / static_cast<float>(kQuery - 1);
}

// A device's samples of its task, x ~ U[-5, 5], as sample(i, x) -> target.
struct Stream {
  ta::Rng* rng;
  Task task;
  float target = 0.0f;
  const float* operator()(std::size_t, float* x) {
    x[0] = rng->uniform(-5.0f, 5.0f);
    target = task(x[0]);
    return &target;
  }
};

struct FewShotTask {
  Task task;
  float shot_x[kShots];
};
inline std::vector<FewShotTask> make_tasks(std::size_t n, ta::Rng rng) {
  std::vector<FewShotTask> v(n);
  for (FewShotTask& f : v) {
    f.task = draw_task(rng);
    for (float& x : f.shot_x) x = rng.uniform(-5.0f, 5.0f);
  }
  return v;
}

// What one evaluating thread needs (heap-allocate it: a W1 and an accumulator).
struct Evaluator {
  W1 net;
  ta::GradientAccumulator<W1> acc;
};

// Sums of the query MSE after 0/1/4/8/32 steps over tasks[begin, end), and
// how many adaptations failed (a model error: counted as NaN by the caller).
inline void evaluate(Evaluator& e, ta::Span<const float> theta, const FewShotTask* tasks, std::size_t n,
                     double (&sum)[kMetrics], unsigned& failures) {
  ta::SGD<W1> sgd(kAdaptLr);
  for (std::size_t t = 0; t < n; ++t) {
    const FewShotTask& f = tasks[t];
    float shot_target = 0.0f, query_target = 0.0f;
    const auto shot = [&](std::size_t i, float* x) {
      x[0] = f.shot_x[i];
      shot_target = f.task(x[0]);
      return static_cast<const float*>(&shot_target);
    };
    const auto eval = [&](W1& net) {
      return ta::meta::mean_squared_error(net, kQuery, [&](std::size_t i, float* x) {
        x[0] = query_x(i);
        query_target = f.task(x[0]);
        return static_cast<const float*>(&query_target);
      });
    };
    float m[kMetrics];
    const ta::Status st = ta::meta::adapt<ta::MSE>(e.net, sgd, e.acc, theta, ta::meta::AdaptMode::full_batch, kShots,
                                                   shot, kReportAt, m, eval);
    if (st != ta::Status::ok) ++failures;
    for (std::size_t j = 0; j < kMetrics; ++j) sum[j] += st == ta::Status::ok ? static_cast<double>(m[j]) : NAN;
  }
}

}  // namespace p1
