// The server side: TinyReptile's outer step and FedAvg over flat parameters.
//
//   reptile: θ ← θ + ε_t · mean_i (φ_i − θ)          ε_t = schedule(round)
//   fedavg:  θ ← θ + Σ_i n_i (φ_i − θ) / Σ_i n_i     (the sample-weighted mean of φ)
//
// Devices report φ (add) or Δ = φ − θ (add_delta) during a round; end_round()
// applies them. Heap-free and header-only, so a device can be the aggregator
// too. Memory: θ and one running sum, 2 × param_count floats.
//
// An update is validated before it is counted (size, NaN/Inf, and a bound that
// keeps the sum and the new θ finite): a rejected update changes nothing and
// its device is simply not in the round.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "../core/finite.hpp"
#include "../core/rng.hpp"
#include "../core/span.hpp"
#include "../core/status.hpp"
#include "../io/parameters.hpp"
#include "../optim/schedule.hpp"
#include "../optim/update_guard.hpp"
#include "parameters.hpp"

namespace tinyadapt::meta {

enum class Aggregation : unsigned char { reptile, fedavg };

template <class Net, class Schedule = LinearDecayLR>
class Server {
 public:
  static constexpr std::size_t count = Net::param_count;

  Server(const Net& init, Schedule epsilon, Aggregation rule = Aggregation::reptile, std::uint64_t seed = 1) noexcept
      : eps_(epsilon), rule_(rule), rng_(seed) {
    theta_.copy_from(init);
  }

  Span<const float> theta() const noexcept { return theta_.span(); }
  const Parameters<Net>& parameters() const noexcept { return theta_; }
  std::uint32_t round() const noexcept { return round_; }
  std::uint32_t devices_in_round() const noexcept { return devices_; }
  float epsilon() const noexcept { return rule_ == Aggregation::fedavg ? 1.0f : eps_(round_); }
  Rng& rng() noexcept { return rng_; }  // for drivers that pick tasks/devices: saved with the state

  // A device's new weights φ, trained on `samples` samples (FedAvg's weight).
  Status add(Span<const float> phi, std::uint32_t samples = 1) noexcept { return accumulate(phi, samples, true); }
  // A device's Δ = φ − θ.
  Status add_delta(Span<const float> delta, std::uint32_t samples = 1) noexcept {
    return accumulate(delta, samples, false);
  }

  // Applies the round's updates and starts the next round. empty_batch when
  // no update was accepted (θ and the round number unchanged).
  Status end_round() noexcept {
    if (devices_ == 0) return Status::empty_batch;
    const float eps = epsilon();
    if (!tinyadapt::detail::valid_rate(eps)) return Status::bad_hyperparameter;
    const float scale = static_cast<float>(static_cast<double>(eps) / weight_);
    if (!tinyadapt::detail::within_limit(scale * sum_bound_)) return Status::non_finite_update;
    for (std::size_t i = 0; i < count; ++i) theta_.values[i] += scale * sum_[i];
    clear_round();
    ++round_;
    return Status::ok;
  }

  // Checkpoint between rounds (updates of an unfinished round are not in it).
  // Layout, little-endian: "TASV", u16 version 1, u16 schedule bytes, u64 model
  // signature (io/signature.hpp), u32 param count, u32 round, u32 rule, u32
  // generator bytes, then the schedule, the generator (their own layout: resume
  // on the same build), θ as float32, and an FNV-1a 32 of all that precedes it.
  static constexpr std::size_t header_bytes = 28;
  static constexpr std::size_t state_bytes = header_bytes + sizeof(Schedule) + sizeof(Rng) + 4 * count + 4;

