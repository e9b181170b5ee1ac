// Must not compile: a 5x5 valid convolution over a 4x4 image.
#include <tinyadapt/tinyadapt.hpp>
using Net = tinyadapt::Sequential<tinyadapt::Input<4, 4, 1>, tinyadapt::Conv2D<2, 5>>;
Net net;
int main() { return static_cast<int>(Net::param_count); }
