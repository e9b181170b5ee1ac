// Random exemplar replay's buffer: m real samples per class, kept as uint8
// (value = q * unit, e.g. unit 1/16 for digits, 1/255 for Fashion-MNIST) plus
// a 1-byte label, class-balanced, chosen by reservoir sampling as each class's
// samples stream past, so the buffer never needs the whole class.
#pragma once
#include <cstddef>
#include <cstdint>

#include "../core/finite.hpp"
#include "../core/rng.hpp"
#include "../core/status.hpp"
#include "reservoir.hpp"
#include "store.hpp"

namespace tinyadapt {

template <std::size_t Classes, std::size_t PerClass, std::size_t Features>
class ExemplarStore {
  static_assert(Classes > 0 && PerClass > 0 && Features > 0, "an exemplar store needs classes, samples and features");
  static_assert(PerClass <= 65535, "at most 65,535 samples per class");

 public:
  static constexpr std::size_t classes = Classes, per_class_max = PerClass, features = Features;
  static constexpr std::size_t capacity = Classes * PerClass;
  static constexpr std::size_t sample_bytes = Features + 1;

  // m samples kept per class (<= PerClass) and the value of one uint8 step;
  // bad_hyperparameter (store unchanged) otherwise. Clears the store.
  Status reset(std::size_t m, float unit) noexcept {
    if (m == 0 || m > PerClass || !is_finite(unit) || !(unit > 0.0f)) return Status::bad_hyperparameter;
    m_ = m;
    unit_ = unit;
    for (std::size_t c = 0; c < Classes; ++c) filled_[c] = 0, seen_[c] = 0;
    return Status::ok;
  }

  // One real sample of class c as it streams past. Refused, nothing changed:
  // bad_label, non_finite_input, input_out_of_range (not in [0, 255 * unit]).
  Status offer(std::size_t c, const float* x, Rng& rng) noexcept {
    if (c >= Classes) return Status::bad_label;
    if (!all_finite(x, Features)) return Status::non_finite_input;
    const float top = 255.5f * unit_;
    for (std::size_t k = 0; k < Features; ++k)
      if (x[k] < -0.5f * unit_ || x[k] > top) return Status::input_out_of_range;
    const std::size_t slot = reservoir_slot(++seen_[c], m_, rng);
    if (slot < m_) {
      detail::quantise(x, Features, 1.0f / unit_, 0.0f, 255.0f, data_[c][slot]);
      if (slot == filled_[c]) ++filled_[c];
    }
    return Status::ok;
  }

  std::size_t count() const noexcept {
    return detail::total(filled_);
  }
  std::size_t filled(std::size_t c) const noexcept { return c < Classes ? filled_[c] : 0; }
  std::size_t bytes() const noexcept { return count() * sample_bytes; }
  std::size_t per_class() const noexcept { return m_; }

  std::size_t get(std::size_t i, float* x) const noexcept {
    const std::size_t c = detail::locate(filled_, i);
    detail::dequantise(data_[c][i], Features, unit_, x);
    return c;
  }

 private:
  std::uint8_t data_[Classes][PerClass][Features] = {};
  std::uint16_t filled_[Classes] = {};
  std::uint32_t seen_[Classes] = {};
  std::size_t m_ = PerClass;
  float unit_ = 1.0f / 255.0f;
};

// The buffer of naive fine-tuning: nothing stored.
struct NoBuffer {
  static constexpr std::size_t capacity = 0, sample_bytes = 0;
  static constexpr std::size_t count() noexcept { return 0; }
  static constexpr std::size_t bytes() noexcept { return 0; }
  std::size_t get(std::size_t, float*) const noexcept { return 0; }
};

}  // namespace tinyadapt
