// tinyadapt on an Arduino board: a 1 -> 16 -> 1 tanh network learns
// y = sin(x) online, one sample per loop(), and prints its test error every
// 500 steps. Needs a core whose compiler accepts C++17.
#include <tinyadapt.h>

namespace ta = tinyadapt;

using Net = ta::Sequential<ta::Input<1>, ta::Dense<16>, ta::Tanh, ta::Dense<1>>;
static_assert(ta::training_memory<Net, ta::SGD<Net>>().total() < 2048, "fits a small board");

static Net net;
static ta::SGD<Net> sgd(0.02f);
static ta::Rng rng(1);
static unsigned long steps = 0;

static float test_mse() {
  float sum = 0.0f;
  for (int k = 0; k < 21; ++k) {
    const float x = -3.0f + 0.3f * static_cast<float>(k);
    const float d = net.forward(&x)[0] - sinf(x);
    sum += d * d;
  }
  return sum / 21.0f;
}

void setup() {
  Serial.begin(115200);
  net.init(rng);
  Serial.print("tinyadapt ");
  Serial.println(ta::version_string);
}

void loop() {
  const float x = rng.uniform(-3.0f, 3.0f);
  const float y = sinf(x);
  const ta::StepResult r = ta::train_step<ta::MSE>(net, sgd, &x, &y);
  if (!r.ok()) Serial.println(ta::to_string(r.status));
  if (++steps % 500 == 0) {
    Serial.print("step ");
    Serial.print(steps);
    Serial.print(": test MSE ");
    Serial.println(test_mse(), 5);
  }
}
