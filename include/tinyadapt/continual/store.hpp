// The distilled store: m synthetic samples per class, sized at compile time
// (Classes x PerClass x Features), as float32 or as int8 with one scale per
// sample (a quarter of the bytes). A write is all or nothing: a class whose
// samples hold NaN/Inf, or one the store cannot hold, is refused and the store
// is bit-identical to before.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "../core/finite.hpp"
#include "../core/status.hpp"
#include "../kernels/kernels.hpp"

namespace tinyadapt {

namespace detail {
// q = clamp(round(x * inv_scale), lo, hi): the one quantiser of the stores.
template <class Q>
void quantise(const float* x, std::size_t n, float inv_scale, float lo, float hi, Q* q) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    const float v = std::nearbyint(x[i] * inv_scale);
    q[i] = static_cast<Q>(v < lo ? lo : (v > hi ? hi : v));
  }
}
template <class Q>
void dequantise(const Q* q, std::size_t n, float scale, float* x) noexcept {
  for (std::size_t i = 0; i < n; ++i) x[i] = static_cast<float>(q[i]) * scale;
}
// Samples held per class: the total, and which class holds sample i (i
// becomes its index within the class); both stores keep samples class after class.
template <std::size_t Classes>
std::size_t total(const std::uint16_t (&filled)[Classes]) noexcept {
  std::size_t n = 0;
  for (std::size_t c = 0; c < Classes; ++c) n += filled[c];
  return n;
}
template <std::size_t Classes>
std::size_t locate(const std::uint16_t (&filled)[Classes], std::size_t& i) noexcept {
  std::size_t c = 0;
  while (c + 1 < Classes && i >= filled[c]) i -= filled[c++];
  return c;
}
}  // namespace detail

template <std::size_t Classes, std::size_t PerClass, std::size_t Features, class Elem = float>
class SyntheticStore {
  static_assert(std::is_same_v<Elem, float> || std::is_same_v<Elem, std::int8_t>,
                "a synthetic store holds float or std::int8_t samples");
  static_assert(Classes > 0 && PerClass > 0 && Features > 0, "a synthetic store needs classes, samples and features");
  static_assert(PerClass <= 65535, "at most 65,535 samples per class");

 public:
  static constexpr bool quantised = std::is_same_v<Elem, std::int8_t>;
  static constexpr std::size_t classes = Classes, per_class_max = PerClass, features = Features;
  static constexpr std::size_t capacity = Classes * PerClass;
  // Bytes of one stored sample as a device would keep it: values, scale, 1-byte label.
  static constexpr std::size_t sample_bytes = Features * sizeof(Elem) + (quantised ? sizeof(float) : 0) + 1;

  std::size_t count() const noexcept {
    return detail::total(filled_);
  }
  std::size_t filled(std::size_t c) const noexcept { return c < Classes ? filled_[c] : 0; }
  std::size_t bytes() const noexcept { return count() * sample_bytes; }

  // Sample i of count() (class after class) into x; returns its label.
  std::size_t get(std::size_t i, float* x) const noexcept {
    const std::size_t c = detail::locate(filled_, i);
    if constexpr (quantised) detail::dequantise(data_[c][i], Features, scale_[c][i], x);
    else kernels::copy(x, data_[c][i], Features);
    return c;
  }

  // Replaces class c's samples with n samples (row after row); refused, with
  // the store unchanged: bad_label (c >= Classes), size_mismatch (n > PerClass),
  // non_finite_input (a NaN/Inf value).
  Status write(std::size_t c, const float* samples, std::size_t n) noexcept {
    if (c >= Classes) return Status::bad_label;
    if (n > PerClass) return Status::size_mismatch;
    if (!all_finite(samples, n * Features)) return Status::non_finite_input;
    for (std::size_t i = 0; i < n; ++i) {
      const float* x = samples + i * Features;
      if constexpr (quantised) {
        const float peak = max_abs(x, Features);
        // A scale that keeps 1/scale finite (a sample of zeros gets 1).
        const float s = peak > 1e-30f ? peak / 127.0f : 1.0f;
        scale_[c][i] = s;
        detail::quantise(x, Features, 1.0f / s, -127.0f, 127.0f, data_[c][i]);
      } else {
        kernels::copy(data_[c][i], x, Features);
      }
    }
    filled_[c] = static_cast<std::uint16_t>(n);
    return Status::ok;
  }

  void clear() noexcept {
    for (auto& f : filled_) f = 0;
  }

 private:
  Elem data_[Classes][PerClass][Features] = {};
  float scale_[quantised ? Classes : 1][quantised ? PerClass : 1] = {};
  std::uint16_t filled_[Classes] = {};
};

}  // namespace tinyadapt
