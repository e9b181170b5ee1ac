// When to grow: policies fed with a learner's metrics after each task (and
// after each retraining that followed a growth), independent of the learner.
//
//   ThresholdGrowth  the seed paper's: grow by a step while held-out accuracy
//                    on the classes seen falls below a threshold. As classes
//                    accumulate that accuracy falls mostly by forgetting, which
//                    more width does not cure, so it grows on every task.
//                    With min_growth_gain it grows again on the same task only
//                    while the last growth (and its retraining) raised that
//                    accuracy by at least min_growth_gain: a growth that
//                    bought nothing is not followed by another.
//   PlateauGrowth    a capacity signal: grow when the training loss on the
//                    current task's data (new classes and replay buffer)
//                    stopped falling while still above a level — the network
//                    cannot fit what it is trained on. Forgetting does not
//                    show there: old classes enter only through the buffer,
//                    which a small network fits.
//   ProbeGrowth      grow when a probe growth (a grown copy trained the same
//                    way) gained at least min_gain held-out accuracy: the
//                    direct measure, at the price of a second network and a
//                    second training.
//   LayerProbeGrowth the probe per candidate (one layer grown alone, or any
//                    step vector), each probe's gain measured against a
//                    control copy trained the same way at the same width (so
//                    the extra training is not counted as gain), the FLOPs it
//                    would add in the decision: the candidate with the most
//                    gain per extra FLOP among those that gain at least
//                    min_gain, at least gain_per_flops per unit of FLOPs
//                    ratio, and stay within a FLOPs budget.
//                    (continual/probe.hpp trains the probes.)
//
// Each decide() returns keep with a reason when growth cannot help or the
// metrics cannot tell (a metric NaN or out of range: invalid_metrics, never a
// silent grow), so a device can log why it did or did not grow.
#pragma once
#include <cstddef>

#include "../core/finite.hpp"

namespace tinyadapt {

struct GrowthMetrics {
  std::size_t task = 0;            // the task just trained (0-based)
  std::size_t rounds = 0;          // growths already taken on this task
  float val_accuracy = -1.0f;      // held-out accuracy on every class seen so far, in [0, 1]
  float train_loss = -1.0f;        // mean training loss on this task's data in the last epoch
  float train_loss_before = -1.0f; // the same one epoch earlier (< 0: not measured)
  float probe_gain = -2.0f;        // held-out accuracy of a probe growth minus val_accuracy (< -1: no probe)
  float growth_gain = -2.0f;       // rounds > 0: val_accuracy minus that before the last growth (< -1: not measured)
  bool can_grow = true;            // some growable layer is below its maximum width
};

enum class GrowthReason : unsigned char {
  grow_below_threshold,  // ThresholdGrowth: accuracy below the threshold
  grow_plateau,          // PlateauGrowth: training loss stuck above the level
  grow_probe_gain,       // ProbeGrowth: the probe gained enough
  keep_good_enough,      // the signal says the network is big enough
  keep_at_maximum,       // nothing can grow any more
  keep_round_limit,      // this task has been grown max_rounds times
  keep_invalid_metrics,  // a metric the policy needs is missing, NaN or out of range
  keep_over_budget,      // a growth would gain enough but exceed the FLOPs budget
  keep_too_costly,       // a growth gains at least min_gain, but too little for the FLOPs it adds
  keep_no_gain,          // ThresholdGrowth: the last growth raised held-out accuracy by less than min_growth_gain
};

struct GrowthDecision {
  bool grow = false;
  GrowthReason reason = GrowthReason::keep_invalid_metrics;
};

constexpr const char* to_string(GrowthReason r) noexcept {
  switch (r) {
    case GrowthReason::grow_below_threshold: return "grow: held-out accuracy below the threshold";
    case GrowthReason::grow_plateau: return "grow: training loss stopped falling above the level";
    case GrowthReason::grow_probe_gain: return "grow: a probe growth gained enough accuracy";
    case GrowthReason::keep_good_enough: return "keep: good enough";
    case GrowthReason::keep_at_maximum: return "keep: every growable layer at its maximum";
    case GrowthReason::keep_round_limit: return "keep: this task was grown the allowed number of times";
    case GrowthReason::keep_invalid_metrics: return "keep: metrics missing or invalid";
    case GrowthReason::keep_over_budget: return "keep: the growths that gain enough exceed the FLOPs budget";
    case GrowthReason::keep_too_costly: return "keep: the gain is too small for the FLOPs the growth adds";
    case GrowthReason::keep_no_gain: return "keep: the last growth did not raise held-out accuracy enough";
  }
  return "unknown reason";
}

namespace detail {
inline bool is_fraction(float a) noexcept { return is_finite(a) && a >= 0.0f && a <= 1.0f; }
inline bool is_loss(float l) noexcept { return is_finite(l) && l >= 0.0f; }
// What every policy checks first: growth possible and allowed on this task.
inline bool limited(const GrowthMetrics& m, std::size_t max_rounds, GrowthDecision& d) noexcept {
  if (!m.can_grow) d = {false, GrowthReason::keep_at_maximum};
  else if (m.rounds >= max_rounds) d = {false, GrowthReason::keep_round_limit};
  else return false;
  return true;
}
inline GrowthDecision grow_if(bool grow, GrowthReason why) noexcept {
  return grow ? GrowthDecision{true, why} : GrowthDecision{false, GrowthReason::keep_good_enough};
}
}  // namespace detail

// The seed paper's rule, and optionally the gain gate.
struct ThresholdGrowth {
  float threshold = 0.9f;          // grow while val_accuracy < threshold
  std::size_t max_rounds = 1000;   // per task (the paper: until the maximum)
  float min_growth_gain = -1.0f;   // in [0, 1]: the gate (needs growth_gain after a growth); < 0: off (the paper)

