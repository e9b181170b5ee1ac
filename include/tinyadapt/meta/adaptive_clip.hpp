// Adaptive clipping: the norm bound C of round r+1 from the norms of the
// updates accepted in round r, instead of a fixed --clip.
//
//   C_{r+1} = clamp(factor · median(norms of round r),
//                   max(floor, C_r / max_change), min(ceiling, C_r · max_change))
//
// The median is of the norms *before* clipping of every update that passed
// check_update (honest or not). Poisoned devices are a minority of a round
// (f < n/2), so the median lies between two honest norms whatever they send:
// huge norms cannot raise C, zero norms cannot lower it, beyond the honest
// norms' range. max_change bounds how far C moves in one round (a round with
// a hostile majority moves it by at most that factor), floor and ceiling
// bound it for good. A round without updates keeps C.
//
// Fixed memory (MaxNorms floats, compile time). With more updates in a round
// than MaxNorms, the median is of a uniform sample of them (reservoir
// sampling with the object's own generator, seeded: runs repeat), so the
// hostile share of the sample is the hostile share of the round, up to
// sampling noise. No heap.
//
//   meta::AdaptiveClip<256> clip;               // sizeof: about 1 KB
//   clip.configure({/*initial*/ 0.5f, /*factor*/ 1.0f, /*floor*/ 1e-3f, /*ceiling*/ 1e3f, /*max_change*/ 2.0f});
//   per update: decode into staging, then
//     if (clip.clip(staging.span()) == Status::ok) server.add_delta(staging.span());
//   per round: server.end_round(); clip.end_round();
#pragma once
#include <cstddef>
#include <cstdint>

#include "../core/finite.hpp"
#include "../core/rng.hpp"
#include "../core/span.hpp"
#include "../core/status.hpp"
#include "clip.hpp"
#include "select.hpp"

namespace tinyadapt::meta {

struct AdaptiveClipConfig {
  float initial = 1.0f;     // C of the first round
  float factor = 1.0f;      // C = factor · median norm
  float floor = 1e-6f;      // C never below
  float ceiling = 1e6f;     // C never above (at most robust_update_limit)
  float max_change = 2.0f;  // C moves by at most this factor per round (>= 1)
};

template <std::size_t MaxNorms = 256>
class AdaptiveClip {
  static_assert(MaxNorms >= 1, "AdaptiveClip needs room for at least one norm");

 public:
  explicit AdaptiveClip(std::uint64_t seed = 1) noexcept : rng_(seed, 0xc1ab) {}

  // bad_hyperparameter (the old configuration kept) unless 0 < floor <=
  // initial <= ceiling <= 2^40, factor > 0 and max_change >= 1, all finite.
  // Starts over at C = initial with an empty round.
  Status configure(const AdaptiveClipConfig& c) noexcept {
    const bool ok = is_finite(c.initial) && is_finite(c.factor) && is_finite(c.floor) && is_finite(c.ceiling) &&
                    is_finite(c.max_change) && c.floor > 0.0f && c.floor <= c.initial && c.initial <= c.ceiling &&
                    c.ceiling <= robust_update_limit && c.factor > 0.0f && c.max_change >= 1.0f;
    if (!ok) return Status::bad_hyperparameter;
    config_ = c;
    bound_ = c.initial;
    clear();
    return Status::ok;
  }

  float bound() const noexcept { return bound_; }          // C of the open round
  // Continues from a saved bound() (a server's checkpoint) with an empty
  // round; bad_hyperparameter (nothing changed) unless within [floor, ceiling].
  Status resume(float bound) noexcept {
    if (!is_finite(bound) || bound < config_.floor || bound > config_.ceiling) return Status::bad_hyperparameter;
    bound_ = bound;
    clear();
    return Status::ok;
  }
  std::size_t observed() const noexcept { return seen_; }  // norms seen this round
  const AdaptiveClipConfig& config() const noexcept { return config_; }
  static constexpr std::size_t capacity() noexcept { return MaxNorms; }

  // clip_update(v, bound()); on ok the norm before clipping joins the round.
  // A refused v is left bit-identical and not counted.
  Status clip(Span<float> v, float* norm = nullptr) noexcept {
    float n = 0.0f;
    const Status s = clip_update(v, bound_, &n);
    if (s != Status::ok) return s;
    observe(n);
    if (norm) *norm = n;
    return Status::ok;
  }

  // A norm of an accepted update (for callers that clip themselves); a
  // negative or non-finite value is ignored.
  void observe(float norm) noexcept {
    if (!is_finite(norm) || norm < 0.0f) return;
    if (seen_ < MaxNorms) {
      norms_[seen_] = norm;
    } else {  // reservoir: the new norm replaces a random one with probability MaxNorms / (seen + 1)
      const std::uint64_t j = (static_cast<std::uint64_t>(rng_.next_u32()) << 32 | rng_.next_u32()) % (seen_ + 1);
      if (j < MaxNorms) norms_[j] = norm;
    }
    ++seen_;
  }

  // Closes the round: the next C from this round's norms (kept without
  // any), returned; the round's norms cleared.
  float end_round() noexcept {
    const std::size_t n = seen_ < MaxNorms ? seen_ : MaxNorms;
    if (n > 0) {
      const float m = detail::median(norms_, n);
      float lo = bound_ / config_.max_change, hi = bound_ * config_.max_change;
      lo = lo > config_.floor ? lo : config_.floor;
      hi = hi < config_.ceiling ? hi : config_.ceiling;
      const float c = config_.factor * m;
      bound_ = c < lo ? lo : c > hi ? hi : c;  // also a NaN-free result: m is finite and >= 0
    }
    clear();
    return bound_;
  }

  void clear() noexcept { seen_ = 0; }

 private:
  AdaptiveClipConfig config_{};
  float bound_ = 1.0f;
  std::size_t seen_ = 0;
  Rng rng_;
  float norms_[MaxNorms] = {};
};

}  // namespace tinyadapt::meta
