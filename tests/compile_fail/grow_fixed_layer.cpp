// Must not compile: grow<I> on a layer that is not growable.
#include <tinyadapt/tinyadapt.hpp>
using Net = tinyadapt::Sequential<tinyadapt::Input<8>, tinyadapt::GrowableDense<16, 4>, tinyadapt::ReLU,
                                  tinyadapt::Dense<3>>;
Net net;
int main() {
  tinyadapt::Rng rng(1);
  return static_cast<int>(net.grow<2>(1, rng));
}
