// Robust aggregation of a round's updates for meta::Server: the server step
// θ ← θ + ε · agg(Δ_1 … Δ_n) with agg one of
//
//   mean              Σ Δ_i / n (what Server's running sum does; here for comparison)
//   median            coordinate-wise median (breakdown: f < n/2 arbitrary updates
//                     leave every coordinate within the honest updates' range)
//   trimmed_mean      per coordinate, the `trim` smallest and largest dropped, the
//                     rest averaged (within the honest range when trim >= f)
//   geometric_median  argmin_z Σ |z − Δ_i|₂ by smoothed Weiszfeld iterations from
//                     the coordinate-wise median (breakdown 1/2, and rotation
//                     invariant: a poisoner cannot hide in many small coordinates)
//
// each optionally after update-norm clipping (clip.hpp), applied as an update
// arrives. The fourth rule is the geometric median rather than Krum: Krum
// needs all n² pairwise distances (n² × params work: 4 × 10^11 for 10,000 W1
// devices), Weiszfeld needs n × params per iteration.
//
// Every device has one vote: the rules ignore sample counts (a poisoner could
// claim any count) and Server's FedAvg weighting with them.
//
// Memory: these rules need the round's updates at once, (MaxDevices + 1) ×
// param_count floats (the extra one is the staging slot a message is decoded
// into), plus 16 × MaxDevices floats of column scratch, two param_count
// vectors and MaxDevices device ids: memory_bytes, constexpr. W1 (4,353
// parameters): 8 devices 192 KB, 100 devices 1.8 MB, 1,000 devices 17.5 MB,
// 10,000 devices 175 MB. The Server's own running mean needs none of it; clipping alone
// needs nothing either (clip.hpp on the staging buffer).
//
// Numeric safety: an update is taken only if it is finite and within
// robust_update_limit (2^40) elementwise. median and trimmed mean return
// values from within each coordinate's range, the geometric median a convex
// combination: the aggregate is bounded by the same limit, and Server's
// add_delta checks it once more before θ moves. A refused update leaves the
// round bit-identical.
#pragma once
#include <cstddef>
#include <cstdint>

#include "../core/finite.hpp"
#include "../core/span.hpp"
#include "../core/status.hpp"
#include "../kernels/kernels.hpp"
#include "../optim/update_guard.hpp"
#include "clip.hpp"
#include "round.hpp"
#include "select.hpp"
#include "server.hpp"

namespace tinyadapt::meta {

enum class Robust : unsigned char { mean, median, trimmed_mean, geometric_median };

constexpr const char* to_string(Robust r) noexcept {
  switch (r) {
    case Robust::mean: return "mean";
    case Robust::median: return "median";
    case Robust::trimmed_mean: return "trimmed_mean";
    case Robust::geometric_median: return "geometric_median";
  }
  return "?";
}

struct RobustConfig {
  Robust rule = Robust::median;
  float clip_norm = INFINITY;       // each update scaled to at most this norm; +Inf: off
  std::uint32_t trim = 0;           // trimmed_mean: dropped at each end (at most (n - 1) / 2 are)
  std::uint32_t iterations = 10;    // geometric_median: Weiszfeld steps at most
  float tolerance = 1e-4f;          // ... stop once θ's move is below this fraction of |z|
};

// Weiszfeld's smoothing: distances below 2^-30 count as 2^-30, so a weight
// 1/d stays below 2^30 and Σ w Δ below 2^84 (no overflow, no division by 0).
inline constexpr float weiszfeld_floor = 9.3132257e-10f;  // 2^-30

template <class Net, std::size_t MaxDevices>
class RobustRound {
  static_assert(MaxDevices >= 1, "a round needs room for at least one update");

 public:
  static constexpr std::size_t count = Net::param_count;
  static constexpr std::size_t capacity = MaxDevices;
  static constexpr std::size_t block = 16;  // coordinates per gather: one 64-byte line of every update

  static constexpr std::size_t memory_bytes() noexcept { return sizeof(RobustRound); }

  Status configure(const RobustConfig& c) noexcept {
    if (!tinyadapt::detail::valid_max_norm(c.clip_norm) || !(c.tolerance >= 0.0f) || !is_finite(c.tolerance) ||
        static_cast<unsigned>(c.rule) > static_cast<unsigned>(Robust::geometric_median))
      return Status::bad_hyperparameter;
    config_ = c;
    return Status::ok;
  }
  const RobustConfig& config() const noexcept { return config_; }

  std::uint32_t size() const noexcept { return n_; }
  bool full() const noexcept { return n_ == MaxDevices; }
  Span<const float> update(std::size_t i) const noexcept { return Span<const float>(updates_[i], count); }
  std::uint32_t device(std::size_t i) const noexcept { return ids_[i]; }
  bool has(std::uint32_t device) const noexcept {
    std::uint32_t found = 0;
    for (std::uint32_t i = 0; i < n_; ++i) found |= static_cast<std::uint32_t>(ids_[i] == device);
    return found != 0;
  }

  // Scratch where the next update can be decoded (io::StreamDecoder) without
  // a copy; only commit() makes it part of the round.
  Span<float> staging() noexcept { return Span<float>(updates_[n_], count); }

