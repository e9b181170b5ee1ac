// Train the W3 image network on Fashion-MNIST, online (one sample at a time)
// with plain SGD, in the memory a Cortex-M4 has to spare.
//
//   train_fashion [--quick] [--curve FILE]
//     --quick   4,000 samples, 1 epoch (used by the tests)
//     --curve   write the running training loss against samples seen to FILE
//               (two columns, for gnuplot; examples/demo.sh plots it)
//
// Prints a progress line about every two seconds and the time of each epoch.
#include <cstdio>
#include <cstring>

#include <tinyadapt/tinyadapt.hpp>

#include "datasets.hpp"
#include "progress.hpp"

namespace ta = tinyadapt;

using W3 = ta::Sequential<ta::Input<28, 28, 1>,                   //
                          ta::Conv2D<8, 3>, ta::ReLU, ta::MaxPool2D<2>,   //
                          ta::Conv2D<16, 3>, ta::ReLU, ta::MaxPool2D<2>,  //
                          ta::Flatten, ta::Dense<10>>;
using Optimizer = ta::SGD<W3>;

// The whole training state is known before the program runs.
constexpr ta::MemoryReport memory = ta::training_memory<W3, Optimizer>();
static_assert(memory.total() <= 64 * 1024, "W3 training must fit in 64 KB");

static W3 net;

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows through a pipe (| tee)
  bool quick = false;
  const char* curve_path = nullptr;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else if (std::strcmp(argv[i], "--curve") == 0 && i + 1 < argc) {
      curve_path = argv[++i];
    } else {
      std::fprintf(stderr, "usage: train_fashion [--quick] [--curve FILE]\n");
      return 2;
    }
  }
  const std::size_t n_train = quick ? 4000 : 60000, n_test = quick ? 1000 : 10000;
  const int epochs = quick ? 1 : 3;

  std::printf("W3 on Fashion-MNIST: %zu parameters, %zu forward MACs per sample\n", W3::param_count, W3::macs);
  std::printf("training memory: parameters %zu B, gradients %zu B, activations %zu B, backward state %zu B, "
              "optimizer %zu B, total %zu B\n",
              memory.parameters, memory.gradients, memory.activations, memory.backward_state, memory.optimizer_state,
              memory.total());

  data::Dataset train, test;
  if (!data::load_fashion(train, true, n_train) || !data::load_fashion(test, false, n_test)) return 1;

  std::FILE* curve = curve_path != nullptr ? std::fopen(curve_path, "w") : nullptr;
  if (curve_path != nullptr && curve == nullptr) {
    std::fprintf(stderr, "train_fashion: cannot write %s\n", curve_path);
    return 1;
  }
  Progress progress(train.size(), epochs, curve);

  ta::Rng rng(7);
  net.init(rng, ta::Init::glorot_uniform);
  Optimizer sgd(0.01f);
  const ta::CosineLR schedule{0.01f, 0.0f, static_cast<std::uint32_t>(n_train) * static_cast<std::uint32_t>(epochs)};
  std::uint32_t step = 0;
  float final_accuracy = 0.0f;
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    float loss_sum = 0.0f;
    std::size_t done = 0;
    progress.start_epoch(epoch);
    for (std::size_t i : data::shuffled_indices(train.size(), static_cast<std::uint64_t>(epoch))) {
      ++done;
      sgd.lr = schedule(step++);
      const ta::StepResult r = ta::train_step<ta::SoftmaxCrossEntropy>(net, sgd, train.sample(i), train.y[i]);
      if (!r.ok()) {
        std::printf("sample %zu skipped: %s\n", i, ta::to_string(r.status));
        continue;
      }
      loss_sum += r.loss;
      progress.step(done, r.loss);
    }
    const double train_seconds = progress.epoch_seconds();
    final_accuracy = ta::accuracy(net, test.size(), [&](std::size_t i, float* x) {
      std::memcpy(x, test.sample(i), sizeof(float) * W3::input_size);
      return test.y[i];
    });
    std::printf("epoch %d: mean training loss %.4f (%.1f s, %.0f samples/s), test accuracy %.2f%%\n", epoch,
                static_cast<double>(loss_sum / static_cast<float>(train.size())), train_seconds,
                static_cast<double>(train.size()) / train_seconds, 100.0 * final_accuracy);
  }
  if (curve != nullptr && std::fclose(curve) != 0) {
    std::fprintf(stderr, "train_fashion: writing %s failed\n", curve_path);
    return 1;
  }
  // The quick mode is a test: it must learn, not just run.
  return quick && final_accuracy < 0.75f ? 2 : 0;
}
