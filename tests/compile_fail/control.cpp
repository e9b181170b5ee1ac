// Must compile: the control case proving the compile-fail harness can pass.
#include <tinyadapt/tinyadapt.hpp>
using Net = tinyadapt::Sequential<tinyadapt::Input<28, 28, 1>, tinyadapt::Conv2D<8, 3>, tinyadapt::ReLU,
                                  tinyadapt::MaxPool2D<2>, tinyadapt::Flatten, tinyadapt::Dense<10>>;
Net net;
int main() { return static_cast<int>(Net::param_count % 2); }
