// When a server round closes, and which updates it still takes.
//
// A round closes as soon as `quorum` updates were accepted, or when its
// deadline has passed (whichever comes first). At the deadline a round with
// fewer than `min_updates` is extended instead (same round id, θ unchanged,
// a new deadline): devices that never answer cost time, never a round.
//
// Late updates are dropped, not down-weighted by staleness. A TinyReptile or
// FedAvg update is Δ = φ − θ_r for the θ_r its device received; added to a
// later θ it points from the wrong place, and the robust rules (median,
// trimmed mean, geometric median) have no weights to shrink it with, so a
// stale vote would count in full. An update for an earlier round is `stale`,
// one for the current round that arrives after the deadline is `late`; both
// are refused (the wire decoder's round check, io::expect_for, is the same
// rule one layer down). The device gets the new θ and tries again.
//
// Time is the caller's (milliseconds from any monotonic clock; the library
// has none); differences are taken modulo 2^32, so a wrapping clock works.
#pragma once
#include <cstdint>

#include "../core/status.hpp"

namespace tinyadapt::meta {

// Why an update was or was not taken into a round.
enum class Admission : unsigned char {
  accepted = 0,
  invalid,    // the update itself was refused: see the Status beside it
  duplicate,  // this device already has an update in the round
  full,       // the round holds as many updates as it has room for
  stale,      // for an earlier round
  future,     // for a round that has not started (a forged or confused id)
  late,       // for this round, but after its deadline
};

constexpr const char* to_string(Admission a) noexcept {
  switch (a) {
    case Admission::accepted: return "accepted";
    case Admission::invalid: return "update refused (non-finite, absurd or wrong size)";
    case Admission::duplicate: return "second update of a device in one round (ignored)";
    case Admission::full: return "round full";
    case Admission::stale: return "update for an earlier round (dropped)";
    case Admission::future: return "update for a round not yet open";
    case Admission::late: return "update after the round's deadline (dropped)";
  }
  return "unknown admission";
}

// An admission and, for `invalid`, the update's status.
struct Admitted {
  Admission admission = Admission::accepted;
  Status status = Status::ok;
  constexpr bool ok() const noexcept { return admission == Admission::accepted; }
};

struct RoundPolicy {
  std::uint32_t quorum = 1;       // close once this many updates are accepted (>= 1)
  std::uint32_t deadline_ms = 0;  // ... or this long after opening; 0: no deadline
  std::uint32_t min_updates = 1;  // fewer at the deadline: extend the round (>= 1)
};

enum class RoundState : unsigned char {
  open,    // keep collecting
  close,   // aggregate now (quorum reached, or deadline with enough updates)
  extend,  // deadline passed with too few updates: the gate reopened the same round
};

class RoundGate {
 public:
  explicit RoundGate(RoundPolicy p = {}) noexcept : policy_(sane(p)) {}

  const RoundPolicy& policy() const noexcept { return policy_; }
  std::uint32_t round() const noexcept { return round_; }
  std::uint32_t opened_at() const noexcept { return opened_; }
  std::uint32_t extensions() const noexcept { return extensions_; }

  void open(std::uint32_t round, std::uint32_t now_ms) noexcept {
    round_ = round;
    opened_ = now_ms;
    extensions_ = 0;
  }

  // May an update made for `update_round`, arriving at now_ms, join the round?
  Admission admit(std::uint32_t update_round, std::uint32_t now_ms) const noexcept {
    if (update_round != round_) return static_cast<std::int32_t>(update_round - round_) < 0 ? Admission::stale
                                                                                           : Admission::future;
    return expired(now_ms) ? Admission::late : Admission::accepted;
  }

  // Called with the number of accepted updates; extends the round itself.
  RoundState check(std::uint32_t accepted, std::uint32_t now_ms) noexcept {
    if (accepted >= policy_.quorum) return RoundState::close;
    if (!expired(now_ms)) return RoundState::open;
    if (accepted >= policy_.min_updates) return RoundState::close;
    opened_ = now_ms;
    ++extensions_;
    return RoundState::extend;
  }

 private:
  static RoundPolicy sane(RoundPolicy p) noexcept {
    if (p.quorum == 0) p.quorum = 1;
    if (p.min_updates == 0) p.min_updates = 1;
    if (p.min_updates > p.quorum) p.min_updates = p.quorum;
    return p;
  }
  bool expired(std::uint32_t now_ms) const noexcept {
    return policy_.deadline_ms != 0 && now_ms - opened_ >= policy_.deadline_ms;
  }

  RoundPolicy policy_;
  std::uint32_t round_ = 0;
  std::uint32_t opened_ = 0;
  std::uint32_t extensions_ = 0;
};

}  // namespace tinyadapt::meta
