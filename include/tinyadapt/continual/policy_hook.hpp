// The learner's growth hook for a growable network: after each task (and each
// retraining after a growth) the policy (continual/growth_policy.hpp) decides
// from the learner's metrics, and the network grows by one step of every
// growable layer (function-preserving, all or nothing: continual/grow.hpp).
#pragma once
#include <cstddef>

#include "../core/rng.hpp"
#include "grow.hpp"
#include "growth_policy.hpp"
#include "learner.hpp"

namespace tinyadapt {

// What a growth hook tells its policy after a task's training (or retraining);
// grown_at: the validation accuracy when this task last grew (< 0: it has not).
inline GrowthMetrics task_metrics(std::size_t task, std::size_t rounds, const TaskReport& r, float val_accuracy,
                                  bool can_grow, float grown_at = -1.0f) noexcept {
  GrowthMetrics m;
  m.task = task;
  m.rounds = rounds;
  m.val_accuracy = val_accuracy;
  m.train_loss = r.last_epoch_loss;
  m.train_loss_before = r.previous_epoch_loss;
  if (rounds > 0 && !(grown_at < 0.0f)) m.growth_gain = val_accuracy - grown_at;
  m.can_grow = can_grow;
  return m;
}

template <class Net, class Policy>
struct PolicyGrowth {
  Policy policy{};
  std::size_t step[Net::layer_count] = {};  // units each layer grows by
  Rng* rng = nullptr;
  std::size_t task = 0, rounds = 0;
  float grown_at = -1.0f;  // validation accuracy when this task last grew
  GrowthDecision last{};  // why it grew or not, for the log

  // Call before each task's learn_task().
  void start_task(std::size_t t) noexcept {
    task = t;
    rounds = 0;
    grown_at = -1.0f;
  }
  bool after_task(Net& net, const TaskReport& r, float val_accuracy) noexcept {
    last = policy.decide(task_metrics(task, rounds, r, val_accuracy, can_grow(net, step), grown_at));
    if (!last.grow || rng == nullptr || grow_all(net, step, *rng) != Status::ok) return false;
    ++rounds;
    grown_at = val_accuracy;
    return true;
  }
};

}  // namespace tinyadapt
