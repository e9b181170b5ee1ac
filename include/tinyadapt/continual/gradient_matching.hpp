// Dataset distillation by gradient matching (Zhao, Mopuri & Bilen 2021) on the
// current model: the synthetic samples of class c are moved so that the
// model's weight gradient on them points where its gradient on the real
// samples does, L = sum over trainable layers of 1 - cos(G_real, G_syn).
//
// Streaming: the real gradient is a running sum (GradientAccumulator) over the
// class's samples as they arrive, so the class is never in RAM. dL/ds needs a
// second derivative, which the engine does not have; it is taken as the
// finite difference of input gradients (the Hessian-vector trick of DARTS):
// with c = dL/dG_syn, grad_s <c, g(s)> = (grad_s l(w + eps c, s) - grad_s l(w - eps c, s)) / 2 eps,
// eps = 0.01 / |c|, on a perturbed copy of the model (the model is never written).
#pragma once
#include <cmath>
#include <cstddef>

#include "../core/finite.hpp"
#include "../core/rng.hpp"
#include "../core/status.hpp"
#include "../kernels/kernels.hpp"
#include "../nn/losses.hpp"
#include "../nn/train.hpp"
#include "distill.hpp"
#include "synthetic.hpp"

namespace tinyadapt {

template <class Net, std::size_t M, class Loss = SoftmaxCrossEntropy>
class GradientMatching {
 public:
  static constexpr std::size_t features = Net::input_size;

  // Starts distilling class `label` of the model; nothing changes when refused.
  Status begin(const DistillConfig& cfg, std::size_t label) noexcept {
    if (label >= Net::output_size) return Status::bad_label;
    if (cfg.iterations == 0 || !detail::valid_rate(cfg.lr) || !detail::valid_fraction(cfg.momentum))
      return Status::bad_hyperparameter;
    const Status st = set_.reset(cfg.per_class, cfg.range);
    if (st != Status::ok) return st;
    cfg_ = cfg;
    label_ = static_cast<typename Loss::target_type>(label);
    real_.clear();
    rng_ = Rng(cfg.seed, 0);
    report_ = DistillReport{};
    return Status::ok;
  }

  // Real samples of the class as they arrive, with the model that will be
  // distilled from (unchanged). Refused samples are skipped and counted.
  Status add_real(Net& model, const float* x, std::size_t n = 1) noexcept {
    Status first = Status::ok;
    for (std::size_t i = 0; i < n; ++i) {
      const float* xi = x + i * features;
      Status st = set_.admit(xi);
      if (st == Status::ok) st = real_.template add<Loss>(model, xi, label_).status;
      if (st != Status::ok) {
        ++report_.real_skipped;
        if (first == Status::ok) first = st;
        continue;
      }
      ++report_.real_seen;
      report_.macs += 3.0 * static_cast<double>(Net::macs);
      set_.offer(xi, rng_);
    }
    return first;
  }

  DistillReport distill(Net& model) noexcept {
    DistillReport& r = report_;
    r.synthetic = set_.size();
    r.short_class = r.real_seen < cfg_.per_class;
    if (r.synthetic == 0 || real_.count() == 0) {
      r.status = Status::empty_batch;
      return r;
    }
    for (std::size_t t = 0; t < cfg_.iterations; ++t) {
      r.tally(iterate(model, r));
    }
    return r;
  }

  const SyntheticSet<M, features>& synthetic() const noexcept { return set_; }
  const DistillReport& report() const noexcept { return report_; }

 private:
  Status iterate(Net& model, DistillReport& r) noexcept {
    syn_.clear();
    for (std::size_t i = 0; i < set_.size(); ++i) {
      const Status st = syn_.template add<Loss>(model, set_.sample(i), label_).status;
      if (st != Status::ok) return st;
    }
    // c = dL/dG_syn, layer by layer (cosine ignores the sums' scale).
    const float* gr = real_.gradient();
    const float* gs = syn_.gradient();
    float loss = 0.0f;
    for (std::size_t l = 0; l < Net::layer_count; ++l) {
      if (!Net::plan.is_trainable[l]) continue;
      const std::size_t o = Net::plan.trainable_off[l], n = Net::plan.layer_params[l];
      const float ab = kernels::dot(gr + o, gs + o, n), aa = kernels::dot(gr + o, gr + o, n),
                  bb = kernels::dot(gs + o, gs + o, n);
      kernels::zero(c_ + o, n);
      if (!(aa > 0.0f) || !(bb > 0.0f)) continue;
      const float nab = std::sqrt(aa) * std::sqrt(bb), cos = ab / nab;
      loss += 1.0f - cos;
      kernels::axpy(c_ + o, gr + o, -1.0f / nab, n);
      kernels::axpy(c_ + o, gs + o, cos / bb, n);
    }
    if (r.steps + r.refused_steps == 0) r.first_loss = loss;
    r.last_loss = loss;
    const float c_norm = std::sqrt(kernels::dot(c_, c_, Net::trainable_count));
    if (!is_finite(c_norm)) return Status::non_finite_gradient;
    if (!(c_norm > 0.0f)) return Status::ok;  // matched: nothing to move
    const float eps = 0.01f / c_norm;
    for (int side = 0; side < 2; ++side) {
      const float e = side == 0 ? eps : -eps;
      perturb(model, e);
      for (std::size_t i = 0; i < set_.size(); ++i) {
        float x_sq = 0.0f;
        const StepResult fr = detail::forward_loss<Loss>(probe_, set_.sample(i), label_, x_sq);
        if (!fr.ok()) return fr.status;
        NoUpdate frozen;
        probe_.backward(set_.sample(i), frozen, dx_);
        float* g = set_.grad(i);
        if (side == 0) kernels::zero(g, features);
        kernels::axpy(g, dx_, 0.5f / e, features);
      }
    }
    r.macs += 7.0 * static_cast<double>(Net::macs) * static_cast<double>(set_.size());
    return set_.step(cfg_.lr, cfg_.momentum);
  }

  // probe = model + e * c on the trainable layers.
  void perturb(Net& model, float e) noexcept {
    const auto src = static_cast<const Net&>(model).parameters();
    float* p = probe_.parameters().data();
    kernels::copy(p, src.data(), Net::param_count);
    for (std::size_t l = 0; l < Net::layer_count; ++l)
      if (Net::plan.is_trainable[l])
        kernels::axpy(p + Net::plan.param_off[l], c_ + Net::plan.trainable_off[l], e, Net::plan.layer_params[l]);
  }

  SyntheticSet<M, features> set_;
  GradientAccumulator<Net> real_, syn_;
  Net probe_;
  float c_[Net::trainable_count] = {};
  float dx_[features] = {};
  typename Loss::target_type label_ = 0;
  DistillConfig cfg_{};
  Rng rng_{};
  DistillReport report_{};
};

}  // namespace tinyadapt
