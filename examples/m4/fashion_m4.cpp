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
#include "flash_classifier.hpp"

namespace ta = tinyadapt;
namespace ds = data::fashion;

using W3 = ta::Sequential<ta::Input<28, 28, 1>,                         //
                          ta::Conv2D<8, 3>, ta::ReLU, ta::MaxPool2D<2>,   //
                          ta::Conv2D<16, 3>, ta::ReLU, ta::MaxPool2D<2>,  //
                          ta::Flatten, ta::Dense<10>>;
static_assert(ds::features == W3::input_size, "Fashion-MNIST images are 28x28");

constexpr std::size_t conv1_macs = 26 * 26 * 8 * 9;
static_assert(W3::macs == conv1_macs + 11 * 11 * 16 * 72 + 400 * 10, "W3 forward MACs");
constexpr std::size_t train_macs = 3 * W3::macs - conv1_macs;  // no input gradient for the first layer
static_assert(train_macs == 527520, "W3 MACs per training step");

static W3 net;
static float x[ds::features];  // the current sample as floats

int main() {
  board::print("W3 on Fashion-MNIST on the Cortex-M4: ");
  board::print_uint(W3::param_count);
  board::print(" parameters, ");
  board::print_uint(ds::train_count);
  board::print(" train / ");
  board::print_uint(ds::test_count);
  board::print(" test images from flash, SGD lr 0.01 cosine, 1 epoch\n");
  const m4::FlashData flash{ds::train_x, ds::train_y, ds::train_count, ds::test_x,
                            ds::test_y,  ds::test_count, ds::features, ds::pixel_max};
  return m4::train_flash_classifier(net, x, flash, {0.01f, 1, ta::Init::glorot_uniform, train_macs, 0.6f, 80 * 1024, 1});
}
