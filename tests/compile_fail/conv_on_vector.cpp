// Must not compile: Conv2D needs an H x W x C image, this one gets a vector.
#include <tinyadapt/tinyadapt.hpp>
using Net = tinyadapt::Sequential<tinyadapt::Input<64>, tinyadapt::Conv2D<8, 3>>;
Net net;
int main() { return static_cast<int>(Net::param_count); }
