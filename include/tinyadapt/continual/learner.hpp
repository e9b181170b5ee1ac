// The incremental learner's training step of the cycle
//   distill what was learned -> train on new data with the buffer -> evaluate
//   -> grow if needed -> collect new data
// on any network type Net (fixed or growable) and any buffer (the distilled
// store, random exemplars, NoBuffer for naive fine-tuning).
//
// How the buffer joins a task's minibatches (protocol P3):
//   mix     every minibatch of new data is joined by min(batch, |buffer|)
//           buffer samples drawn without replacement, fresh each step (the
//           default: old classes are in every gradient, however small the
//           buffer, so a 2-class task cannot drown them);
//   concat  the buffer is appended once to the task's data and shuffled in.
// A buffer that also gives logits for its samples (logits(i, x), weight())
// is replayed with LogitMatchCrossEntropy: label and old logits together.
// Training goes through GradientAccumulator and the optimizer, so the
// numeric-safety guard applies to every step.
#pragma once
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "../core/rng.hpp"
#include "../core/span.hpp"
#include "../core/status.hpp"
#include "../nn/losses.hpp"
#include "../nn/train.hpp"
#include "reservoir.hpp"

namespace tinyadapt {

enum class Replay : unsigned char { mix, concat };

// How a mix step weighs the buffer samples drawn into it:
//   mean   one mean over the joined minibatch (P3: with a full draw each new
//          sample weighs half of what it would alone);
//   added  the sum divided by the larger of its two parts (new samples,
//          buffer samples): a minibatch of new data trains at the step it
//          would have alone and the buffer's gradient is added at the same
//          weight per sample, so the new classes are not learned at half
//          rate. Neither part's step exceeds a minibatch's mean (a short last
//          minibatch cannot be outweighed by a full buffer draw).
enum class ReplayWeight : unsigned char { mean, added };

struct TaskConfig {
  std::size_t epochs = 20;
  std::size_t batch = 16;
  Replay replay = Replay::mix;
  ReplayWeight weight = ReplayWeight::mean;
};

struct TaskReport {
  Status status = Status::ok;  // not ok: the task was refused (nothing changed) or the model broke
  std::size_t samples = 0;     // sample gradients taken (new and buffer)
  std::size_t replayed = 0;    // of them, buffer samples
  std::size_t steps = 0;       // optimizer steps
  std::size_t refused = 0;     // samples and minibatches the guard refused
  std::size_t grown = 0;       // growth steps after the task
  float mean_loss = 0.0f;      // over the whole task
  float last_epoch_loss = 0.0f, previous_epoch_loss = -1.0f;  // mean of the last two epochs (-1: one epoch)
  double macs = 0.0;           // training multiply-accumulates (forward + backward ~ 3x forward)
};

// Inference multiply-accumulates per sample of the network as it is now: the
// compile-time count for a fixed network; a growable one overloads it.
template <class Net>
double active_macs(const Net&) noexcept {
  return static_cast<double>(Net::macs);
}

namespace detail {
template <class Buffer, class = void>
struct gives_logits : std::false_type {};
template <class Buffer>
struct gives_logits<Buffer, std::void_t<decltype(std::declval<const Buffer&>().logits(std::size_t{}, nullptr))>>
    : std::true_type {};
}  // namespace detail

// Indices the learner needs for a task of n samples and a buffer of b.
constexpr std::size_t order_entries(std::size_t n, std::size_t b) noexcept { return n + b; }

// Refuses (bad_label) a task with a label the head cannot hold, before anything changes.
template <class Net, class SampleFn>
Status check_labels(std::size_t n, SampleFn&& sample) noexcept {
  float x[Net::input_size];
  for (std::size_t i = 0; i < n; ++i)
    if (static_cast<std::size_t>(sample(i, x)) >= Net::output_size) return Status::bad_label;
  return Status::ok;
}

// Trains one task: sample(i, x) fills x with new sample i < n and returns its
// label; order holds order_entries(n, buffer.count()) indices (the caller's
// memory: a device keeps uint32 per sample).
template <class Loss = SoftmaxCrossEntropy, class Net, class Opt, class Buffer, class SampleFn>
TaskReport train_task(Net& net, Opt& opt, GradientAccumulator<Net>& acc, const Buffer& buffer, std::size_t n,
                      SampleFn&& sample, Span<std::uint32_t> order, const TaskConfig& cfg, Rng& rng) noexcept {
  TaskReport r;
  const std::size_t b = buffer.count();
  if (cfg.batch == 0 || order.size() < order_entries(n, b)) {
    r.status = cfg.batch == 0 ? Status::bad_hyperparameter : Status::size_mismatch;
    return r;
  }
  r.status = check_labels<Net>(n, sample);
  if (r.status != Status::ok) return r;
  std::uint32_t* idx = order.data();
  const bool concat = cfg.replay == Replay::concat;
  const std::size_t pool = concat ? n + b : n;  // what an epoch walks through
  const bool added = !concat && cfg.weight == ReplayWeight::added;
  for (std::size_t i = 0; i < n + b; ++i) idx[i] = static_cast<std::uint32_t>(i);
  float x[Net::input_size];
  double loss_sum = 0.0;
  acc.clear();
  // One sample's gradient; false when the model broke (stop).
  auto add = [&](std::uint32_t k) {
    const std::size_t label = k < n ? static_cast<std::size_t>(sample(k, x)) : buffer.get(k - n, x);
    StepResult s;
    if constexpr (detail::gives_logits<Buffer>::value) {
      static_assert(std::is_same_v<Loss, SoftmaxCrossEntropy>, "logit replay is for softmax cross-entropy");
      const float* old = k < n ? nullptr : buffer.logits(k - n, static_cast<const float*>(x));
      if (old != nullptr)
        s = acc.template add<LogitMatchCrossEntropy>(
            net, static_cast<const float*>(x),
            LogitMatchCrossEntropy::Target{static_cast<unsigned>(label), old, buffer.weight()});
      else
        s = acc.template add<Loss>(net, static_cast<const float*>(x), static_cast<unsigned>(label));
    } else {
      s = acc.template add<Loss>(net, static_cast<const float*>(x), static_cast<typename Loss::target_type>(label));
    }
    if (s.ok()) {
      ++r.samples;
      if (k >= n) ++r.replayed;
      loss_sum += static_cast<double>(s.loss);
      return true;
    }
    ++r.refused;
    if (is_model_error(s.status)) r.status = s.status;
    return !is_model_error(s.status);
  };
  for (std::size_t e = 0; e < cfg.epochs; ++e) {
    const double epoch_sum = loss_sum;
    const std::size_t epoch_samples = r.samples;
    shuffle_prefix(idx, pool, pool, rng);
    for (std::size_t first = 0; first < pool; first += cfg.batch) {
      const std::size_t last = first + cfg.batch < pool ? first + cfg.batch : pool;
      bool alive = true;
      for (std::size_t i = first; i < last && alive; ++i) alive = add(idx[i]);
      const std::size_t fresh = acc.count();  // new samples accepted into this minibatch
      if (!concat && b > 0) {
        const std::size_t draw = cfg.batch < b ? cfg.batch : b;
        shuffle_prefix(idx + n, b, draw, rng);
        for (std::size_t i = 0; i < draw && alive; ++i) alive = add(idx[n + i]);
      }
      if (!alive) {
        acc.clear();
        return r;
      }
      if (acc.count() == 0) continue;
      const std::size_t replayed = acc.count() - fresh;
      const Status st = acc.apply(net, opt, added ? (fresh > replayed ? fresh : replayed) : 0);
      if (st == Status::ok) ++r.steps;
      else ++r.refused;
    }
    if (r.samples > epoch_samples) {
      r.previous_epoch_loss = e > 0 ? r.last_epoch_loss : -1.0f;
      r.last_epoch_loss = static_cast<float>((loss_sum - epoch_sum) / static_cast<double>(r.samples - epoch_samples));
    }
  }
  r.mean_loss = r.samples ? static_cast<float>(loss_sum / static_cast<double>(r.samples)) : 0.0f;
  r.macs = 3.0 * active_macs(net) * static_cast<double>(r.samples);
  return r;
}

// The growth hook: after each task (and each retraining after a growth) it
// gets the task's training report and the validation accuracy on the classes
// seen, and returns true when it grew the network (its policy decided, the
// network accepted). NoGrowth (a fixed network) never grows.
struct NoGrowth {
  template <class Net>
  bool after_task(Net&, const TaskReport&, float) noexcept {
    return false;
  }
};

namespace detail {
// A retraining after a growth joins the task's report: counts add up, the
// losses are the retraining's.
inline void add_training(TaskReport& r, const TaskReport& again) noexcept {
  r.status = again.status;
  r.samples += again.samples;
  r.replayed += again.replayed;
  r.steps += again.steps;
  r.refused += again.refused;
  r.macs += again.macs;
  r.mean_loss = again.mean_loss;
  r.last_epoch_loss = again.last_epoch_loss;
  r.previous_epoch_loss = again.previous_epoch_loss;
}
}  // namespace detail

// The cycle's "train -> evaluate -> grow if needed": trains the task, then
// while the policy grows the network (at most max_growth times), retrains on
// the same task and re-evaluates. validate() returns the validation accuracy.
template <class Loss = SoftmaxCrossEntropy, class Net, class Opt, class Buffer, class SampleFn, class Policy,
          class Validate>
TaskReport learn_task(Net& net, Opt& opt, GradientAccumulator<Net>& acc, const Buffer& buffer, std::size_t n,
                      SampleFn&& sample, Span<std::uint32_t> order, const TaskConfig& cfg, Rng& rng, Policy& policy,
                      Validate&& validate, std::size_t max_growth = 8) noexcept {
  TaskReport r = train_task<Loss>(net, opt, acc, buffer, n, sample, order, cfg, rng);
  while (r.status == Status::ok && r.grown < max_growth && policy.after_task(net, r, validate())) {
    detail::add_training(r, train_task<Loss>(net, opt, acc, buffer, n, sample, order, cfg, rng));
    ++r.grown;
  }
  return r;
}

}  // namespace tinyadapt
