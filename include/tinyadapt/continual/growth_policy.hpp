// When to grow: policies fed with a learner's metrics after each task (and
// after each retraining that followed a growth), independent of the learner.
//
//   ThresholdGrowth  the seed paper's: grow by a step while held-out accuracy
//                    on the classes seen falls below a threshold. As classes
//                    accumulate that accuracy falls mostly by forgetting, which
//                    more width does not cure, so it grows on every task.
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

// The seed paper's rule.
struct ThresholdGrowth {
  float threshold = 0.9f;          // grow while val_accuracy < threshold
  std::size_t max_rounds = 1000;   // per task (the paper: until the maximum)

  GrowthDecision decide(const GrowthMetrics& m) const noexcept {
    if (!detail::is_fraction(m.val_accuracy) || !detail::is_fraction(threshold))
      return {false, GrowthReason::keep_invalid_metrics};
    GrowthDecision d;
    if (detail::limited(m, max_rounds, d)) return d;
    return detail::grow_if(m.val_accuracy < threshold, GrowthReason::grow_below_threshold);
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

}  // namespace tinyadapt
