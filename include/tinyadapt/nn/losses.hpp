// Losses. Each computes the loss of one sample and, in the same pass, writes
// dLoss/dOutput (grad may alias output). evaluate() returns the loss only.
// check() rejects targets a loss cannot use (NaN targets, out-of-range labels);
// check_output() rejects finite network outputs outside the loss's domain.
#pragma once
#include <cmath>
#include <cstddef>

#include "../core/finite.hpp"
#include "../core/status.hpp"

namespace tinyadapt {

// Mean squared error over the outputs: mean((y - t)^2), as torch.nn.MSELoss.
struct MSE {
  using target_type = const float*;
  static Status check(const float* t, std::size_t n) noexcept {
    return all_finite(t, n) ? Status::ok : Status::non_finite_target;
  }
  static Status check_output(const float*, std::size_t) noexcept { return Status::ok; }
  static float value_and_grad(const float* y, const float* t, float* grad, std::size_t n) noexcept {
    const float inv = 1.0f / static_cast<float>(n);
    float loss = 0.0f;
    for (std::size_t i = 0; i < n; ++i) {
      const float d = y[i] - t[i];
      loss += d * d;
      if (grad) grad[i] = 2.0f * d * inv;
    }
    return loss * inv;
  }
};

namespace detail {
// Softmax cross-entropy of logits z against label; with match, plus
// weight * T^2 * KL(softmax(match / T) || softmax(z / T)), the soft targets of
// knowledge distillation (T = 2). Every z[i] is read before grad[i] is
// written, so grad may alias z. Log-sum-exp keeps it finite for large logits.
inline float softmax_cross_entropy(const float* z, unsigned label, float* grad, std::size_t n,
                                   const float* match = nullptr, float weight = 0.0f) noexcept {
  constexpr float inv_t = 0.5f, t2 = 4.0f;
  float m = z[0], mm = match ? match[0] : 0.0f;
  for (std::size_t i = 1; i < n; ++i) m = z[i] > m ? z[i] : m;
  float sum = 0.0f, sum_t = 0.0f, sum_s = 0.0f, cross = 0.0f;
  for (std::size_t i = 0; i < n; ++i) sum += std::exp(z[i] - m);
  if (match) {
    for (std::size_t i = 1; i < n; ++i) mm = match[i] > mm ? match[i] : mm;
    for (std::size_t i = 0; i < n; ++i) {
      const float q = std::exp((match[i] - mm) * inv_t);
      sum_t += q;
      sum_s += std::exp((z[i] - m) * inv_t);
      if (q > 0.0f) cross += q * ((match[i] - mm) - (z[i] - m)) * inv_t;  // 0 * -Inf would be NaN
    }
  }
  // KL = sum q_i (log q_i - log p_i), q and p at temperature T
  const float kl = match ? cross / sum_t - std::log(sum_t) + std::log(sum_s) : 0.0f;
  const float loss = std::log(sum) - (z[label] - m) + weight * t2 * kl;
  if (grad) {
    const float inv = 1.0f / sum;
    const float soft = match ? weight * t2 * inv_t : 0.0f;
    for (std::size_t i = 0; i < n; ++i) {
      const float zi = z[i];
      grad[i] = std::exp(zi - m) * inv - (i == label ? 1.0f : 0.0f);
      if (match) grad[i] += soft * (std::exp((zi - m) * inv_t) / sum_s - std::exp((match[i] - mm) * inv_t) / sum_t);
    }
  }
  return loss;
}
}  // namespace detail

// Softmax + cross-entropy on logits with an integer label, fused: the gradient
// is softmax(z) - onehot and log-sum-exp keeps it finite for large logits.
struct SoftmaxCrossEntropy {
  using target_type = unsigned;
  static Status check(unsigned label, std::size_t n) noexcept { return label < n ? Status::ok : Status::bad_label; }
  static Status check_output(const float*, std::size_t) noexcept { return Status::ok; }
  static float value_and_grad(const float* z, unsigned label, float* grad, std::size_t n) noexcept {
    return detail::softmax_cross_entropy(z, label, grad, n);
  }
};

// Softmax cross-entropy plus weight * T^2 * KL between the softened outputs
// (T = 2) of z and of the logits an earlier model gave the same input
// (knowledge distillation, as LwF and iCaRL).
// Replayed samples keep the old model's whole output, not only its argmax,
// so the classes they stand for lose less of what they were.
struct LogitMatchCrossEntropy {
  struct Target {
    unsigned label;
    const float* logits;  // n of them
    float weight;
  };
  using target_type = Target;
  static Status check(const Target& t, std::size_t n) noexcept {
    if (t.label >= n) return Status::bad_label;
    if (t.logits == nullptr || !all_finite(t.logits, n) || !(t.weight >= 0.0f && t.weight < 1e6f))
      return Status::non_finite_target;
    return Status::ok;
  }
  static Status check_output(const float*, std::size_t) noexcept { return Status::ok; }
  static float value_and_grad(const float* z, const Target& t, float* grad, std::size_t n) noexcept {
    return detail::softmax_cross_entropy(z, t.label, grad, n, t.logits, t.weight);
  }
};

namespace detail {
// Probabilities: finite and within [0, 1].
inline Status check_probabilities(const float* p, std::size_t n, Status non_finite) noexcept {
  if (!all_finite(p, n)) return non_finite;
  for (std::size_t i = 0; i < n; ++i)
    if (!(p[i] >= 0.0f && p[i] <= 1.0f)) return Status::out_of_domain;
  return Status::ok;
}
}  // namespace detail

// Binary cross-entropy on probabilities (after a Sigmoid), mean over outputs,
// as torch.nn.BCELoss: each log is clamped at -100 so p = 0 or 1 stays finite.
// Targets and predictions must be probabilities (out_of_domain otherwise).
// Prefer BinaryCrossEntropyWithLogits on a linear output: fused and stable.
struct BinaryCrossEntropy {
  using target_type = const float*;
  static Status check(const float* t, std::size_t n) noexcept {
    return detail::check_probabilities(t, n, Status::non_finite_target);
  }
  static Status check_output(const float* p, std::size_t n) noexcept {
    return detail::check_probabilities(p, n, Status::non_finite_loss);
  }
  static float value_and_grad(const float* p, const float* t, float* grad, std::size_t n) noexcept {
    constexpr float eps = 1e-12f;
    const float inv = 1.0f / static_cast<float>(n);
    float loss = 0.0f;
    for (std::size_t i = 0; i < n; ++i) {
      const float lp = std::fmax(std::log(p[i]), -100.0f);
      const float lq = std::fmax(std::log(1.0f - p[i]), -100.0f);
      loss -= t[i] * lp + (1.0f - t[i]) * lq;
      if (grad) {
        const float denom = std::fmax(p[i] * (1.0f - p[i]), eps);
        grad[i] = (p[i] - t[i]) / denom * inv;
      }
    }
    return loss * inv;
  }
};

// Sigmoid + binary cross-entropy on logits z, fused, as
// torch.nn.BCEWithLogitsLoss: loss = max(z, 0) - z t + log(1 + exp(-|z|)),
// gradient (sigmoid(z) - t) / n; finite for every finite z.
struct BinaryCrossEntropyWithLogits {
  using target_type = const float*;
  static Status check(const float* t, std::size_t n) noexcept {
    return detail::check_probabilities(t, n, Status::non_finite_target);
  }
  static Status check_output(const float*, std::size_t) noexcept { return Status::ok; }
  static float value_and_grad(const float* z, const float* t, float* grad, std::size_t n) noexcept {
    const float inv = 1.0f / static_cast<float>(n);
    float loss = 0.0f;
    for (std::size_t i = 0; i < n; ++i) {
      const float e = std::exp(-std::fabs(z[i]));  // in (0, 1]: never overflows
      loss += (z[i] > 0.0f ? z[i] : 0.0f) - z[i] * t[i] + std::log1p(e);
      if (grad) {
        const float sig = z[i] >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
        grad[i] = (sig - t[i]) * inv;
      }
    }
    return loss * inv;
  }
};

}  // namespace tinyadapt