  // Takes the staged values as Δ (theta empty) or as φ (then Δ = φ − θ);
  // *norm (if given) receives |Δ| before clipping when it was taken.
  Admitted commit(std::uint32_t device, Span<const float> theta = {}, float* norm = nullptr) noexcept {
    if (full()) return {Admission::full, Status::ok};
    if (has(device)) return {Admission::duplicate, Status::ok};
    float* slot = updates_[n_];
    if (!theta.empty()) {
      if (theta.size() != count) return {Admission::invalid, Status::size_mismatch};
      kernels::axpy(slot, theta.data(), -1.0f, count);
    }
    const Status st = clip_update(Span<float>(slot, count), config_.clip_norm, norm);
    if (st != Status::ok) return {Admission::invalid, st};
    ids_[n_++] = device;
    return {};
  }
  // Copies: add_delta(Δ) or add(φ, θ).
  Admitted add_delta(Span<const float> delta, std::uint32_t device) noexcept { return copy_in(delta, device, {}); }
  Admitted add(Span<const float> phi, Span<const float> theta, std::uint32_t device) noexcept {
    return copy_in(phi, device, theta);
  }

  void clear() noexcept { n_ = 0; }

  // The rule over the round's updates into result(); the updates are kept.
  // empty_batch (result unchanged) when there are none.
  Status aggregate() noexcept {
    if (n_ == 0) return Status::empty_batch;
    switch (config_.rule) {
      case Robust::mean:
        kernels::zero(result_, count);
        for (std::uint32_t i = 0; i < n_; ++i) kernels::axpy(result_, updates_[i], 1.0f / static_cast<float>(n_), count);
        break;
      case Robust::median:
      case Robust::trimmed_mean: by_coordinate(config_.rule == Robust::median ? (n_ - 1) / 2 : trim_of()); break;
      case Robust::geometric_median:
        by_coordinate((n_ - 1) / 2);
        weiszfeld();
        break;
    }
    return Status::ok;
  }
  Span<const float> result() const noexcept { return Span<const float>(result_, count); }
  std::uint32_t weiszfeld_steps() const noexcept { return steps_; }

  // The server step with this round: θ ← θ + ε · agg, the server's round
  // advanced, this round cleared. The server must have no updates of its own
  // in the round (its sum would be mixed in). On any refusal θ and both
  // rounds are unchanged.
  template <class Schedule>
  Status end_round(Server<Net, Schedule>& server) noexcept {
    Status st = aggregate();
    if (st != Status::ok) return st;
    if (server.devices_in_round() != 0) return Status::size_mismatch;
    st = server.add_delta(result(), 1);
    if (st != Status::ok) return st;
    st = server.end_round();
    if (st == Status::ok) clear();
    return st;
  }

 private:
  Admitted copy_in(Span<const float> v, std::uint32_t device, Span<const float> theta) noexcept {
    if (v.size() != count) return {Admission::invalid, Status::size_mismatch};
    if (full()) return {Admission::full, Status::ok};
    kernels::copy(updates_[n_], v.data(), count);
    return commit(device, theta);
  }

  std::uint32_t trim_of() const noexcept {
    const std::uint32_t most = (n_ - 1) / 2;
    return config_.trim < most ? config_.trim : most;
  }

  // Per coordinate, from a gathered column: the median when t == (n − 1) / 2
  // (the mean of the two middle values for even n), else the t-trimmed mean.
  void by_coordinate(std::uint32_t t) noexcept {
    const std::uint32_t n = n_;
    const bool median = t == (n - 1) / 2;
    for (std::size_t c0 = 0; c0 < count; c0 += block) {
      const std::size_t b_end = count - c0 < block ? count - c0 : block;
      for (std::uint32_t i = 0; i < n; ++i)
        for (std::size_t b = 0; b < b_end; ++b) column_[b][i] = updates_[i][c0 + b];
      for (std::size_t b = 0; b < b_end; ++b) {
        float* col = column_[b];
        if (median) {
          result_[c0 + b] = detail::median(col, n);
        } else {
          detail::select_kth(col, n, t);                      // the t smallest before col[t]
          detail::select_kth(col + t, n - t, n - 2 * t - 1);  // the t largest after col[n - t - 1]
          float sum = 0.0f;
          for (std::uint32_t i = t; i < n - t; ++i) sum += col[i];
          result_[c0 + b] = sum / static_cast<float>(n - 2 * t);
        }
      }
    }
  }

  // Smoothed Weiszfeld from result_: z ← Σ w_i Δ_i / Σ w_i, w_i = 1 / max(|z − Δ_i|, floor).
  // The staging slot (free while aggregating) holds z − Δ_i.
  void weiszfeld() noexcept {
    float* diff = updates_[n_];
    steps_ = 0;
    for (std::uint32_t it = 0; it < config_.iterations; ++it) {
      kernels::zero(next_, count);
      float wsum = 0.0f;
      for (std::uint32_t i = 0; i < n_; ++i) {
        kernels::copy(diff, result_, count);
        kernels::axpy(diff, updates_[i], -1.0f, count);
        const float d = update_norm(diff, count);
        const float w = 1.0f / (d > weiszfeld_floor ? d : weiszfeld_floor);
        kernels::axpy(next_, updates_[i], w, count);
        wsum += w;
      }
      kernels::copy(diff, result_, count);  // the previous z
      kernels::zero(result_, count);
      kernels::axpy(result_, next_, 1.0f / wsum, count);
      kernels::axpy(diff, result_, -1.0f, count);
      ++steps_;
      if (update_norm(diff, count) <= config_.tolerance * update_norm(result_, count)) break;
    }
  }

  float updates_[MaxDevices + 1][count] = {};
  float column_[block][MaxDevices] = {};
  float result_[count] = {};
  float next_[count] = {};
  std::uint32_t ids_[MaxDevices] = {};
  std::uint32_t n_ = 0;
  std::uint32_t steps_ = 0;
  RobustConfig config_;
};

}  // namespace tinyadapt::meta
