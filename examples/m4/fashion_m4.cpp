// W3 (28x28x1 -> conv 8@3x3 ReLU -> maxpool 2 -> conv 16@3x3 ReLU -> maxpool 2
// -> dense 10) trained online on the device on a Fashion-MNIST subset read
// from flash (uint8 pixels scaled by 1/255 one sample at a time). One epoch
// of SGD, lr 0.01 with cosine decay to 0, Glorot-uniform initialisation.
// Prints the test accuracy, the RAM used and instructions per step.
// Exit status: 0 when the accuracy is at least 0.6 and the RAM fits its
// budget, 1 otherwise.
#include <tinyadapt/tinyadapt.hpp>

#include "board.hpp"
#include "fashion.hpp"
#include "report.hpp"

namespace ta = tinyadapt;
namespace ds = data::fashion;

using W3 = ta::Sequential<ta::Input<28, 28, 1>,                         //
                          ta::Conv2D<8, 3>, ta::ReLU, ta::MaxPool2D<2>,   //
                          ta::Conv2D<16, 3>, ta::ReLU, ta::MaxPool2D<2>,  //
                          ta::Flatten, ta::Dense<10>>;
using Optimizer = ta::SGD<W3>;
static_assert(ds::features == W3::input_size, "Fashion-MNIST images are 28x28");

constexpr int epochs = 1;
constexpr float min_accuracy = 0.6f;
constexpr uint32_t ram_budget = 80 * 1024;
constexpr std::size_t conv1_macs = 26 * 26 * 8 * 9;
static_assert(W3::macs == conv1_macs + 11 * 11 * 16 * 72 + 400 * 10, "W3 forward MACs");
constexpr std::size_t train_macs = 3 * W3::macs - conv1_macs;  // no input gradient for the first layer
static_assert(train_macs == 527520, "W3 MACs per training step");

static W3 net;
static Optimizer sgd(0.01f);
static float x[ds::features];  // the current sample as floats

namespace {

void load(const unsigned char* pixels, float* out) {
  constexpr float scale = 1.0f / static_cast<float>(ds::pixel_max);
  for (unsigned i = 0; i < ds::features; ++i) out[i] = static_cast<float>(pixels[i]) * scale;
}

float test_accuracy() {
  return ta::accuracy(net, ds::test_count, [](std::size_t i, float* out) {
    load(ds::test_x + i * ds::features, out);
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
  board::print("W3 on Fashion-MNIST on the Cortex-M4: ");
  board::print_uint(W3::param_count);
  board::print(" parameters, ");
  board::print_uint(ds::train_count);
  board::print(" train / ");
  board::print_uint(ds::test_count);
  board::print(" test images from flash, SGD lr 0.01 cosine, ");
  board::print_uint(epochs);
  board::print(" epoch(s)\n");
  constexpr ta::MemoryReport memory = ta::training_memory<W3, Optimizer>();
  m4::print_memory_report(memory);

  ta::Rng rng(7);
  net.init(rng, ta::Init::glorot_uniform);
  const ta::CosineLR schedule{0.01f, 0.0f, ds::train_count * epochs};
  uint32_t step = 0;
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
    board::print("\n");
  }
  const float accuracy = test_accuracy();
  print_accuracy("final test accuracy ", accuracy);

  // Costs, measured after training, of steps at the initial learning rate.
  sgd.lr = 0.01f;
  load(ds::train_x, x);
  const unsigned label = ds::train_y[0];
  m4::print_instructions([&] { (void)ta::train_step<ta::SoftmaxCrossEntropy>(net, sgd, x, label); },
                         [&] { (void)net.forward(x); }, train_macs, W3::macs, 1);

  const bool ram_ok = m4::check_ram(ram_budget);
  const bool learned = accuracy >= min_accuracy;
  if (!learned) board::print("FAIL: test accuracy below 60%\n");
  return learned && ram_ok ? 0 : 1;
}
