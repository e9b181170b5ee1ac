// Must not compile: Softmax mixes the channels of a growable layer's output,
// whose inactive channels are not part of the function.
#include <tinyadapt/tinyadapt.hpp>
using Net = tinyadapt::Sequential<tinyadapt::Input<8>, tinyadapt::GrowableDense<16, 4>, tinyadapt::Softmax,
                                  tinyadapt::Dense<3>>;
Net net;
int main() { return static_cast<int>(Net::param_count); }
