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
#include "flash_classifier.hpp"

namespace ta = tinyadapt;
namespace ds = data::digits;

using W2 = ta::Sequential<ta::Input<64>, ta::Dense<32>, ta::ReLU, ta::Dense<10>>;
static_assert(ds::features == W2::input_size, "digits are 8x8");

static_assert(W2::macs == 64 * 32 + 32 * 10, "W2 forward MACs");
constexpr std::size_t train_macs = 3 * W2::macs - 64 * 32;  // no input gradient for the first layer
static_assert(train_macs == 5056, "W2 MACs per training step");

static W2 net;
static float x[ds::features];  // the current sample as floats

int main() {
  board::print("W2 on 8x8 digits on the Cortex-M4: ");
  board::print_uint(W2::param_count);
  board::print(" parameters, ");
  board::print_uint(ds::train_count);
  board::print(" train / ");
  board::print_uint(ds::test_count);
  board::print(" test samples from flash, SGD lr 0.1 cosine, 5 epochs\n");
  const m4::FlashData flash{ds::train_x, ds::train_y, ds::train_count, ds::test_x,
                            ds::test_y,  ds::test_count, ds::features, ds::pixel_max};
  return m4::train_flash_classifier(net, x, flash, {0.1f, 5, ta::Init::torch_default, train_macs, 0.85f, 16 * 1024, 3});
}
