// The device side of TinyReptile: receive θ, train online on k streamed
// samples (batch 1, each used once), and leave φ in the network.
//
// Memory is the network and the optimizer: the round buffers nothing but the
// current sample (one input on the stack). Sending φ needs nothing more (it is
// net.parameters()); sending Δ = φ - θ needs θ, which a device that received
// θ into a buffer still has: delta_in_place() turns that buffer into Δ. Only a
// device that streamed θ straight into the network needs a second copy for Δ
// (param_count floats).
//
// Samples come from a callable sample(i, x) that fills x (Net::input_size
// floats) and returns the target (Loss::target_type: a label, or a pointer to
// the regression target), so they can come from a sensor, flash or a radio.
#pragma once
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "../core/finite.hpp"
#include "../core/span.hpp"
#include "../core/status.hpp"
#include "../nn/health.hpp"
#include "../nn/train.hpp"
#include "parameters.hpp"

namespace tinyadapt::meta {

struct RoundResult {
  Status status = Status::ok;   // ok, or why the round produced no usable φ
  std::uint32_t trained = 0;    // samples trained on
  std::uint32_t skipped = 0;    // samples refused (NaN/Inf, out of range...): counted, never trained on
  float mean_loss = 0.0f;       // over the trained samples, before each one's step
  constexpr bool ok() const noexcept { return status == Status::ok; }
};

// lr by step within the round; KeepLR leaves the optimizer's lr as it is.
struct KeepLR {};

namespace detail {
// θ into the network. A θ that already is the network's parameters (received
// straight into them, checked on the way as io::load_parameters does) is left
// as it is: no copy, no second scan.
template <class Net>
Status load_theta(Net& net, Span<const float> theta) noexcept {
  if (theta.size() != Net::param_count) return Status::size_mismatch;
  if (theta.data() == static_cast<const Net&>(net).parameters().data()) return Status::ok;
  if (!all_finite(theta.data(), theta.size())) return Status::non_finite_update;
  const Span<float> p = net.parameters();
  for (std::size_t i = 0; i < Net::param_count; ++i) p[i] = theta[i];
  return Status::ok;
}

// A round's end. φ needs no scan: θ was finite, and every step either
// returned ok (finite parameters, by the step invariant) or changed nothing;
// a step that blamed the model ended the round with that status.
inline RoundResult finish_round(RoundResult r, double loss_sum) noexcept {
  if (r.trained > 0) r.mean_loss = static_cast<float>(loss_sum / r.trained);
  return r;
}
}  // namespace detail

// Online round: θ into net, optimizer state cleared, k samples, one step each.
template <class Loss, class Net, class Opt, class SampleFn, class Schedule = KeepLR>
RoundResult device_round(Net& net, Opt& opt, Span<const float> theta, std::size_t k, SampleFn&& sample,
                         Schedule schedule = {}) noexcept {
  RoundResult r;
  r.status = detail::load_theta(net, theta);
  if (r.status != Status::ok) return r;
  opt.reset();
  float x[Net::input_size];
  double loss_sum = 0.0;
  for (std::size_t i = 0; i < k; ++i) {
    if constexpr (!std::is_same_v<Schedule, KeepLR>) opt.lr = schedule(static_cast<std::uint32_t>(i));
    const auto target = sample(i, x);
    const StepResult s = train_step<Loss>(net, opt, static_cast<const float*>(x), target);
    if (s.ok()) {
      ++r.trained;
      loss_sum += s.loss;
    } else if (is_model_error(s.status) || s.status == Status::bad_hyperparameter) {
      r.status = s.status;  // not the sample's fault: the round cannot go on
      break;
    } else {
      ++r.skipped;
    }
  }
  return detail::finish_round(r, loss_sum);
}
template <class Loss, class Net, class Opt, class SampleFn, class Schedule = KeepLR>
RoundResult device_round(Net& net, Opt& opt, const Parameters<Net>& theta, std::size_t k, SampleFn&& sample,
                         Schedule schedule = {}) noexcept {
  return device_round<Loss>(net, opt, theta.span(), k, sample, schedule);
}

// The samples a batch-Reptile device stores: N inputs and their targets.
template <class Loss, class Net, std::size_t N>
struct SampleBatch {
  static constexpr std::size_t capacity = N;
  float x[N][Net::input_size] = {};
  std::conditional_t<std::is_same_v<typename Loss::target_type, unsigned>, unsigned[N], float[N][Net::output_size]> t =
      {};
  std::size_t size = 0;

  // Stores sample(i, x) for i < n (at most N); refused samples are not stored.
  template <class SampleFn>
  std::uint32_t fill(std::size_t n, SampleFn&& sample) noexcept {
    size = 0;
    std::uint32_t skipped = 0;
    for (std::size_t i = 0; i < n && size < N; ++i) {
      const auto target = sample(i, x[size]);
      bool good = all_finite(x[size], Net::input_size) && Loss::check(target, Net::output_size) == Status::ok;
      if (good) {
        if constexpr (std::is_same_v<typename Loss::target_type, unsigned>) {
          t[size] = target;
        } else {
          for (std::size_t j = 0; j < Net::output_size; ++j) t[size][j] = target[j];
        }
        ++size;
      } else {
        ++skipped;
      }
    }
    return skipped;
  }
  typename Loss::target_type target(std::size_t i) const noexcept { return t[i]; }
};

// Batch Reptile's device (Nichol et al.): θ into net, then `steps` minibatch
// steps of `minibatch` stored samples each, taken in order (the batch is
// stored in random order; with steps * minibatch == size one pass). Memory:
// the batch and a gradient accumulator on top of the network and optimizer.
template <class Loss, class Net, class Opt, std::size_t N>
RoundResult batch_round(Net& net, Opt& opt, GradientAccumulator<Net>& acc, Span<const float> theta,
                        const SampleBatch<Loss, Net, N>& batch, std::size_t minibatch, std::size_t steps) noexcept {
  RoundResult r;
  r.status = detail::load_theta(net, theta);
  if (r.status != Status::ok) return r;
  if (batch.size == 0 || minibatch == 0) return {Status::empty_batch, 0, 0, 0.0f};
  opt.reset();
  acc.clear();
  double loss_sum = 0.0;
  std::size_t next = 0;
  for (std::size_t s = 0; s < steps && r.status == Status::ok; ++s) {
    for (std::size_t j = 0; j < minibatch; ++j, next = (next + 1) % batch.size) {
      const StepResult a = acc.template add<Loss>(net, static_cast<const float*>(batch.x[next]), batch.target(next));
      if (a.ok()) {
        ++r.trained;
        loss_sum += a.loss;
      } else if (is_model_error(a.status)) {
        r.status = a.status;
        break;
      } else {
        ++r.skipped;
      }
    }
    if (r.status != Status::ok) break;
    if (acc.count() == 0) continue;
    const Status st = acc.apply(net, opt);
    if (st != Status::ok && st != Status::non_finite_gradient) r.status = st;
  }
  return detail::finish_round(r, loss_sum);
}

}  // namespace tinyadapt::meta
