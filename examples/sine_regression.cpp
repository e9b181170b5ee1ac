// Train W1 (1 -> 64 tanh -> 64 tanh -> 1) online on y = A sin(x + phi): the
// regression network of the sine few-shot protocol. Prints the loss as it falls.
//
//   sine_regression [--quick]
#include <cmath>
#include <cstdio>
#include <cstring>

#include <tinyadapt/tinyadapt.hpp>

namespace ta = tinyadapt;

using W1 = ta::Sequential<ta::Input<1>, ta::Dense<64>, ta::Tanh, ta::Dense<64>, ta::Tanh, ta::Dense<1>>;
constexpr ta::MemoryReport memory = ta::training_memory<W1, ta::SGD<W1>>();

static W1 net;

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // lines show through a pipe (| tee)
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const int steps = quick ? 20000 : 100000;
  std::printf("W1 sine regression: %zu parameters, training memory %zu B\n", W1::param_count, memory.total());

  ta::Rng rng(3);
  net.init(rng);
  ta::SGD<W1> sgd(0.01f);
  const float amplitude = 2.0f, phase = 0.5f;
  auto mse_on_grid = [&] {
    float s = 0.0f;
    for (int k = 0; k < 50; ++k) {
      const float x = -5.0f + 10.0f * static_cast<float>(k) / 49.0f;
      const float d = net.forward(&x)[0] - amplitude * std::sin(x + phase);
      s += d * d;
    }
    return s / 50.0f;
  };
  const float start = mse_on_grid();
  std::printf("step %6d: test MSE %.4f\n", 0, static_cast<double>(start));
  for (int step = 1; step <= steps; ++step) {
    const float x = rng.uniform(-5.0f, 5.0f);
    const float y = amplitude * std::sin(x + phase);
    if (!ta::train_step<ta::MSE>(net, sgd, &x, &y).ok()) return 1;
    if (step % (steps / 10) == 0) std::printf("step %6d: test MSE %.4f\n", step, static_cast<double>(mse_on_grid()));
  }
  const float end = mse_on_grid();
  return end < 0.1f * start ? 0 : 2;
}
