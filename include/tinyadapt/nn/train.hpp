// Training and evaluation on one sample at a time (batch 1, the TinyML
// default), and mini-batches by gradient accumulation without storing the batch.
//
// Data errors are reported, never propagated into the weights: inputs and
// targets are checked before forward, the loss before backward, and an
// accumulated gradient before it is applied.
#pragma once
#include <cstddef>

#include "../core/finite.hpp"
#include "../core/status.hpp"
#include "memory.hpp"

namespace tinyadapt {

struct StepResult {
  Status status = Status::ok;
  float loss = 0.0f;
  constexpr bool ok() const noexcept { return status == Status::ok; }
};

namespace detail {
// Forward and loss gradient; the weights are untouched whatever the result.
template <class Loss, class Net>
StepResult forward_loss(Net& net, const float* x, typename Loss::target_type target) noexcept {
  if (!all_finite(x, Net::input_size)) return {Status::non_finite_input, 0.0f};
  const Status st = Loss::check(target, Net::output_size);
  if (st != Status::ok) return {st, 0.0f};
  const float* y = net.forward(x);
  const float loss = Loss::value_and_grad(y, target, net.output_grad(), Net::output_size);
  if (!is_finite(loss)) return {Status::non_finite_loss, loss};
  return {Status::ok, loss};
}
}  // namespace detail

// One online training step: forward, loss, backward and the optimizer update.
template <class Loss, class Net, class Opt>
StepResult train_step(Net& net, Opt& opt, const float* x, typename Loss::target_type target) noexcept {
  const StepResult r = detail::forward_loss<Loss>(net, x, target);
  if (!r.ok()) return r;
  opt.begin_step();
  net.backward(x, opt);
  return r;
}

// Sums gradients over samples (divided by the count on apply), then takes one
// optimizer step. Memory: one float per trainable parameter.
template <class Net>
class GradientAccumulator {
 public:
  static constexpr std::size_t gradient_floats = Net::trainable_count;

  template <class Loss>
  StepResult add(Net& net, const float* x, typename Loss::target_type target) noexcept {
    const StepResult r = detail::forward_loss<Loss>(net, x, target);
    if (!r.ok()) return r;  // the sample is skipped, the sum stays as it was
    net.backward(x, *this);
    ++count_;
    return r;
  }

  // Applies the mean gradient with opt and clears the sum.
  template <class Opt>
  Status apply(Net& net, Opt& opt) noexcept {
    if (count_ == 0) return Status::empty_batch;
    const bool finite = all_finite(grad_, gradient_floats);
    if (finite) {
      const float inv = 1.0f / static_cast<float>(count_);
      for (float& g : grad_) g *= inv;
      opt.begin_step();
      float* params = net.parameters().data();
      for (std::size_t i = 0; i < Net::layer_count; ++i)
        if (Net::plan.is_trainable[i])
          opt.update(params + Net::plan.param_off[i], grad_ + Net::plan.trainable_off[i], Net::plan.layer_params[i],
                     Net::plan.trainable_off[i]);
    }
    clear();
    return finite ? Status::ok : Status::non_finite_gradient;
  }

  void clear() noexcept {
    for (float& g : grad_) g = 0.0f;
    count_ = 0;
  }
  std::size_t count() const noexcept { return count_; }
  const float* gradient() const noexcept { return grad_; }

  // Sink protocol used by Sequential::backward.
  float* weight_grad(float*, std::size_t, std::size_t offset, float& scale) noexcept {
    scale = 1.0f;
    return grad_ + offset;
  }
  void finish(float*, std::size_t, std::size_t) noexcept {}

 private:
  float grad_[gradient_floats > 0 ? gradient_floats : 1] = {};
  std::size_t count_ = 0;
};

// A sink that computes no weight gradient: backward for input gradients only.
struct NoUpdate {
  float* weight_grad(float*, std::size_t, std::size_t, float&) noexcept { return nullptr; }
  void finish(float*, std::size_t, std::size_t) noexcept {}
};

// Index of the largest output (the predicted class).
template <class Net>
std::size_t predict(Net& net, const float* x) noexcept {
  const float* y = net.forward(x);
  std::size_t best = 0;
  for (std::size_t i = 1; i < Net::output_size; ++i)
    if (y[i] > y[best]) best = i;
  return best;
}

// Fraction of n samples classified right; sample(i, x) fills x (input_size
// floats) and returns the label, so data may come from flash, uint8, a stream.
template <class Net, class SampleFn>
float accuracy(Net& net, std::size_t n, SampleFn&& sample) noexcept {
  float x[Net::input_size];
  std::size_t right = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto label = static_cast<std::size_t>(sample(i, x));
    right += predict(net, x) == label ? 1u : 0u;
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
