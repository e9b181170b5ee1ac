// A network's parameters without its activations: the θ, φ and Δ of
// meta-learning, flat like Sequential::parameters() (same order, same size).
#pragma once
#include <cstddef>

#include "../core/finite.hpp"
#include "../core/span.hpp"

namespace tinyadapt::meta {

template <class Net>
struct Parameters {
  static constexpr std::size_t count = Net::param_count;
  float values[count] = {};

  Span<float> span() noexcept { return Span<float>(values, count); }
  Span<const float> span() const noexcept { return Span<const float>(values, count); }
  bool finite() const noexcept { return all_finite(values, count); }

  void copy_from(const Net& net) noexcept {
    const Span<const float> p = net.parameters();
    for (std::size_t i = 0; i < count; ++i) values[i] = p[i];
  }
  void copy_to(Net& net) const noexcept {
    const Span<float> p = net.parameters();
    for (std::size_t i = 0; i < count; ++i) p[i] = values[i];
  }
};

// d = φ - d, in place: a device that kept θ in its receive buffer turns it into
// the delta it sends without a second copy of the model.
template <class Net>
void delta_in_place(const Net& trained, Span<float> theta_then_delta) noexcept {
  const Span<const float> phi = trained.parameters();
  for (std::size_t i = 0; i < theta_then_delta.size(); ++i) theta_then_delta[i] = phi[i] - theta_then_delta[i];
}

}  // namespace tinyadapt::meta
