// P1's evaluation of a learned θ (../shared/guides/protocols.md) on test
// tasks given by their seeds (reptile_m4::SineTask: the task, then its 10
// shots): 10 shots, full-batch SGD of lr 0.02 from θ, MSE on 50 evenly
// spaced x in [-5, 5] after 0, 1, 4, 8 and 32 steps, averaged over the
// tasks. For the programs whose devices run reptile_sine_round.hpp's tasks
// (reptile_m4_driver, the federation). Host only (std::vector).
#pragma once
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "m4/reptile_sine_round.hpp"

namespace p1_eval {

namespace ta = tinyadapt;
namespace rm = reptile_m4;
using rm::W1;

inline constexpr std::uint32_t report_at[] = {0, 1, 4, 8, 32};
inline constexpr std::size_t n_report = sizeof report_at / sizeof report_at[0];
using Curve = std::array<double, n_report>;

inline Curve evaluate(ta::Span<const float> theta, const std::vector<std::uint32_t>& tasks) {
  static W1 net;
  static ta::GradientAccumulator<W1> acc;
  ta::SGD<W1> sgd(0.02f);
  Curve mean{};
  for (const std::uint32_t seed : tasks) {
    rm::SineTask task(seed);
    float xs[10], ys[10];
    for (int i = 0; i < 10; ++i) ys[i] = *task.next(&xs[i]);
    const auto shot = [&](std::size_t i, float* x) {
      x[0] = xs[i];
      return static_cast<const float*>(&ys[i]);
    };
    const auto eval = [&](W1& n) {
      float y = 0.0f;
      return ta::meta::mean_squared_error(n, 50, [&](std::size_t i, float* x) {
        x[0] = -5.0f + 10.0f * static_cast<float>(i) / 49.0f;
        y = task.target(x[0]);
        return static_cast<const float*>(&y);
      });
    };
    float metric[n_report];
    if (ta::meta::adapt<ta::MSE>(net, sgd, acc, theta, ta::meta::AdaptMode::full_batch, 10, shot, report_at, metric,
                                 eval) != ta::Status::ok) {
      for (float& m : metric) m = NAN;
    }
    for (std::size_t j = 0; j < n_report; ++j) mean[j] += metric[j] / static_cast<double>(tasks.size());
  }
  return mean;
}

inline void print_curve(const char* label, const Curve& c) {
  std::printf("  %-26s", label);
  for (double v : c) std::printf(" %9.4f", v);
  std::printf("\n");
}

}  // namespace p1_eval