  GrowthDecision decide(const GrowthMetrics& m) const noexcept {
    const bool gated = !(min_growth_gain < 0.0f);  // NaN counts as on (and invalid)
    if (!detail::is_fraction(m.val_accuracy) || !detail::is_fraction(threshold) ||
        (gated && !detail::is_fraction(min_growth_gain)))
      return {false, GrowthReason::keep_invalid_metrics};
    GrowthDecision d;
    if (detail::limited(m, max_rounds, d)) return d;
    if (!(m.val_accuracy < threshold)) return {false, GrowthReason::keep_good_enough};
    if (gated && m.rounds > 0) {
      if (!is_finite(m.growth_gain) || m.growth_gain < -1.0f || m.growth_gain > 1.0f)
        return {false, GrowthReason::keep_invalid_metrics};
      if (m.growth_gain < min_growth_gain) return {false, GrowthReason::keep_no_gain};
    }
    return {true, GrowthReason::grow_below_threshold};
  }
};

// Grow when the task's training loss is above `level` and fell by less than
// the fraction `plateau` over the last epoch (a loss still falling fast means
// train longer, not wider). Without train_loss_before only the level counts.
struct PlateauGrowth {
  float level = 0.1f;
  float plateau = 0.05f;
  std::size_t max_rounds = 1;      // one growth per task unless the loss stays stuck

  GrowthDecision decide(const GrowthMetrics& m) const noexcept {
    if (!detail::is_loss(m.train_loss) || !detail::is_loss(level) || !detail::is_fraction(plateau))
      return {false, GrowthReason::keep_invalid_metrics};
    const bool measured_before = !(m.train_loss_before < 0.0f);  // NaN counts as measured (and invalid)
    if (measured_before && !detail::is_loss(m.train_loss_before)) return {false, GrowthReason::keep_invalid_metrics};
    GrowthDecision d;
    if (detail::limited(m, max_rounds, d)) return d;
    const bool stuck = !measured_before || m.train_loss >= m.train_loss_before * (1.0f - plateau);
    return detail::grow_if(m.train_loss > level && stuck, GrowthReason::grow_plateau);
  }
};

// Grow when a probe growth gained at least min_gain held-out accuracy.
struct ProbeGrowth {
  float min_gain = 0.01f;
  std::size_t max_rounds = 1000;

