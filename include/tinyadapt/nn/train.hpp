// Training and evaluation on one sample at a time (batch 1, the TinyML
// default), and mini-batches by gradient accumulation without storing the batch.
//
// The step invariant, for every optimizer and entry point: a step that returns
// ok leaves every parameter and optimizer state value it touched finite; any
// other status leaves them bit-identical. Inputs and targets are checked
// before forward, the output and loss before backward, and every layer's
// update is proven finite before the first one is written (optim/update_guard.hpp).
#pragma once
#include <cmath>
#include <cstddef>
#include <type_traits>

#include "../core/finite.hpp"
#include "../core/status.hpp"
#include "../core/tensor.hpp"
#include "../kernels/kernels.hpp"
#include "../optim/update_guard.hpp"
#include "health.hpp"
#include "input.hpp"
#include "memory.hpp"

namespace tinyadapt {

struct StepResult {
  Status status = Status::ok;
  float loss = 0.0f;
  constexpr bool ok() const noexcept { return status == Status::ok; }
};

// Samples outside [lo, hi] are refused (reject) or clamped into it (clip):
// a glitching sensor then cannot train the model into the ground.
struct InputRange {
  enum class Mode : unsigned char { reject, clip };
  float lo = 0.0f, hi = 1.0f;
  Mode mode = Mode::reject;

  bool valid() const noexcept { return is_finite(lo) && is_finite(hi) && lo <= hi; }
  bool contains(const float* x, std::size_t n) const noexcept {
    bool in = true;
    for (std::size_t i = 0; i < n; ++i) in &= x[i] >= lo && x[i] <= hi;
    return in;
  }
  void clamp(const float* x, float* out, std::size_t n) const noexcept {
    for (std::size_t i = 0; i < n; ++i) out[i] = x[i] < lo ? lo : (x[i] > hi ? hi : x[i]);
  }
};

namespace detail {
template <class Net, class Opt>
constexpr void check_optimizer() noexcept {
  static_assert(std::is_same_v<typename Opt::network, Net>,
                "the optimizer was declared for another network type: declare it as SGD<YourNet>, "
                "SGDMomentum<YourNet> or Adam<YourNet> with the network you train");
}

// Forward and loss gradient; the weights are untouched whatever the result.
// x_sq receives |x|^2, which backward needs and which checks x on the way:
// NaN or Inf makes it non-finite (so does a finite |x| above 1.8e19, which the
// gradient bound then refuses).
template <class Loss, class Net>
StepResult forward_loss(Net& net, const float* x, typename Loss::target_type target, float& x_sq) noexcept {
  if (!net.initialised()) return {Status::not_initialised, 0.0f};
  x_sq = kernels::dot(x, x, Net::input_size);
  if (!is_finite(x_sq) && !all_finite(x, Net::input_size)) return {Status::non_finite_input, 0.0f};
  Status st = Loss::check(target, Net::output_size);
  if (st != Status::ok) return {st, 0.0f};
  const float* y = net.forward(x);
  if (!all_finite(y, Net::output_size)) return {diagnose(net, Status::non_finite_output), 0.0f};
  st = Loss::check_output(y, Net::output_size);
  if (st != Status::ok) return {st, 0.0f};
  const float loss = Loss::value_and_grad(y, target, net.output_grad(), Net::output_size);
  if (!is_finite(loss)) return {diagnose(net, Status::non_finite_loss), loss};
  return {Status::ok, loss};
}
}  // namespace detail


// One online training step: forward, loss, backward and the optimizer update.
// x is a float array or Tensor of the network's input size (checked at
// compile time), or a pointer to that many floats.
template <class Loss, class Net, class Opt, class In>
StepResult train_step(Net& net, Opt& opt, const In& input, typename Loss::target_type target) noexcept {
  detail::check_optimizer<Net, Opt>();
  const float* x = detail::input_data<Net>(input);
  if (opt.check() != Status::ok) return {Status::bad_hyperparameter, 0.0f};
  float x_sq = 0.0f;
  const StepResult r = detail::forward_loss<Loss>(net, x, target, x_sq);
  if (!r.ok()) return r;
  const Status st = net.backward(x, opt, nullptr, x_sq);
  if (st != Status::ok) return {detail::diagnose(net, st), r.loss};
  opt.end_step();
  return r;
}

// The same behind an input range guard.
template <class Loss, class Net, class Opt, class In>
StepResult train_step(Net& net, Opt& opt, const In& input, typename Loss::target_type target,
                      const InputRange& range) noexcept {
  const float* x = detail::input_data<Net>(input);
  if (!range.valid()) return {Status::bad_hyperparameter, 0.0f};
  if (!all_finite(x, Net::input_size)) return {Status::non_finite_input, 0.0f};
  if (range.mode == InputRange::Mode::reject) {
    if (!range.contains(x, Net::input_size)) return {Status::input_out_of_range, 0.0f};
    return train_step<Loss>(net, opt, x, target);
  }
  float clamped[Net::input_size];
  range.clamp(x, clamped, Net::input_size);
  return train_step<Loss>(net, opt, static_cast<const float*>(clamped), target);
}

// Sums gradients over samples (divided by the count on apply), then takes one
// optimizer step. Memory: one float per trainable parameter.
template <class Net>
class GradientAccumulator {
 public:
  using network = Net;
  static constexpr bool updates_weights = true;
  static constexpr std::size_t gradient_floats = Net::trainable_count;

