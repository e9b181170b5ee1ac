// Is the model usable? A cheap check, and a last good copy to roll back to.
//
// A training step refuses a sample whose loss or gradient is not finite, and
// then asks check_health() whether the model is to blame (non_finite_model,
// model_diverged) so a device can tell a glitching sensor from a broken model
// and restore its last good weights.
#pragma once
#include <cstddef>

#include "../core/finite.hpp"
#include "../core/status.hpp"
#include "input.hpp"
#include "memory.hpp"

namespace tinyadapt {

// No trained float network has a parameter this large (2^50, about 1e15);
// one that does overflows on ordinary inputs or under weight decay.
inline constexpr float healthy_parameter_limit = 1.1258999e15f;

// ok when every parameter is finite and below healthy_parameter_limit in
// magnitude, and the output on probe (a sample, as for train_step) is finite.
template <class Net, class In>
Status check_health(Net& net, const In& probe_input) noexcept {
  const float* probe = detail::input_data<Net>(probe_input);
  if (!net.initialised()) return Status::not_initialised;
  const auto p = static_cast<const Net&>(net).parameters();
  const float largest = max_abs(p.data(), p.size());
  if (!is_finite(largest)) return Status::non_finite_model;
  if (largest > healthy_parameter_limit) return Status::model_diverged;
  const float* y = net.forward(probe);
  return all_finite(y, Net::output_size) ? Status::ok : Status::model_diverged;
}

// The same with an all-zero probe (every network must map 0 to a finite output).
template <class Net>
Status check_health(Net& net) noexcept {
  const float zeros[Net::input_size] = {};
  return check_health(net, zeros);
}

namespace detail {
// A failed step's status, or the model's when the model is to blame.
template <class Net>
Status diagnose(Net& net, Status s) noexcept {
  if (s != Status::non_finite_output && s != Status::non_finite_loss && s != Status::non_finite_gradient) return s;
  const Status h = check_health(net);
  return h == Status::ok ? s : h;
}
}  // namespace detail

struct NoOptimizerState {};

// A copy of the parameters (and of the optimizer, when Opt is given) taken
// when the model was known good. save() refuses a model with non-finite
// parameters, so the copy is always usable.
template <class Net, class Opt = NoOptimizerState>
class LastGood {
 public:
  Status save(const Net& net, const Opt& opt = Opt{}) noexcept {
    const auto p = net.parameters();
    if (!all_finite(p.data(), p.size())) return Status::non_finite_model;
    for (std::size_t i = 0; i < Net::param_count; ++i) params_[i] = p[i];
    opt_ = opt;
    saved_ = true;
    return Status::ok;
  }
  // False, with nothing changed, when nothing was saved yet.
  bool restore(Net& net, Opt& opt) const noexcept {
    if (!restore(net)) return false;
    opt = opt_;
    return true;
  }
  bool restore(Net& net) const noexcept {
    if (!saved_) return false;
    auto p = net.parameters();
    for (std::size_t i = 0; i < Net::param_count; ++i) p[i] = params_[i];
    return true;
  }
  bool saved() const noexcept { return saved_; }

  // Its RAM, by role (total() == sizeof(LastGood)).
  static constexpr MemoryReport memory() noexcept {
    MemoryReport r;
    r.parameters = sizeof(params_);
    r.optimizer_state = sizeof(LastGood) - sizeof(params_);
    return r;
  }

 private:
  float params_[Net::param_count] = {};
  Opt opt_{};
  bool saved_ = false;
};

}  // namespace tinyadapt
