// Trains y = 0.5 x1 - 0.25 x2 online on the device and checks that the loss
// fell; prints through the board runtime's semihosting console.
#include <tinyadapt/tinyadapt.hpp>

#include "board.hpp"

namespace ta = tinyadapt;

using Net = ta::Sequential<ta::Input<2>, ta::Dense<8>, ta::Tanh, ta::Dense<1>>;
static Net net;

int main() {
  ta::Rng rng(1);
  net.init(rng);
  ta::SGD<Net> sgd(0.05f);
  float first = 0.0f, last = 0.0f;
  for (int step = 0; step < 2000; ++step) {
    const float x[2] = {rng.uniform(-1.0f, 1.0f), rng.uniform(-1.0f, 1.0f)};
    const float y = 0.5f * x[0] - 0.25f * x[1];
    const ta::StepResult r = ta::train_step<ta::MSE>(net, sgd, x, &y);
    if (!r.ok()) return 1;
    if (step < 100) first += r.loss;
    if (step >= 1900) last += r.loss;
  }
  board::print("my_app: mean loss of the first 100 steps ");
  board::print_float(first / 100.0f, 5);
  board::print(", of the last 100 ");
  board::print_float(last / 100.0f, 5);
  board::print("\n");
  return last < 0.1f * first ? 0 : 1;
}
