// Built by check_consumer.cmake (find_package mode) with nothing but the
// flags of `pkg-config --cflags tinyadapt` from the installed prefix.
#include <cstdio>

#include <tinyadapt/tinyadapt.hpp>

namespace ta = tinyadapt;

int main() {
  using Net = ta::Sequential<ta::Input<4>, ta::Dense<3>>;
  static Net net;
  ta::Rng rng(1);
  net.init(rng);
  const float x[4] = {1, 2, 3, 4};
  if (!ta::predict(net, x).ok()) return 1;
  std::printf("tinyadapt %s\n", ta::version_string);
  return 0;
}
