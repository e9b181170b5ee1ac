// Build-time configuration: feature detection and the assert policy.
//
// A project may provide `tinyadapt_user_config.hpp` on its include path (and
// define TINYADAPT_USER_CONFIG) to override any macro below.
#pragma once

#if defined(TINYADAPT_USER_CONFIG)
#include "tinyadapt_user_config.hpp"
#endif

// Kernel variant picked at compile time. Override with TINYADAPT_KERNELS_PORTABLE
// to force the plain C++ kernels on any target (the tests use this to compare).
#if !defined(TINYADAPT_KERNELS_PORTABLE) && defined(__ARM_FEATURE_DSP) && defined(__ARM_FP) && !defined(__aarch64__)
#define TINYADAPT_HAS_CORTEX_M4 1
#else
#define TINYADAPT_HAS_CORTEX_M4 0
#endif
// AArch64 with Advanced SIMD (Raspberry Pi 4 and other Cortex-A cores).
#if !defined(TINYADAPT_KERNELS_PORTABLE) && defined(__aarch64__) && defined(__ARM_NEON)
#define TINYADAPT_HAS_NEON 1
#else
#define TINYADAPT_HAS_NEON 0
#endif

// Programming errors that cannot be caught at compile time (an index out of
// range in a view, a run-time width above its maximum) go through this hook.
// Data errors never do: they are returned as ta::Status.
#ifndef TINYADAPT_ASSERT
#ifdef NDEBUG
#define TINYADAPT_ASSERT(cond) ((void)0)
#else
#define TINYADAPT_ASSERT(cond) ((cond) ? (void)0 : ::tinyadapt::detail::assert_failed(#cond, __FILE__, __LINE__))
namespace tinyadapt::detail {
// Weak hook: a board can define its own to print and halt.
[[noreturn]] inline void assert_failed(const char*, const char*, int) noexcept { __builtin_trap(); }
}  // namespace tinyadapt::detail
#endif
#endif

#if defined(__GNUC__)
#define TINYADAPT_ALWAYS_INLINE inline __attribute__((always_inline))
#define TINYADAPT_NOINLINE __attribute__((noinline))
#define TINYADAPT_RESTRICT __restrict__
#else
#define TINYADAPT_ALWAYS_INLINE inline
#define TINYADAPT_NOINLINE
#define TINYADAPT_RESTRICT
#endif
