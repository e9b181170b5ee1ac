// Reservoir sampling (Vitter's algorithm R) and the index shuffles of the
// learner: a uniform random subset of a stream, and minibatches drawn without
// replacement, with the library's own Rng so every target draws the same.
#pragma once
#include <cstddef>
#include <cstdint>

#include "../core/rng.hpp"

namespace tinyadapt {

// Where the seen-th item of a stream (1-based) goes in a reservoir of m slots
// holding the first min(seen - 1, m) kept: a slot index, or m to drop it. Every
// item seen so far is then kept with probability m / seen.
inline std::size_t reservoir_slot(std::uint32_t seen, std::size_t m, Rng& rng) noexcept {
  if (seen <= m) return seen - 1;
  const std::uint32_t j = rng.below(seen);
  return j < m ? j : m;
}

// Moves k of idx[0, n) drawn uniformly without replacement to idx[0, k)
// (partial Fisher-Yates; k == n shuffles all).
inline void shuffle_prefix(std::uint32_t* idx, std::size_t n, std::size_t k, Rng& rng) noexcept {
  for (std::size_t i = 0; i < k && i + 1 < n; ++i) {
    const std::size_t j = i + rng.below(static_cast<std::uint32_t>(n - i));
    const std::uint32_t t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
}

}  // namespace tinyadapt
