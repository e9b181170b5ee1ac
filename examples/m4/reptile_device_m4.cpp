// One TinyReptile device round of P1 on the Cortex-M4: θ from a host file,
// k online SGD steps (batch 1, lr 0.015, each sample used once) on the
// device's own sine task generated here from its seed, φ back to a host
// file. Memory: W1 and its SGD, nothing else (θ is received into the
// network, φ sent from it). See reptile_device.hpp for the command line,
// the checks on θ and the exit statuses.
#include "reptile_device.hpp"

namespace rm = reptile_m4;

static rm::W1 net;
static rm::ta::SGD<rm::W1> sgd(rm::online_lr);

int main(int argc, char** argv) {
  return rm::run_device(argc, argv, "tinyreptile", true, net, sgd, 24 * 1024,
                        [](rm::ta::Span<const float> theta, const rm::Args& a) {
                          return rm::tinyreptile_round(net, sgd, theta, a.seed, a.k);
                        });
}
