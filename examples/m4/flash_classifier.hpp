// The on-device classification examples share one program: online SGD with a
// cosine learning rate over uint8 samples in flash (scaled to [0, 1] one
// sample at a time), test accuracy, instruction counts and the RAM check.
#pragma once
#include <tinyadapt/tinyadapt.hpp>

#include "board.hpp"
#include "report.hpp"

namespace m4 {

// A data set compiled into flash by tinyadapt_flash_dataset().
struct FlashData {
  const unsigned char* train_x;
  const unsigned char* train_y;
  uint32_t train_count;
  const unsigned char* test_x;
  const unsigned char* test_y;
  uint32_t test_count;
  uint32_t features;
  uint32_t pixel_max;

  void load(const unsigned char* pixels, float* x) const {
    const float scale = 1.0f / static_cast<float>(pixel_max);
    for (uint32_t i = 0; i < features; ++i) x[i] = static_cast<float>(pixels[i]) * scale;
  }
};

struct ClassifierRun {
  float lr;
  int epochs;
  tinyadapt::Init init;
  std::size_t train_macs;  // per training step
  float min_accuracy;
  uint32_t ram_budget;
  int warm_up;  // steps run before instructions are counted
};

inline void print_accuracy(const char* what, float a) {
  board::print(what);
  board::print_float(100.0f * a, 2);
  board::print("%\n");
}

// Trains net on d as configured and prints what it measures; returns the exit
// status (0 when the accuracy and the RAM meet their bounds).
template <class Net>
int train_flash_classifier(Net& net, float* x, const FlashData& d, const ClassifierRun& run) {
  using Optimizer = tinyadapt::SGD<Net>;
  constexpr tinyadapt::MemoryReport memory = tinyadapt::training_memory<Net, Optimizer>();
  print_memory_report(memory);

  auto test_accuracy = [&] {
    return tinyadapt::accuracy(net, d.test_count, [&](std::size_t i, float* out) {
      d.load(d.test_x + i * d.features, out);
      return d.test_y[i];
    });
  };

  tinyadapt::Rng rng(7);
  net.init(rng, run.init);
  Optimizer sgd(run.lr);
  const tinyadapt::CosineLR schedule{run.lr, 0.0f, d.train_count * static_cast<uint32_t>(run.epochs)};
  uint32_t step = 0;
  Progress progress(d.train_count, run.epochs);
  for (int epoch = 1; epoch <= run.epochs; ++epoch) {
    const Permutation order(d.train_count, rng);
    float loss_sum = 0.0f;
    progress.start_epoch(epoch);
    for (uint32_t k = 0; k < d.train_count; ++k) {
      const uint32_t i = order[k];
      d.load(d.train_x + i * d.features, x);
      sgd.lr = schedule(step++);
      const tinyadapt::StepResult r = tinyadapt::train_step<tinyadapt::SoftmaxCrossEntropy>(net, sgd, x, d.train_y[i]);
      if (!r.ok()) {
        board::print("step failed: ");
        board::print(tinyadapt::to_string(r.status));
        board::print("\n");
        return 1;
      }
      loss_sum += r.loss;
      progress.step(k + 1, r.loss);
    }
    board::print("epoch ");
    board::print_uint(static_cast<uint32_t>(epoch));
    board::print(": mean training loss ");
    board::print_float(loss_sum / static_cast<float>(d.train_count), 4);
    progress.print_epoch_time();
    if (run.epochs > 1)
      print_accuracy(", test accuracy ", test_accuracy());
    else
      board::print("\n");
  }
  const float accuracy = test_accuracy();
  print_accuracy("final test accuracy ", accuracy);

  // Costs, measured after training, of steps at the initial learning rate.
  sgd.lr = run.lr;
  d.load(d.train_x, x);
  const unsigned label = d.train_y[0];
  print_instructions([&] { (void)tinyadapt::train_step<tinyadapt::SoftmaxCrossEntropy>(net, sgd, x, label); },
                     [&] { (void)net.forward(x); }, run.train_macs, Net::macs, run.warm_up);

  const bool ram_ok = check_ram(run.ram_budget);
  const bool learned = accuracy >= run.min_accuracy;
  if (!learned) print_accuracy("FAIL: test accuracy below ", run.min_accuracy);
  return learned && ram_ok ? 0 : 1;
}

}  // namespace m4
