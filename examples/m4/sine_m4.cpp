// W1 (1 -> 64 tanh -> 64 tanh -> 1) trained online on the device: regression
// of y = 2 sin(x + 0.5), x ~ U[-5, 5], plain SGD. Prints the test MSE on a
// 50-point grid as it falls, the RAM used and instructions per step.
// Exit status: 0 when the final MSE is below 10% of the initial one and the
// RAM fits its budget, 1 otherwise.
#include <cmath>

#include <tinyadapt/tinyadapt.hpp>

#include "board.hpp"
#include "report.hpp"

namespace ta = tinyadapt;

using W1 = ta::Sequential<ta::Input<1>, ta::Dense<64>, ta::Tanh, ta::Dense<64>, ta::Tanh, ta::Dense<1>>;
using Optimizer = ta::SGD<W1>;

constexpr int steps = 10000;
constexpr int report_every = 1000;
constexpr uint32_t ram_budget = 24 * 1024;
// Forward MACs, then a training step: forward + weight gradients + input
// gradients of every layer but the first.
static_assert(W1::macs == 64 + 64 * 64 + 64, "W1 forward MACs");
constexpr std::size_t train_macs = 3 * W1::macs - 64;
static_assert(train_macs == 12608, "W1 MACs per training step");

static W1 net;
static Optimizer sgd(0.01f);

namespace {

constexpr float amplitude = 2.0f, phase = 0.5f;

float target(float x) { return amplitude * std::sin(x + phase); }

float mse_on_grid() {
  float s = 0.0f;
  for (int k = 0; k < 50; ++k) {
    const float x = -5.0f + 10.0f * static_cast<float>(k) / 49.0f;
    const float d = net.forward(&x)[0] - target(x);
    s += d * d;
  }
  return s / 50.0f;
}

void print_mse(int step, float mse) {
  board::print("step ");
  board::print_uint(static_cast<uint32_t>(step));
  board::print(": test MSE ");
  board::print_float(mse, 4);
  board::print("\n");
}

}  // namespace

int main() {
  board::print("W1 sine regression on the Cortex-M4: ");
  board::print_uint(W1::param_count);
  board::print(" parameters, SGD lr 0.01, ");
  board::print_uint(steps);
  board::print(" online steps\n");
  constexpr ta::MemoryReport memory = ta::training_memory<W1, Optimizer>();
  m4::print_memory_report(memory);

  ta::Rng rng(3);
  net.init(rng);
  const float initial = mse_on_grid();
  print_mse(0, initial);
  for (int step = 1; step <= steps; ++step) {
    const float x = rng.uniform(-5.0f, 5.0f);
    const float y = target(x);
    const ta::StepResult r = ta::train_step<ta::MSE>(net, sgd, &x, &y);
    if (!r.ok()) {
      board::print("step failed: ");
      board::print(ta::to_string(r.status));
      board::print("\n");
      return 1;
    }
    if (step % report_every == 0) print_mse(step, mse_on_grid());
  }
  const float final_mse = mse_on_grid();
  board::print("final/initial MSE ");
  board::print_float(final_mse / initial, 4);
  board::print(" (must be < 0.1)\n");

  // Costs, measured after training so the counts do not disturb it.
  const float x = 0.3f, y = target(x);
  m4::print_instructions([&] { (void)ta::train_step<ta::MSE>(net, sgd, &x, &y); },
                         [&] { (void)net.forward(&x); }, train_macs, W1::macs);

  const bool ram_ok = m4::check_ram(ram_budget);
  const bool learned = final_mse < 0.1f * initial;
  if (!learned) board::print("FAIL: the MSE did not fall below 10% of the initial\n");
  return learned && ram_ok ? 0 : 1;
}
