// Few-shot adaptation of a new device from θ, with the metric recorded after
// chosen steps (e.g. 0, 1, 4, 8, 32) — how a meta-learned initialisation is judged.
//
// full_batch: every step accumulates the gradient over all K shots, then one
// optimizer step (memory: a GradientAccumulator). online: one pass, batch 1,
// step s = after s shots. Shots come from shot(i, x) -> target, called again
// for every full-batch step, so they stay wherever the caller keeps them.
#pragma once
#include <cstddef>
#include <cstdint>

#include "../core/span.hpp"
#include "../core/status.hpp"
#include "../nn/losses.hpp"
#include "../nn/train.hpp"
#include "device.hpp"

namespace tinyadapt::meta {

enum class AdaptMode : unsigned char { full_batch, online };

// Mean over n query samples of the MSE loss; sample(i, x) -> const float* target.
template <class Net, class SampleFn>
float mean_squared_error(Net& net, std::size_t n, SampleFn&& sample) noexcept {
  float x[Net::input_size];
  double sum = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const float* t = sample(i, x);
    sum += MSE::value_and_grad(net.forward(x), t, nullptr, Net::output_size);
  }
  return n ? static_cast<float>(sum / static_cast<double>(n)) : 0.0f;
}

// Loads θ, adapts, and writes eval(net) to metric[j] once report_at[j] steps
// are done (report_at ascending; steps beyond the last report are not run).
// Refused shots are skipped; a model error stops the adaptation and is returned.
template <class Loss, class Net, class Opt, class ShotFn, class EvalFn, std::size_t R>
Status adapt(Net& net, Opt& opt, GradientAccumulator<Net>& acc, Span<const float> theta, AdaptMode mode,
             std::size_t shots, ShotFn&& shot, const std::uint32_t (&report_at)[R], float (&metric)[R],
             EvalFn&& eval) noexcept {
  Status st = detail::load_theta(net, theta);
  if (st != Status::ok) return st;
  opt.reset();
  acc.clear();
  float x[Net::input_size];
  std::size_t next_report = 0;
  const auto report = [&](std::uint32_t done) {
    while (next_report < R && report_at[next_report] == done) metric[next_report++] = eval(net);
  };
  report(0);
  for (std::uint32_t step = 1; next_report < R; ++step) {
    if (mode == AdaptMode::online) {
      if (step > shots) break;
      const auto target = shot(step - 1, x);
      st = train_step<Loss>(net, opt, static_cast<const float*>(x), target).status;
    } else {
      for (std::size_t i = 0; i < shots; ++i) {
        const auto target = shot(i, x);
        const Status a = acc.template add<Loss>(net, static_cast<const float*>(x), target).status;
        if (is_model_error(a)) return a;
      }
      st = acc.count() ? acc.apply(net, opt) : Status::empty_batch;
    }
    if (is_model_error(st) || st == Status::bad_hyperparameter) return st;
    report(step);
  }
  for (; next_report < R; ++next_report) metric[next_report] = eval(net);  // online: past the last shot
  return Status::ok;
}

}  // namespace tinyadapt::meta
