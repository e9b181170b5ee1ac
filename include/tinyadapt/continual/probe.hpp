// Growth by probing: after a task, each candidate growth is tried on a copy of
// the network and measured against a control, and the policy takes the one
// that pays (continual/growth_policy.hpp: LayerProbeGrowth, ProbeGrowth).
//
//   control  a copy of the trained network, retrained on the task at its width
//   trial    a copy grown by the candidate's steps (function-preserving),
//            retrained the same way: the same shuffles and buffer draws (a
//            copy of the learner's Rng), the same optimizer state
// gain = validation accuracy of the trial minus that of the control, so the
// extra pass over the task (which helps any network) is not counted as gain
// and only what the width adds is. ProbeSignal::training_loss instead: the
// relative drop of the retraining's mean training loss, (control - trial) /
// control, clamped to [-1, 1] — whether more width fits the task's data (new
// classes and buffer) better, without the validation set's sampling noise. A candidate is one step vector: one
// growable layer alone (add_each_layer) lets a policy grow the layer whose
// gain per FLOP is best — for a CNN conv1, conv2 and the dense head differ
// several times in the FLOPs a channel costs.
//
// Taking a growth grows the network with the same draws as the trial and
// retrains it the same way: the result is bit-identical to the trial (one
// scratch network per role, no third copy). Keeping leaves the network as the
// task's training left it: the learner trains each task the protocol's number
// of epochs, plus one retraining per growth (as learn_task does).
//
// Price: two more networks of RAM (control and trial, at the maximum widths)
// and 1 + candidates extra trainings per decision; their multiply-accumulates
// are in TaskReport::macs.
//
// CheapestGrowth (below) is the budget without probes: a decide() policy says
// when, the candidate that adds the fewest FLOPs within the budget is taken.
#pragma once
#include <cstddef>
#include <cstdint>

#include "../core/rng.hpp"
#include "../core/span.hpp"
#include "../core/status.hpp"
#include "grow.hpp"
#include "growth_policy.hpp"
#include "learner.hpp"
#include "policy_hook.hpp"

namespace tinyadapt {

enum class ProbeSignal : unsigned char { validation_accuracy, training_loss };

// Candidate growths, each a step vector (units per layer, all or nothing):
// what GrowthProbe trains and CheapestGrowth prices.
template <class Net, std::size_t MaxCandidates>
struct GrowthCandidates {
  static_assert(MaxCandidates > 0, "a probe needs room for at least one candidate growth");
  std::size_t step[MaxCandidates][Net::layer_count] = {};
  std::size_t candidates = 0;

