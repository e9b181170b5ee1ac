// Must not compile: predict() given an array of the wrong length.
#include <tinyadapt/tinyadapt.hpp>
namespace ta = tinyadapt;
using Net = ta::Sequential<ta::Input<8>, ta::Dense<2>>;
Net net;
int main() {
  float x[9] = {};
  return static_cast<int>(ta::predict(net, x).label);
}
