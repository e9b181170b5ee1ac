// Must not compile: a training step given an array of the wrong length.
#include <tinyadapt/tinyadapt.hpp>
namespace ta = tinyadapt;
using Net = ta::Sequential<ta::Input<8>, ta::Dense<2>>;
Net net;
ta::SGD<Net> sgd;
int main() {
  const float x[7] = {};
  return static_cast<int>(ta::train_step<ta::SoftmaxCrossEntropy>(net, sgd, x, 1u).status);
}
