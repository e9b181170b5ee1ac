// Must not compile: a user's RAM budget check against the memory report.
#include <tinyadapt/tinyadapt.hpp>
using Net = tinyadapt::Sequential<tinyadapt::Input<28, 28, 1>, tinyadapt::Conv2D<32, 3>, tinyadapt::ReLU,
                                  tinyadapt::Flatten, tinyadapt::Dense<10>>;
static_assert(tinyadapt::training_memory<Net, tinyadapt::SGD<Net>>().total() <= 64 * 1024, "over budget");
int main() { return 0; }
