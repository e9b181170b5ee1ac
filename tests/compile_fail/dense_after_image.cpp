// Must not compile: Dense needs a flat input, this one gets a 28x28x1 image.
#include <tinyadapt/tinyadapt.hpp>
using Net = tinyadapt::Sequential<tinyadapt::Input<28, 28, 1>, tinyadapt::Dense<10>>;
Net net;
int main() { return static_cast<int>(Net::param_count); }
