// Must not compile: an optimizer declared for another network type.
#include <tinyadapt/tinyadapt.hpp>
namespace ta = tinyadapt;
using A = ta::Sequential<ta::Input<4>, ta::Dense<2>>;
using B = ta::Sequential<ta::Input<4>, ta::Dense<3>, ta::Dense<2>>;
A net;
ta::Adam<B> adam;
int main() {
  const float x[4] = {}, t[2] = {};
  return static_cast<int>(ta::train_step<ta::MSE>(net, adam, x, t).status);
}
