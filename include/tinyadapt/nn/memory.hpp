// What training a network costs in RAM, known at compile time.
#pragma once
#include <cstddef>

namespace tinyadapt {

struct MemoryReport {
  std::size_t parameters = 0;       // bytes of all parameters (frozen ones included)
  std::size_t gradients = 0;        // bytes of gradient memory (0 for fused SGD)
  std::size_t activations = 0;      // bytes of forward values and backward deltas
  std::size_t backward_state = 0;   // bytes kept for backward besides tensors (ReLU masks, argmax)
  std::size_t scratch = 0;          // bytes of shared scratch
  std::size_t optimizer_state = 0;  // bytes of optimizer state (momentum, Adam moments)
  std::size_t widths = 0;           // bytes of run-time active widths (growable layers; 0 otherwise)

  constexpr std::size_t total() const noexcept {
    return parameters + gradients + activations + backward_state + scratch + optimizer_state + widths;
  }
};

}  // namespace tinyadapt
