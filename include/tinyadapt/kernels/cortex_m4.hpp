// Cortex-M4F kernel variants (selected when __ARM_FEATURE_DSP is defined).
// Until a kernel has a tuned variant, the portable one is used.
#pragma once
#include "portable.hpp"

namespace tinyadapt::kernels::cortex_m4 {
using portable::axpy;
using portable::dot;
using portable::gemv;
using portable::gemv_t;
using portable::hadamard_acc;
using portable::rank1;
}  // namespace tinyadapt::kernels::cortex_m4
