// One batch-Reptile device round of P1 on the Cortex-M4 (the baseline of
// reptile_device_m4): θ from a host file, 50 samples of the device's own sine
// task stored, 5 minibatch SGD steps of 10 (lr 0.02) through a gradient
// accumulator, φ back to a host file. Memory: W1, its SGD, the 50 stored
// samples and the accumulator (one gradient per parameter).
#include "reptile_device.hpp"

namespace rm = reptile_m4;

static rm::W1 net;
static rm::ta::SGD<rm::W1> sgd(rm::batch_lr);
static rm::ta::GradientAccumulator<rm::W1> acc;
static rm::Batch batch;

int main(int argc, char** argv) {
  return rm::run_device(argc, argv, "reptile", false, net, sgd, 48 * 1024,
                        [](rm::ta::Span<const float> theta, const rm::Args& a) {
                          return rm::batch_reptile_round(net, sgd, acc, batch, theta, a.seed);
                        });
}