  GrowthDecision decide(const GrowthMetrics& m) const noexcept {
    if (!is_finite(m.probe_gain) || m.probe_gain < -1.0f || m.probe_gain > 1.0f || !detail::is_fraction(min_gain))
      return {false, GrowthReason::keep_invalid_metrics};
    GrowthDecision d;
    if (detail::limited(m, max_rounds, d)) return d;
    return detail::grow_if(m.probe_gain >= min_gain, GrowthReason::grow_probe_gain);
  }
};

// One probed growth: held-out accuracy of the grown copy minus that of the
// control (the same copy trained the same way without growing), and the
// inference FLOPs after the growth as a fraction of the network at its
// maximum widths. available = false: this growth cannot be taken (no room).
struct ProbeCandidate {
  float gain = -2.0f;
  float flops_after = -1.0f;
  bool available = false;
};

struct ProbeChoice {
  GrowthDecision decision{};
  std::size_t candidate = 0;  // which candidate to take (meaningful when decision.grow)
};

namespace detail {
inline bool is_gain(float g) noexcept { return is_finite(g) && g >= -1.0f && g <= 1.0f; }
// Candidates valid: each available one has a gain in [-1, 1] and FLOPs after
// in (flops_now, 1]; at least one is available (else `any` false).
inline bool valid_candidates(const ProbeCandidate* c, std::size_t n, float flops_now, bool& any) noexcept {
  any = false;
  if (c == nullptr && n > 0) return false;
  for (std::size_t i = 0; i < n; ++i) {
    if (!c[i].available) continue;
    if (!is_gain(c[i].gain) || !is_fraction(c[i].flops_after) || !(c[i].flops_after > flops_now)) return false;
    any = true;
  }
  return true;
}
}  // namespace detail

// Per-candidate probes with the cost in the decision. A candidate qualifies
// when its gain is at least min_gain (noise: one validation sample is worth
// 1/|validation set|), at least gain_per_flops x the FLOPs ratio it adds
// (0.1: one point for every 10% of the maximum network's FLOPs) and its FLOPs
// after the growth stay within budget (a fraction of the maximum; 1: no
// budget). Of those it takes the one with the most gain per added FLOP.
struct LayerProbeGrowth {
  float min_gain = 0.01f;
  float gain_per_flops = 0.0f;
  float budget = 1.0f;
  std::size_t max_rounds = 1000;

  ProbeChoice choose(const GrowthMetrics& m, const ProbeCandidate* c, std::size_t n, float flops_now) const noexcept {
    ProbeChoice out;
    bool any = false;
    if (!detail::is_fraction(min_gain) || !is_finite(gain_per_flops) || gain_per_flops < 0.0f ||
        !detail::is_fraction(budget) || !detail::is_fraction(flops_now) ||
        !detail::valid_candidates(c, n, flops_now, any))
      return out;  // keep_invalid_metrics
    GrowthMetrics lm = m;
    lm.can_grow = m.can_grow && any;
    if (detail::limited(lm, max_rounds, out.decision)) return out;
    bool over_budget = false, too_costly = false, found = false;
    float best = 0.0f;
    for (std::size_t i = 0; i < n; ++i) {
      if (!c[i].available || c[i].gain < min_gain) continue;
      const float added = c[i].flops_after - flops_now;  // > 0 (checked)
      if (c[i].gain < gain_per_flops * added) {
        too_costly = true;
        continue;
      }
      if (c[i].flops_after > budget) {
        over_budget = true;
        continue;
      }
      const float score = c[i].gain / added;
      if (!found || score > best) {
        found = true;
        best = score;
        out.candidate = i;
      }
    }
    if (found) out.decision = {true, GrowthReason::grow_probe_gain};
    else if (over_budget) out.decision = {false, GrowthReason::keep_over_budget};
    else if (too_costly) out.decision = {false, GrowthReason::keep_too_costly};
    else out.decision = {false, GrowthReason::keep_good_enough};
    return out;
  }
};

// ProbeGrowth over probed candidates: the candidate with the largest gain,
// judged by decide() (no cost, no budget).
inline ProbeChoice choose_probe(const ProbeGrowth& p, const GrowthMetrics& m, const ProbeCandidate* c, std::size_t n,
                                float flops_now) noexcept {
  ProbeChoice out;
  bool any = false;
  if (!detail::is_fraction(flops_now) || !detail::valid_candidates(c, n, flops_now, any)) return out;
  GrowthMetrics pm = m;
  pm.can_grow = m.can_grow && any;
  bool found = false;
  for (std::size_t i = 0; i < n; ++i)
    if (c[i].available && (!found || c[i].gain > c[out.candidate].gain)) {
      found = true;
      out.candidate = i;
    }
  if (found) pm.probe_gain = c[out.candidate].gain;
  else pm.probe_gain = 0.0f;  // nothing to probe: decide() says keep_at_maximum
  out.decision = p.decide(pm);
  return out;
}
inline ProbeChoice choose_probe(const LayerProbeGrowth& p, const GrowthMetrics& m, const ProbeCandidate* c,
                                std::size_t n, float flops_now) noexcept {
  return p.choose(m, c, n, flops_now);
}

}  // namespace tinyadapt
