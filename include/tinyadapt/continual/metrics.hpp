// Class-incremental metrics of protocol P3: the accuracy matrix acc[t][j]
// (accuracy on task j's classes after learning task t, j <= t) and the
// accuracy on all classes seen after task t, from which
//   final accuracy      seen[T-1]
//   average accuracy    mean over t of seen[t] (average incremental accuracy)
//   forgetting          mean over j < T-1 of max_{t < T-1} acc[t][j] - acc[T-1][j]
#pragma once
#include <cstddef>

namespace tinyadapt {

template <std::size_t Tasks>
class AccuracyMatrix {
  static_assert(Tasks > 0, "an accuracy matrix needs at least one task");

 public:
  static constexpr std::size_t tasks = Tasks;
  void set(std::size_t t, std::size_t j, float acc) noexcept {
    if (t < Tasks && j <= t) acc_[t][j] = acc;
  }
  void set_seen(std::size_t t, float acc) noexcept {
    if (t < Tasks) {
      seen_[t] = acc;
      if (t + 1 > done_) done_ = t + 1;
    }
  }
  float at(std::size_t t, std::size_t j) const noexcept { return t < Tasks && j <= t ? acc_[t][j] : 0.0f; }
  float seen(std::size_t t) const noexcept { return t < Tasks ? seen_[t] : 0.0f; }
  std::size_t done() const noexcept { return done_; }

  float final_accuracy() const noexcept { return done_ ? seen_[done_ - 1] : 0.0f; }
  float average_accuracy() const noexcept {
    float s = 0.0f;
    for (std::size_t t = 0; t < done_; ++t) s += seen_[t];
    return done_ ? s / static_cast<float>(done_) : 0.0f;
  }
  float forgetting() const noexcept {
    if (done_ < 2) return 0.0f;
    const std::size_t last = done_ - 1;
    float s = 0.0f;
    for (std::size_t j = 0; j < last; ++j) {
      float best = acc_[j][j];
      for (std::size_t t = j + 1; t < last; ++t) best = acc_[t][j] > best ? acc_[t][j] : best;
      s += best - acc_[last][j];
    }
    return s / static_cast<float>(last);
  }

 private:
  float acc_[Tasks][Tasks] = {};
  float seen_[Tasks] = {};
  std::size_t done_ = 0;
};

}  // namespace tinyadapt