  // A candidate growth: s[i] units for layer i (all or nothing). Refused:
  // capacity_exceeded when the list is full, bad_hyperparameter for an
  // all-zero step (it would add nothing).
  Status add_candidate(const std::size_t (&s)[Net::layer_count]) noexcept {
    if (candidates >= MaxCandidates) return Status::capacity_exceeded;
    bool any = false;
    for (std::size_t i = 0; i < Net::layer_count; ++i) any = any || s[i] > 0;
    if (!any) return Status::bad_hyperparameter;
    for (std::size_t i = 0; i < Net::layer_count; ++i) step[candidates][i] = s[i];
    ++candidates;
    return Status::ok;
  }
  // One candidate per layer with a nonzero s[i]: that layer alone grown by s[i].
  // All or nothing: capacity_exceeded (nothing added) when they do not fit.
  Status add_each_layer(const std::size_t (&s)[Net::layer_count]) noexcept {
    std::size_t layers = 0;
    for (std::size_t i = 0; i < Net::layer_count; ++i) layers += s[i] > 0 ? 1u : 0u;
    if (layers == 0) return Status::bad_hyperparameter;
    if (candidates + layers > MaxCandidates) return Status::capacity_exceeded;
    for (std::size_t i = 0; i < Net::layer_count; ++i) {
      if (s[i] == 0) continue;
      std::size_t one[Net::layer_count] = {};
      one[i] = s[i];
      (void)add_candidate(one);
    }
    return Status::ok;
  }
};

template <class Net, std::size_t MaxCandidates>
struct GrowthProbe : GrowthCandidates<Net, MaxCandidates> {
  Net control{}, trial{};                                   // scratch networks
  ProbeSignal signal = ProbeSignal::validation_accuracy;    // what a candidate's gain is
  ProbeCandidate measured[MaxCandidates] = {};              // the last decision's probes
  float trial_accuracy[MaxCandidates] = {};                 // their validation accuracy
  float trial_loss[MaxCandidates] = {};                     // and mean training loss of the retraining
  float control_loss = -1.0f;                               // the control's
  ProbeChoice last{};                                       // the last decision and why
  float control_accuracy = -1.0f;                           // validation accuracy of the last control
  float flops_now = -1.0f;                                  // FLOPs ratio of the network at the last decision
  std::size_t decisions = 0;                                // decisions taken (over all tasks)
  double probe_macs = 0.0;                                  // training MACs of controls and trials
};

namespace detail {
// Inference FLOPs of Net at its maximum widths: its compile-time MACs, twice.
template <class Net>
constexpr double max_inference_flops() noexcept {
  return 2.0 * static_cast<double>(Net::macs);
}
}  // namespace detail

// learn_task with growth by probing: trains the task, then while the policy
// takes a probed growth (at most max_growth times) grows and retrains.
// validate(net) returns the validation accuracy on the classes seen of the
// network given (the network, the control or a trial). grow_rng draws the new
// units' weights (the trial's and the taken growth's draws are the same).
// The policy is one with choose_probe() (LayerProbeGrowth, ProbeGrowth).
template <class Loss = SoftmaxCrossEntropy, class Net, class Opt, class Buffer, class SampleFn, class Policy,
          class Validate, std::size_t K>
TaskReport learn_task_probed(Net& net, Opt& opt, GradientAccumulator<Net>& acc, const Buffer& buffer, std::size_t n,
                             SampleFn&& sample, Span<std::uint32_t> order, const TaskConfig& cfg, Rng& rng,
                             const Policy& policy, GrowthProbe<Net, K>& probe, Rng& grow_rng, Validate&& validate,
                             std::size_t task = 0, std::size_t max_growth = 8) noexcept {
  TaskReport r = train_task<Loss>(net, opt, acc, buffer, n, sample, order, cfg, rng);
  while (r.status == Status::ok && r.grown < max_growth) {
    probe.last = ProbeChoice{};
    ++probe.decisions;
    if (!net.initialised()) break;
    constexpr double full = detail::max_inference_flops<Net>();
    probe.flops_now = static_cast<float>(static_cast<double>(net.inference_flops()) / full);
    // The control: one more pass at the same width.
    probe.control = net;
    Rng rc = rng;
    Opt oc = opt;
    const TaskReport cr = train_task<Loss>(probe.control, oc, acc, buffer, n, sample, order, cfg, rc);
    r.macs += cr.macs;
    probe.probe_macs += cr.macs;
    if (cr.status != Status::ok) break;  // the copy broke: no measurement, keep
    probe.control_accuracy = validate(probe.control);
    probe.control_loss = cr.mean_loss;
    bool any = false;
    for (std::size_t k = 0; k < probe.candidates; ++k) {
      ProbeCandidate& c = probe.measured[k];
      c = ProbeCandidate{};
      if (!can_grow(net, probe.step[k])) continue;
      probe.trial = net;
      Rng g = grow_rng, rt = rng;
      Opt ot = opt;
      if (grow_all(probe.trial, probe.step[k], g) != Status::ok) continue;
      const TaskReport tr = train_task<Loss>(probe.trial, ot, acc, buffer, n, sample, order, cfg, rt);
      r.macs += tr.macs;
      probe.probe_macs += tr.macs;
      if (tr.status != Status::ok) continue;  // a trial that broke is no candidate
      c.available = true;
      probe.trial_accuracy[k] = validate(probe.trial);
      probe.trial_loss[k] = tr.mean_loss;
      if (probe.signal == ProbeSignal::validation_accuracy) {
        c.gain = probe.trial_accuracy[k] - probe.control_accuracy;
      } else {
        const float drop = probe.control_loss > 0.0f ? (probe.control_loss - tr.mean_loss) / probe.control_loss : 0.0f;
        c.gain = drop > 1.0f ? 1.0f : drop < -1.0f ? -1.0f : drop;  // NaN stays NaN: refused by the policy
      }
      c.flops_after = static_cast<float>(static_cast<double>(probe.trial.inference_flops()) / full);
      any = true;
    }
    probe.last = choose_probe(policy, task_metrics(task, r.grown, cr, probe.control_accuracy, any), probe.measured,
                              probe.candidates, probe.flops_now);
    if (!probe.last.decision.grow) break;
    // Take it: the trial's draws and training again, on the network itself.
    if (grow_all(net, probe.step[probe.last.candidate], grow_rng) != Status::ok) break;
    detail::add_training(r, train_task<Loss>(net, opt, acc, buffer, n, sample, order, cfg, rng));
    ++r.grown;
  }
  return r;
}

// The learner's growth hook (learn_task) for a FLOPs budget without probe
// training: when the policy (any decide() policy, e.g. ThresholdGrowth) says
// grow, it takes the candidate of `steps` (a GrowthProbe's list will do) that
// adds the fewest inference FLOPs and stays within `budget` of the network at
// its maximum widths, priced from the widths alone (no scratch network: on a
// device it costs the candidate list). For a CNN that is the layer whose
// channels are cheapest now (conv2 while conv1 is narrow), so the budget buys
// as many channels as it can.
template <class Net, class Policy, std::size_t K>
struct CheapestGrowth {
  Policy policy{};
  const GrowthCandidates<Net, K>* steps = nullptr;  // the candidate growths
  float budget = 1.0f;
  Rng* rng = nullptr;
  std::size_t task = 0, rounds = 0;
  float grown_at = -1.0f;  // validation accuracy when this task last grew
  GrowthDecision last{};
  std::size_t taken = 0;  // the candidate of the last growth

  void start_task(std::size_t t) noexcept {
    task = t;
    rounds = 0;
    grown_at = -1.0f;
  }
  bool after_task(Net& net, const TaskReport& r, float val_accuracy) noexcept {
    if (steps == nullptr || rng == nullptr || !detail::is_fraction(budget)) {
      last = {false, GrowthReason::keep_invalid_metrics};
      return false;
    }
    bool room = false;
    for (std::size_t k = 0; k < steps->candidates; ++k) room = room || can_grow(net, steps->step[k]);
    last = policy.decide(task_metrics(task, rounds, r, val_accuracy, room, grown_at));
    if (!last.grow) return false;
    constexpr double full = detail::max_inference_flops<Net>();
    bool found = false;
    double best = 0.0;
    for (std::size_t k = 0; k < steps->candidates; ++k) {
      if (!can_grow(net, steps->step[k])) continue;
      const double f = static_cast<double>(net.inference_flops_grown(steps->step[k]));
      if (f > static_cast<double>(budget) * full) continue;
      if (!found || f < best) {
        found = true;
        best = f;
        taken = k;
      }
    }
    if (!found) {
      last = {false, GrowthReason::keep_over_budget};
      return false;
    }
    if (grow_all(net, steps->step[taken], *rng) != Status::ok) return false;
    ++rounds;
    grown_at = val_accuracy;
    return true;
  }
};

}  // namespace tinyadapt