  Status save(unsigned char* out, std::size_t capacity) const noexcept {
    constexpr std::uint64_t signature = io::model_signature<Net>();
    if (capacity < state_bytes) return Status::size_mismatch;
    std::memcpy(out, "TASV", 4);
    put(out + 4, 1, 2);
    put(out + 6, sizeof(Schedule), 2);
    put(out + 8, signature, 8);
    put(out + 16, count, 4);
    put(out + 20, round_, 4);
    put(out + 24, static_cast<std::uint32_t>(rule_) | static_cast<std::uint32_t>(sizeof(Rng)) << 8, 4);
    unsigned char* p = out + header_bytes;
    std::memcpy(p, &eps_, sizeof(Schedule));
    p += sizeof(Schedule);
    std::memcpy(p, &rng_, sizeof(Rng));
    p += sizeof(Rng);
    for (std::size_t i = 0; i < count; ++i, p += 4) put(p, float_bits(theta_.values[i]), 4);
    put(p, fnv1a(out, state_bytes - 4), 4);
    return Status::ok;
  }
  // Restores a checkpoint of the same network (signature) and build; any
  // mismatch or corruption leaves the server as it was.
  Status load(const unsigned char* in, std::size_t size) noexcept {
    constexpr std::uint64_t signature = io::model_signature<Net>();
    if (size < state_bytes || std::memcmp(in, "TASV", 4) != 0 || get(in + 4, 2) != 1 ||
        get(in + 6, 2) != sizeof(Schedule) || get(in + 8, 8) != signature || get(in + 16, 4) != count ||
        (get(in + 24, 4) >> 8) != sizeof(Rng) || (get(in + 24, 4) & 0xffu) > 1u)
      return Status::size_mismatch;
    if (get(in + state_bytes - 4, 4) != fnv1a(in, state_bytes - 4)) return Status::non_finite_update;
    const unsigned char* th = in + header_bytes + sizeof(Schedule) + sizeof(Rng);
    for (std::size_t i = 0; i < count; ++i)
      if (!is_finite(float_from(th + 4 * i))) return Status::non_finite_update;
    round_ = static_cast<std::uint32_t>(get(in + 20, 4));
    rule_ = static_cast<Aggregation>(get(in + 24, 4) & 0xffu);
    std::memcpy(&eps_, in + header_bytes, sizeof(Schedule));
    std::memcpy(&rng_, in + header_bytes + sizeof(Schedule), sizeof(Rng));
    for (std::size_t i = 0; i < count; ++i) theta_.values[i] = float_from(th + 4 * i);
    clear_round();
    return Status::ok;
  }

 private:
  Status accumulate(Span<const float> v, std::uint32_t samples, bool is_phi) noexcept {
    if (v.size() != count) return Status::size_mismatch;
    const float w = rule_ == Aggregation::fedavg ? static_cast<float>(samples) : 1.0f;
    if (w <= 0.0f) return Status::empty_batch;
    // Check first (nothing written): the largest |Δ| must keep the sum finite.
    // |Δ| ordered by its bits (NaN and Inf above every finite value): no branch, so it vectorises.
    std::uint32_t largest_bits = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const std::uint32_t a = float_bits(is_phi ? v[i] - theta_.values[i] : v[i]) & 0x7fffffffu;
      largest_bits = a > largest_bits ? a : largest_bits;
    }
    float largest;
    std::memcpy(&largest, &largest_bits, sizeof largest);
    if (!is_finite(largest)) return Status::non_finite_update;
    const float bound = sum_bound_ + w * largest;
    if (!tinyadapt::detail::within_limit(bound)) return Status::non_finite_update;
    for (std::size_t i = 0; i < count; ++i) sum_[i] += w * (is_phi ? v[i] - theta_.values[i] : v[i]);
    sum_bound_ = bound;
    weight_ += w;
    ++devices_;
    return Status::ok;
  }
  void clear_round() noexcept {
    for (float& s : sum_) s = 0.0f;
    sum_bound_ = 0.0f;
    weight_ = 0.0;
    devices_ = 0;
  }
  static void put(unsigned char* p, std::uint64_t v, int bytes) noexcept { io::detail::put(p, v, bytes); }
  static std::uint64_t get(const unsigned char* p, int bytes) noexcept { return io::detail::get(p, bytes); }
  static float float_from(const unsigned char* p) noexcept { return io::detail::float_at(p); }
  static std::uint32_t fnv1a(const unsigned char* p, std::size_t n) noexcept { return io::detail::fnv1a32(p, n); }

  Parameters<Net> theta_;
  float sum_[count] = {};
  float sum_bound_ = 0.0f;
  double weight_ = 0.0;
  std::uint32_t devices_ = 0;
  std::uint32_t round_ = 0;
  Schedule eps_;
  Aggregation rule_;
  Rng rng_;
};

}  // namespace tinyadapt::meta
