// One device round of P1 (sine few-shot regression, ../shared/guides/protocols.md)
// as the Cortex-M4 device programs (reptile_device_m4.cpp, reptile_batch_m4.cpp)
// run it and as the host driver (examples/reptile_m4_driver.cpp) replays it:
// the same code on both sides, so that the host-only run differs from the
// device run only by the compilers' floating point (the M4 build contracts
// a*b+c into VFMA, newlib's sinf is not glibc's).
//
// A device's task comes from one 32-bit seed: amplitude A ~ U[0.1, 5] and
// phase ~ U[0, 2π] first, then the stream of x ~ U[-5, 5], y = A sin(x + phase),
// all from one ta::Rng (PCG32, identical on every target).
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <tinyadapt/tinyadapt.hpp>

namespace reptile_m4 {

namespace ta = tinyadapt;

using W1 = ta::Sequential<ta::Input<1>, ta::Dense<64>, ta::Tanh, ta::Dense<64>, ta::Tanh, ta::Dense<1>>;

// TinyReptile's device: online SGD, batch 1, each sample used once, with
// the library's default per-layer gradient clipping; lr as the host P1 run
// (examples/reptile_sine.cpp) uses it.
inline constexpr float online_lr = 0.015f;
inline constexpr std::uint32_t default_k = 10;
inline constexpr std::uint32_t max_k = 100000;
// Batch Reptile's device (Nichol et al.): 50 stored samples, 5 minibatch
// steps of 10, SGD lr 0.02.
inline constexpr float batch_lr = 0.02f;
inline constexpr std::size_t batch_samples = 50;
inline constexpr std::size_t batch_minibatch = 10;
inline constexpr std::size_t batch_steps = 5;
using Batch = ta::meta::SampleBatch<ta::MSE, W1, batch_samples>;

// Exit statuses of the device programs (the board runtime uses 2, 3 and 4).
inline constexpr int exit_usage = 1;
inline constexpr int exit_theta_refused = 5;  // θ missing, foreign, corrupted or non-finite: never trained on
inline constexpr int exit_round_failed = 6;   // φ not usable (non-finite, diverged): not sent
inline constexpr int exit_send_failed = 7;    // φ could not be written
inline constexpr int exit_over_budget = 8;    // RAM used above the program's budget (φ written)

// The sine task of one device and its sample stream.
class SineTask {
 public:
  explicit SineTask(std::uint32_t seed) : rng_(seed, 0x5117e5eedULL) {
    amplitude_ = rng_.uniform(0.1f, 5.0f);
    phase_ = rng_.uniform(0.0f, 6.28318530717958647692f);
  }
  float amplitude() const { return amplitude_; }
  float phase() const { return phase_; }
  float target(float x) const { return amplitude_ * std::sin(x + phase_); }

  // The next streamed sample, as meta::device_round and SampleBatch::fill
  // take it: fills x, returns a pointer to the target.
  const float* next(float* x) {
    x[0] = rng_.uniform(-5.0f, 5.0f);
    y_ = target(x[0]);
    return &y_;
  }
  auto sampler() {
    return [this](std::size_t, float* x) { return next(x); };
  }

 private:
  ta::Rng rng_;
  float amplitude_ = 0.0f, phase_ = 0.0f, y_ = 0.0f;
};

// TinyReptile: θ (already in net or elsewhere) → φ in net after k online steps.
template <class Opt>
ta::meta::RoundResult tinyreptile_round(W1& net, Opt& sgd, ta::Span<const float> theta, std::uint32_t task_seed,
                                        std::uint32_t k) {
  SineTask task(task_seed);
  return ta::meta::device_round<ta::MSE>(net, sgd, theta, k, task.sampler());
}

// Batch Reptile: the device stores 50 samples of its task, then 5 minibatch
// steps of 10 from θ.
template <class Opt>
ta::meta::RoundResult batch_reptile_round(W1& net, Opt& sgd, ta::GradientAccumulator<W1>& acc, Batch& batch,
                                          ta::Span<const float> theta, std::uint32_t task_seed) {
  SineTask task(task_seed);
  const std::uint32_t skipped = batch.fill(batch_samples, task.sampler());
  ta::meta::RoundResult r = ta::meta::batch_round(net, sgd, acc, theta, batch, batch_minibatch, batch_steps);
  r.skipped += skipped;
  return r;
}

}  // namespace reptile_m4
