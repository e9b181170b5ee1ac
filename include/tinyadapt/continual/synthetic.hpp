// The m synthetic samples of the class being distilled, and their optimiser.
// They start as a uniform random subset of the class's real samples (a
// reservoir over the stream), then SGD with momentum moves the inputs:
//   v = mu * v + g;  x -= lr * v;  x clamped into the data's range.
// A step is all or nothing: it is taken only when every updated value is
// proven finite (the bound of optim/update_guard.hpp), else nothing moves.
#pragma once
#include <cstddef>
#include <cstdint>

#include "../core/finite.hpp"
#include "../core/rng.hpp"
#include "../core/status.hpp"
#include "../kernels/kernels.hpp"
#include "../nn/train.hpp"
#include "../optim/update_guard.hpp"
#include "reservoir.hpp"

namespace tinyadapt {

template <std::size_t M, std::size_t D>
class SyntheticSet {
  static_assert(M > 0 && D > 0, "a synthetic set needs samples and features");

 public:
  static constexpr std::size_t capacity = M, features = D;

  // Starts a class: m samples (<= M) wanted, real and synthetic values in range.
  Status reset(std::size_t m, const InputRange& range) noexcept {
    if (m == 0 || m > M || !range.valid()) return Status::bad_hyperparameter;
    m_ = m;
    range_ = range;
    filled_ = 0;
    seen_ = 0;
    kernels::zero(v_, M * D);
    return Status::ok;
  }

  // ok for a sample distillation may use; otherwise why not (nothing changes).
  Status admit(const float* x) const noexcept {
    if (!all_finite(x, D)) return Status::non_finite_input;
    if (!range_.contains(x, D)) return Status::input_out_of_range;
    return Status::ok;
  }
  // An admitted real sample streaming past: maybe one of the initial samples.
  void offer(const float* x, Rng& rng) noexcept {
    const std::size_t slot = reservoir_slot(++seen_, m_, rng);
    if (slot == m_) return;
    kernels::copy(x_ + slot * D, x, D);
    if (slot == filled_) ++filled_;
  }

  std::size_t wanted() const noexcept { return m_; }
  std::size_t size() const noexcept { return filled_; }  // < wanted() when the class had fewer samples
  const float* sample(std::size_t i) const noexcept { return x_ + i * D; }
  const float* data() const noexcept { return x_; }
  float* grad(std::size_t i) noexcept { return g_ + i * D; }  // dLoss/dx_i, written by the distiller
  const float* grad(std::size_t i) const noexcept { return g_ + i * D; }  // of the last step

  Status step(float lr, float momentum) noexcept {
    if (!detail::valid_rate(lr) || !detail::valid_fraction(momentum)) return Status::bad_hyperparameter;
    const std::size_t n = filled_ * D;
    const float v_bound = momentum * max_abs(v_, n) + max_abs(g_, n);  // non-finite if g is
    if (!detail::within_limit(v_bound) || !detail::within_limit(lr * v_bound)) return Status::non_finite_gradient;
    for (std::size_t i = 0; i < n; ++i) v_[i] = momentum * v_[i] + g_[i];
    kernels::axpy(x_, v_, -lr, n);
    range_.clamp(x_, x_, n);
    return Status::ok;
  }

 private:
  float x_[M * D] = {};
  float v_[M * D] = {};
  float g_[M * D] = {};
  std::size_t m_ = M, filled_ = 0;
  std::uint32_t seen_ = 0;
  InputRange range_{};
};

}  // namespace tinyadapt
