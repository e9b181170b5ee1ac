// W2 (64 -> 32 ReLU -> 10) trained online on the device on the 8x8 digits,
// read from flash (uint8 pixels 0..16, scaled to [0, 1] one sample at a
// time). SGD, lr 0.1 with cosine decay to 0, a few epochs in a fresh random
// order each. Prints the test accuracy on the 360 held-out samples, the RAM
// used and instructions per step.
// Exit status: 0 when the accuracy is at least 0.85 and the RAM fits its
// budget, 1 otherwise.
#include <tinyadapt/tinyadapt.hpp>

#include "board.hpp"
#include "digits.hpp"
#include "report.hpp"

namespace ta = tinyadapt;
namespace ds = data::digits;

using W2 = ta::Sequential<ta::Input<64>, ta::Dense<32>, ta::ReLU, ta::Dense<10>>;
using Optimizer = ta::SGD<W2>;
static_assert(ds::features == W2::input_size, "digits are 8x8");

constexpr int epochs = 5;
constexpr float min_accuracy = 0.85f;
constexpr uint32_t ram_budget = 16 * 1024;
static_assert(W2::macs == 64 * 32 + 32 * 10, "W2 forward MACs");
constexpr std::size_t train_macs = 3 * W2::macs - 64 * 32;  // no input gradient for the first layer
static_assert(train_macs == 5056, "W2 MACs per training step");

static W2 net;
static Optimizer sgd(0.1f);

namespace {

void load(const unsigned char* pixels, float* x) {
  constexpr float scale = 1.0f / static_cast<float>(ds::pixel_max);
  for (unsigned i = 0; i < ds::features; ++i) x[i] = static_cast<float>(pixels[i]) * scale;
}

float test_accuracy() {
  return ta::accuracy(net, ds::test_count, [](std::size_t i, float* x) {
    load(ds::test_x + i * ds::features, x);
    return ds::test_y[i];
  });
}

void print_accuracy(const char* what, float a) {
  board::print(what);
  board::print_float(100.0f * a, 2);
  board::print("%\n");
}

}  // namespace

int main() {
  board::print("W2 on 8x8 digits on the Cortex-M4: ");
  board::print_uint(W2::param_count);
  board::print(" parameters, ");
  board::print_uint(ds::train_count);
  board::print(" train / ");
  board::print_uint(ds::test_count);
  board::print(" test samples from flash, SGD lr 0.1 cosine, ");
  board::print_uint(epochs);
  board::print(" epochs\n");
  constexpr ta::MemoryReport memory = ta::training_memory<W2, Optimizer>();
  m4::print_memory_report(memory);

  ta::Rng rng(7);
  net.init(rng);
  const ta::CosineLR schedule{0.1f, 0.0f, ds::train_count * epochs};
  uint32_t step = 0;
  float x[ds::features];
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    const m4::Permutation order(ds::train_count, rng);
    float loss_sum = 0.0f;
    for (uint32_t k = 0; k < ds::train_count; ++k) {
      const uint32_t i = order[k];
      load(ds::train_x + i * ds::features, x);
      sgd.lr = schedule(step++);
      const ta::StepResult r = ta::train_step<ta::SoftmaxCrossEntropy>(net, sgd, x, ds::train_y[i]);
      if (!r.ok()) {
        board::print("step failed: ");
        board::print(ta::to_string(r.status));
        board::print("\n");
        return 1;
      }
      loss_sum += r.loss;
    }
    board::print("epoch ");
    board::print_uint(static_cast<uint32_t>(epoch));
    board::print(": mean training loss ");
    board::print_float(loss_sum / static_cast<float>(ds::train_count), 4);
    print_accuracy(", test accuracy ", test_accuracy());
  }
  const float accuracy = test_accuracy();
  print_accuracy("final test accuracy ", accuracy);

  // Costs, measured after training, of steps at the initial learning rate.
  sgd.lr = 0.1f;
  load(ds::train_x, x);
  const unsigned label = ds::train_y[0];
  m4::print_instructions([&] { (void)ta::train_step<ta::SoftmaxCrossEntropy>(net, sgd, x, label); },
                         [&] { (void)net.forward(x); }, train_macs, W2::macs);

  const bool ram_ok = m4::check_ram(ram_budget);
  const bool learned = accuracy >= min_accuracy;
  if (!learned) board::print("FAIL: test accuracy below 85%\n");
  return learned && ram_ok ? 0 : 1;
}
