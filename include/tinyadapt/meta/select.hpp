// The k-th smallest of n floats, in place (quickselect: Hoare partition
// around a median of three, iterative, no memory): what coordinate-wise
// median and trimmed mean need per coordinate, in O(n) on average instead of
// a sort's O(n log n). The values must be finite (robust aggregation only
// sees validated updates), so every compare is a total order.
#pragma once
#include <cstddef>

namespace tinyadapt::meta::detail {

inline void swap_floats(float& a, float& b) noexcept {
  const float t = a;
  a = b;
  b = t;
}

// Reorders v[0..n) so that v[k] is the k-th smallest (0-based), everything
// before it <= v[k] and everything after it >= v[k]; returns v[k]. k < n.
inline float select_kth(float* v, std::size_t n, std::size_t k) noexcept {
  std::ptrdiff_t lo = 0, hi = static_cast<std::ptrdiff_t>(n) - 1;
  const auto kk = static_cast<std::ptrdiff_t>(k);
  while (hi > lo) {
    const std::ptrdiff_t mid = lo + (hi - lo) / 2;
    if (v[mid] < v[lo]) swap_floats(v[mid], v[lo]);
    if (v[hi] < v[lo]) swap_floats(v[hi], v[lo]);
    if (v[hi] < v[mid]) swap_floats(v[hi], v[mid]);
    const float pivot = v[mid];
    std::ptrdiff_t i = lo, j = hi;
    while (i <= j) {  // Hoare: stops on equal keys, so many equal values split evenly
      while (v[i] < pivot) ++i;
      while (pivot < v[j]) --j;
      if (i <= j) swap_floats(v[i++], v[j--]);
    }
    // Now v[lo..j] <= pivot <= v[i..hi], and v[j+1..i-1] == pivot.
    if (kk <= j) hi = j;
    else if (kk >= i) lo = i;
    else break;
  }
  return v[k];
}

// Largest of v[0..n), n >= 1 (after select_kth, the lower neighbour of v[k]).
inline float largest(const float* v, std::size_t n) noexcept {
  float m = v[0];
  for (std::size_t i = 1; i < n; ++i) m = v[i] > m ? v[i] : m;
  return m;
}

// Median of v[0..n), n >= 1, in place: the middle value, the mean of the two
// middle ones for even n (as lower + (upper - lower) / 2: no overflow).
inline float median(float* v, std::size_t n) noexcept {
  const float upper = select_kth(v, n, n / 2);
  const float lower = n % 2 ? upper : largest(v, n / 2);
  return lower + 0.5f * (upper - lower);
}

}  // namespace tinyadapt::meta::detail
