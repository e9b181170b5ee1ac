// Must not compile: forward() given a tensor of the wrong size.
#include <tinyadapt/tinyadapt.hpp>
using Net = tinyadapt::Sequential<tinyadapt::Input<8>, tinyadapt::Dense<2>>;
Net net;
int main() {
  tinyadapt::Tensor<tinyadapt::Shape<9>> x;
  return static_cast<int>(net.forward(x)[0]);
}