  // Adds one sample's gradient; a refused sample leaves the sum as it was.
  template <class Loss, class In>
  StepResult add(Net& net, const In& input, typename Loss::target_type target) noexcept {
    const float* x = detail::input_data<Net>(input);
    float x_sq = 0.0f;
    const StepResult r = detail::forward_loss<Loss>(net, x, target, x_sq);
    if (!r.ok()) return r;
    const Status st = net.backward(x, *this, nullptr, x_sq);
    if (st != Status::ok) return {detail::diagnose(net, st), r.loss};
    ++count_;
    return r;
  }

  // Applies the mean gradient with opt and clears the sum. Every layer is
  // accepted by opt before any is written; a refused batch is cleared.
  // divisor > 0 divides the sum by that many samples instead of the count
  // (a replayed buffer added to a minibatch at its samples' weight).
  template <class Opt>
  Status apply(Net& net, Opt& opt, std::size_t divisor = 0) noexcept {
    detail::check_optimizer<Net, Opt>();
    if (opt.check() != Status::ok) return Status::bad_hyperparameter;  // the sum is kept
    if (count_ == 0) return Status::empty_batch;
    const float inv = 1.0f / static_cast<float>(divisor > 0 ? divisor : count_);
    float* params = net.parameters().data();
    LayerGrad layers[Net::layer_count] = {};
    bool accepted = true;
    for (std::size_t i = 0; i < Net::layer_count; ++i) {
      if (!Net::plan.is_trainable[i]) continue;
      const float* g = grad_ + Net::plan.trainable_off[i];
      layers[i] = net.layer_grad(i, 0.0f);
      float sq = 0.0f;
      for_each_active(layers[i], [&](std::size_t o, std::size_t n) { sq += kernels::dot(g + o, g + o, n); });
      layers[i].norm = std::sqrt(sq) * inv;
      accepted = accepted && opt.accept(params + Net::plan.param_off[i], layers[i]);
    }
    if (accepted) {
      for (std::size_t i = 0; i < Net::layer_count; ++i)
        if (Net::plan.is_trainable[i])
          opt.update(params + Net::plan.param_off[i], grad_ + Net::plan.trainable_off[i], inv, layers[i]);
      opt.end_step();
    }
    clear();
    return accepted ? Status::ok : Status::non_finite_gradient;
  }

  void clear() noexcept {
    for (float& g : grad_) g = 0.0f;
    for (float& b : bound_) b = 0.0f;
    count_ = 0;
  }
  std::size_t count() const noexcept { return count_; }
  const float* gradient() const noexcept { return grad_; }

  // Sink protocol used by Sequential::backward: bound_ keeps a bound of each
  // layer's largest summed element, so the sum is proven finite before it grows.
  bool accept(const float*, const LayerGrad& g) const noexcept { return detail::within_limit(bound_[g.layer] + g.norm); }
  float* weight_grad(float*, const LayerGrad& g, float& scale) noexcept {
    scale = 1.0f;
    return grad_ + g.offset;
  }
  void finish(float*, const LayerGrad& g) noexcept { bound_[g.layer] += g.norm; }
  void end_step() noexcept {}

 private:
  float grad_[gradient_floats > 0 ? gradient_floats : 1] = {};
  float bound_[Net::layer_count] = {};
  std::size_t count_ = 0;
};

// A sink that computes no weight gradient: backward for input gradients only.
struct NoUpdate {
  static constexpr bool updates_weights = false;
  bool accept(const float*, const LayerGrad&) const noexcept { return true; }
  float* weight_grad(float*, const LayerGrad&, float&) noexcept { return nullptr; }
  void finish(float*, const LayerGrad&) noexcept {}
  void end_step() noexcept {}
};

// The predicted class, or why there is none (label == Net::output_size then).
struct Prediction {
  Status status = Status::ok;
  std::size_t label = 0;
  constexpr bool ok() const noexcept { return status == Status::ok; }
};

// Index of the largest output; x as for train_step.
template <class Net, class In>
Prediction predict(Net& net, const In& input) noexcept {
  const float* x = detail::input_data<Net>(input);
  if (!all_finite(x, Net::input_size)) return {Status::non_finite_input, Net::output_size};
  const float* y = net.forward(x);
  if (!all_finite(y, Net::output_size)) return {detail::diagnose(net, Status::non_finite_output), Net::output_size};
  std::size_t best = 0;
  for (std::size_t i = 1; i < Net::output_size; ++i)
    if (y[i] > y[best]) best = i;
  return {Status::ok, best};
}

// Fraction of n samples classified right; sample(i, x) fills x (input_size
// floats) and returns the label, so data may come from flash, uint8, a stream.
// A sample without a prediction (non-finite) counts as wrong.
template <class Net, class SampleFn>
float accuracy(Net& net, std::size_t n, SampleFn&& sample) noexcept {
  float x[Net::input_size];
  std::size_t right = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto label = static_cast<std::size_t>(sample(i, x));
    const Prediction p = predict(net, static_cast<const float*>(x));
    right += p.ok() && p.label == label ? 1u : 0u;
  }
  return n ? static_cast<float>(right) / static_cast<float>(n) : 0.0f;
}

// Memory of training Net with Opt: the network object plus the optimizer
// object (its gradient slice, its state and hyper-parameters); total() equals
// sizeof(Net) + sizeof(Opt).
template <class Net, class Opt>
constexpr MemoryReport training_memory() noexcept {
  MemoryReport r = Net::memory();
  r.gradients = Opt::gradient_floats * sizeof(float);
  r.optimizer_state = sizeof(Opt) - r.gradients;
  return r;
}

}  // namespace tinyadapt
