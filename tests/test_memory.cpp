// The constexpr memory report is what the objects really occupy, and the
// reference networks fit their budgets.
#include <tinyadapt/tinyadapt.hpp>

#include "support/test.hpp"

namespace ta = tinyadapt;

using W1 = ta::Sequential<ta::Input<1>, ta::Dense<64>, ta::Tanh, ta::Dense<64>, ta::Tanh, ta::Dense<1>>;
using W2 = ta::Sequential<ta::Input<64>, ta::Dense<32>, ta::ReLU, ta::Dense<10>>;
using W3 = ta::Sequential<ta::Input<28, 28, 1>, ta::Conv2D<8, 3>, ta::ReLU, ta::MaxPool2D<2>, ta::Conv2D<16, 3>,
                          ta::ReLU, ta::MaxPool2D<2>, ta::Flatten, ta::Dense<10>>;

// What a user writes against a RAM budget.
static_assert(ta::training_memory<W3, ta::SGD<W3>>().total() <= 64 * 1024, "W3 training must fit in 64 KB");
static_assert(W1::param_count == 4353 && W2::param_count == 2410 && W3::param_count == 5258, "reference sizes");

template <class Net>
void check_report() {
  constexpr auto m = Net::memory();
  CHECK(m.total() == sizeof(Net));
  CHECK(m.parameters >= Net::param_count * sizeof(float));
  CHECK(m.gradients == 0);
  CHECK(ta::training_memory<Net, ta::SGD<Net>>().total() == sizeof(Net) + sizeof(ta::SGD<Net>));
  constexpr auto adam = ta::training_memory<Net, ta::Adam<Net>>();
  CHECK(adam.optimizer_state >= 2 * Net::trainable_count * sizeof(float));
  // hyper-parameters, step, and two moment bounds per layer (optim/adam.hpp)
  CHECK(adam.optimizer_state <= 2 * Net::trainable_count * sizeof(float) + 48 + 8 * Net::layer_count);
  CHECK(adam.gradients == Net::max_layer_trainable * sizeof(float));
  CHECK(adam.total() == sizeof(Net) + sizeof(ta::Adam<Net>));
}

TEST_CASE("memory report equals sizeof for the reference networks") {
  check_report<W1>();
  check_report<W2>();
  check_report<W3>();
}

TEST_CASE("memory plan of W3: only what backward needs is kept") {
  constexpr auto m = W3::memory();
  // Saved: conv2 input (13x13x8) and dense input (5x5x16); work areas: conv1
  // output (26x26x8) and pool1 output (13x13x8). No 26x26x8 tensor is kept.
  // The dense layer's output delta (10 floats, padded to 12) is kept while the
  // convolutions below are checked (the guarded backward, nn/sequential.hpp).
  CHECK(m.activations == (1352 + 400 + 5408 + 1352 + 12) * sizeof(float));
  // ReLU bit masks, max-pool argmax bytes, the initialised flag and padding.
  CHECK(m.backward_state == (676 + 244 + 1352 + 400) + 16);
  CHECK(m.total() == 57824);
}

TEST_CASE("frozen layers cost no gradient memory and no optimizer state") {
  using Net = ta::Sequential<ta::Input<64>, ta::Frozen<ta::Dense<32>>, ta::ReLU, ta::Dense<10>>;
  CHECK(Net::param_count == 2410);
  CHECK(Net::trainable_count == 330);
  CHECK(ta::training_memory<Net, ta::Adam<Net>>().optimizer_state < 2 * 340 * sizeof(float));
  // The frozen first layer keeps no input, so only the dense input is saved.
  CHECK(Net::memory().activations < W2::memory().activations + 1);
}

TEST_CASE("frozen layers are not updated, trainable ones are") {
  using Net = ta::Sequential<ta::Input<4>, ta::Frozen<ta::Dense<3>>, ta::Tanh, ta::Dense<2>>;
  static Net net;
  ta::Rng rng(9);
  net.init(rng);
  float before[Net::param_count];
  for (std::size_t i = 0; i < Net::param_count; ++i) before[i] = net.parameters()[i];
  const float x[] = {0.1f, 0.2f, -0.3f, 0.4f}, t[] = {1.0f, -1.0f};
  ta::Adam<Net> adam(0.1f);
  CHECK(ta::train_step<ta::MSE>(net, adam, x, t).ok());
  bool frozen_same = true, head_changed = false;
  for (std::size_t i = 0; i < 15; ++i) frozen_same = frozen_same && net.parameters()[i] == before[i];
  for (std::size_t i = 15; i < Net::param_count; ++i) head_changed = head_changed || net.parameters()[i] != before[i];
  CHECK(frozen_same);
  CHECK(head_changed);
}
