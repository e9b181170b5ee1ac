// Adam (Kingma & Ba) with L2 weight decay, the update rule of torch.optim.Adam.
//
// Guard (optim/update_guard.hpp): per layer, bounds of max|m| and max v follow
// the moments' recurrences, so an update is proven finite before it is
// written; in particular g^2 can never overflow the second moment to Inf
// (which would freeze a parameter for good: m / Inf = 0). The step counter
// saturates instead of wrapping to 0 (bias correction 1 - beta^0 = 0).
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "../core/span.hpp"
#include "layer_gradient.hpp"

namespace tinyadapt {

template <class Net>
class Adam : public detail::LayerGradient<Adam<Net>, Net::max_layer_trainable> {
 public:
  using network = Net;
  static constexpr std::size_t state_floats = 2 * Net::trainable_count;
  float lr, eps, weight_decay;
  float max_grad_norm = default_max_grad_norm;

  explicit Adam(float learning_rate = 1e-3f, float b1 = 0.9f, float b2 = 0.999f, float epsilon = 1e-8f,
                float decay = 0.0f) noexcept
      : lr(learning_rate), eps(epsilon), weight_decay(decay), beta1_(b1), beta2_(b2) {
    prepare_corrections();
  }

  Status check() const noexcept {
    const bool ok = detail::valid_rate(lr) && detail::valid_fraction(beta1_) && detail::valid_fraction(beta2_) &&
                    is_finite(eps) && eps > 0.0f && detail::valid_rate(weight_decay) &&
                    detail::valid_max_norm(max_grad_norm);
    return ok ? Status::ok : Status::bad_hyperparameter;
  }

  bool accept(const float* w, const LayerGrad& g) const noexcept {
    const Bound b = bound(w, g);
    // |m / (sqrt(v) + eps)| <= max|m| / eps: crude, but only a proof of finiteness.
    return detail::within_limit(b.m) && detail::within_limit(b.v) && detail::within_limit(lr / corr1_ * b.m / eps);
  }
  void update(float* w, const float* g, float g_scale, const LayerGrad& lg) noexcept {
    const Bound next = bound(w, lg);
    const float c = g_scale * detail::clip_factor(lg.norm, max_grad_norm);
    const float step = lr / corr1_;
    const float inv_sqrt_c2 = 1.0f / std::sqrt(corr2_);
    for_each_active(lg, [&](std::size_t o, std::size_t n) {
      float* TINYADAPT_RESTRICT wo = w + o;
      float* TINYADAPT_RESTRICT m = m_ + lg.offset + o;
      float* TINYADAPT_RESTRICT v = v_ + lg.offset + o;
      const float* TINYADAPT_RESTRICT go = g + o;
      for (std::size_t i = 0; i < n; ++i) {
        const float gi = c * go[i] + weight_decay * wo[i];
        m[i] = beta1_ * m[i] + (1.0f - beta1_) * gi;
        v[i] = beta2_ * v[i] + (1.0f - beta2_) * gi * gi;
        wo[i] -= step * m[i] / (std::sqrt(v[i]) * inv_sqrt_c2 + eps);
      }
    });
    mbound_[lg.layer] = next.m;
    vbound_[lg.layer] = next.v;
  }
  // Called once after every layer of a step is updated.
  void end_step() noexcept {
    if (t_ != UINT32_MAX) ++t_;
    prepare_corrections();
  }
  // Forgets the moments and the step count (the hyper-parameters stay).
  void reset() noexcept {
    for (float& m : m_) m = 0.0f;
    for (float& v : v_) v = 0.0f;
    for (float& b : mbound_) b = 0.0f;
    for (float& b : vbound_) b = 0.0f;
    set_steps(0);
  }
  std::uint32_t steps() const noexcept { return t_; }
  void set_steps(std::uint32_t t) noexcept {  // resuming from a checkpoint
    t_ = t;
    prepare_corrections();
  }
  Span<const float> first_moment() const noexcept { return Span<const float>(m_, Net::trainable_count); }
  Span<const float> second_moment() const noexcept { return Span<const float>(v_, Net::trainable_count); }
  // Moments, their bounds and the bias corrections are finite (always true after ok steps).
  bool state_finite() const noexcept {
    return all_finite(m_, Net::trainable_count) && all_finite(v_, Net::trainable_count) &&
           all_finite(mbound_, Net::layer_count) && all_finite(vbound_, Net::layer_count) && is_finite(corr1_) &&
           is_finite(corr2_);
  }
  float beta1() const noexcept { return beta1_; }
  float beta2() const noexcept { return beta2_; }

 private:
  struct Bound {
    float m, v;  // bounds of max|m| and max v after the update
  };
  Bound bound(const float* w, const LayerGrad& g) const noexcept {
    const float decay = weight_decay != 0.0f ? weight_decay * detail::active_max_abs(w, g) : 0.0f;
    const float gi = detail::clipped_norm(g.norm, max_grad_norm) + decay;
    return {beta1_ * mbound_[g.layer] + (1.0f - beta1_) * gi, beta2_ * vbound_[g.layer] + (1.0f - beta2_) * gi * gi};
  }
  // Bias corrections of the next step, t_ + 1 (computed once per step, not per layer).
  void prepare_corrections() noexcept {
    const float t = static_cast<float>(t_) + 1.0f;
    corr1_ = 1.0f - std::pow(beta1_, t);
    corr2_ = 1.0f - std::pow(beta2_, t);
  }

  float m_[Net::trainable_count > 0 ? Net::trainable_count : 1] = {};
  float v_[Net::trainable_count > 0 ? Net::trainable_count : 1] = {};
  float mbound_[Net::layer_count] = {};
  float vbound_[Net::layer_count] = {};
  float beta1_, beta2_;
  std::uint32_t t_ = 0;
  float corr1_ = 1.0f, corr2_ = 1.0f;
};

}  // namespace tinyadapt
