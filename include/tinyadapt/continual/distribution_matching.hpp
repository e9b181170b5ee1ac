// Dataset distillation by distribution matching (Zhao & Bilen 2023), streaming.
//
// A class's m synthetic samples are moved so that their mean embedding matches
// the real samples' mean embedding, L = |mean f(s) - mean f(x)|^2, under a
// freshly initialised, frozen embedding network f every iteration (the model
// without its classifier, default init). Streaming: the real samples are seen
// once, as they arrive. Network k of Networks is regenerated from its own
// seed whenever needed, and keeps only the running sum of the real embeddings
// it saw; iteration t uses network t % Networks. Each network sees one block
// of real_batch consecutive samples (blocks shared out round robin), so
// memory is Networks x embedding floats whatever the class's size; with
// real_batch 0 every network sees the whole class (the protocol's digits run:
// exactly the batch computation, never the class in RAM).
#pragma once
#include <cstddef>
#include <cstdint>

#include "../core/finite.hpp"
#include "../core/rng.hpp"
#include "../core/status.hpp"
#include "../kernels/kernels.hpp"
#include "../nn/train.hpp"
#include "distill.hpp"
#include "embedding.hpp"
#include "synthetic.hpp"

namespace tinyadapt {

template <class Net, std::size_t M, std::size_t Networks>
class DistributionMatching {
  static_assert(Networks > 0, "distribution matching needs at least one embedding network");

 public:
  using embedding = Embedding<Net>;
  static constexpr std::size_t features = Net::input_size, embedding_size = embedding::output_size;
  static constexpr std::size_t max_chunk = 256;  // samples per add_real call handled together

  // Starts distilling a class; bad_hyperparameter (nothing changes) for a bad config.
  Status begin(const DistillConfig& cfg) noexcept {
    if (cfg.iterations == 0 || !detail::valid_rate(cfg.lr) || !detail::valid_fraction(cfg.momentum))
      return Status::bad_hyperparameter;
    const Status st = set_.reset(cfg.per_class, cfg.range);
    if (st != Status::ok) return st;
    cfg_ = cfg;
    blocks_ = 1;
    if (cfg.real_batch > 0 && cfg.expected > cfg.real_batch) blocks_ = (cfg.expected + cfg.real_batch - 1) / cfg.real_batch;
    kernels::zero(&sum_[0][0], Networks * embedding_size);
    for (auto& c : count_) c = 0;
    rng_ = Rng(cfg.seed, 0);  // the reservoir; networks use the odd streams
    report_ = DistillReport{};
    return Status::ok;
  }

  // n real samples of the class (row after row), as they arrive. A sample that
  // is non-finite or out of range is skipped and counted (report().real_skipped);
  // the status then says why, and the other samples are used.
  Status add_real(const float* x, std::size_t n = 1) noexcept {
    Status first = Status::ok;
    for (std::size_t done = 0; done < n; done += max_chunk) {
      const Status st = add_chunk(x + done * features, n - done < max_chunk ? n - done : max_chunk);
      if (first == Status::ok) first = st;
    }
    return first;
  }

  // Runs the iterations on what arrived; the synthetic samples are then in
  // synthetic(). A step that cannot be proven finite is refused (counted,
  // nothing moves); a network whose real mean is not finite is not used.
  DistillReport distill() noexcept {
    return distill([](std::size_t, float) {});
  }
  // The same, calling on_iteration(t, loss) after each iteration (a device
  // feeds its watchdog or counts instructions there).
  template <class OnIteration>
  DistillReport distill(OnIteration&& on_iteration) noexcept {
    DistillReport& r = report_;
    r.synthetic = set_.size();
    r.short_class = r.real_seen < cfg_.per_class;
    if (r.synthetic == 0) {
      r.status = Status::empty_batch;
      return r;
    }
    const float inv_m = 1.0f / static_cast<float>(set_.size());
    float real_mean[embedding_size], diff[embedding_size];
    for (std::size_t t = 0; t < cfg_.iterations; ++t) {
      const std::size_t k = t % Networks;
      if (count_[k] == 0) continue;
      kernels::zero(real_mean, embedding_size);
      kernels::axpy(real_mean, sum_[k], 1.0f / static_cast<float>(count_[k]), embedding_size);
      if (!all_finite(real_mean, embedding_size)) continue;
      regenerate(k);
      // Synthetic mean embedding, then each sample's input gradient of L.
      kernels::zero(diff, embedding_size);
      for (std::size_t i = 0; i < set_.size(); ++i) kernels::axpy(diff, net_.forward(set_.sample(i)), inv_m, embedding_size);
      kernels::axpy(diff, real_mean, -1.0f, embedding_size);
      const float loss = kernels::dot(diff, diff, embedding_size);
      if (r.steps + r.refused_steps == 0) r.first_loss = loss;
      r.last_loss = loss;
      NoUpdate frozen;
      for (std::size_t i = 0; i < set_.size(); ++i) {
        net_.forward(set_.sample(i));
        float* dy = net_.output_grad();
        kernels::zero(dy, embedding_size);
        kernels::axpy(dy, diff, 2.0f * inv_m, embedding_size);
        net_.backward(set_.sample(i), frozen, set_.grad(i));
      }
      r.macs += static_cast<double>(embedding::macs) * static_cast<double>(3 * set_.size());
      r.tally(set_.step(cfg_.lr, cfg_.momentum));
      on_iteration(t, loss);
    }
    return r;
  }

  const SyntheticSet<M, features>& synthetic() const noexcept { return set_; }
  const DistillReport& report() const noexcept { return report_; }

 private:
  void regenerate(std::size_t k) noexcept {
    Rng r(cfg_.seed, 2 * k + 1);  // one stream per network: the same network every time
    net_.init(r);
  }
  std::size_t block_of(std::size_t j) const noexcept { return (j / (cfg_.real_batch ? cfg_.real_batch : 1)) % blocks_; }

  Status add_chunk(const float* x, std::size_t n) noexcept {
    bool use[max_chunk] = {};
    std::uint32_t phase[max_chunk] = {};
    Status first = Status::ok;
    for (std::size_t i = 0; i < n; ++i) {
      const Status st = set_.admit(x + i * features);
      if (st != Status::ok) {
        ++report_.real_skipped;
        if (first == Status::ok) first = st;
        continue;
      }
      use[i] = true;
      phase[i] = static_cast<std::uint32_t>(block_of(report_.real_seen));
      ++report_.real_seen;
      set_.offer(x + i * features, rng_);
    }
    for (std::size_t k = 0; k < Networks; ++k) {
      bool fresh = false;
      for (std::size_t i = 0; i < n; ++i) {
        if (!use[i] || phase[i] != k % blocks_) continue;
        if (!fresh) regenerate(k), fresh = true;
        const float* e = net_.forward(x + i * features);
        if (!all_finite(e, embedding_size)) continue;
        kernels::axpy(sum_[k], e, 1.0f, embedding_size);
        ++count_[k];
        report_.macs += static_cast<double>(embedding::macs);
      }
    }
    return first;
  }

  embedding net_;
  SyntheticSet<M, features> set_;
  float sum_[Networks][embedding_size] = {};
  std::uint32_t count_[Networks] = {};
  std::size_t blocks_ = 1;
  DistillConfig cfg_{};
  Rng rng_{};
  DistillReport report_{};
};

}  // namespace tinyadapt
