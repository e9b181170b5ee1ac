// Replay with a teacher: each buffer sample is trained on its label and on
// the logits a frozen copy of the network (taken before the task) gives it,
// weighted by weight() (knowledge distillation on the replayed samples, as in
// iCaRL and DER++). The label alone tells the network which class a sample
// is; the old logits also keep how the old model ranked every other class,
// which is what a small buffer loses fastest. The teacher costs one network
// of RAM and one forward per replayed sample.
#pragma once
#include <cstddef>

namespace tinyadapt {

template <class Buffer, class Net>
class TeacherReplay {
 public:
  static constexpr std::size_t sample_bytes = Buffer::sample_bytes;
  TeacherReplay(const Buffer& buffer, Net& teacher, float weight) noexcept
      : buffer_(&buffer), teacher_(&teacher), weight_(weight) {}
  std::size_t count() const noexcept { return buffer_->count(); }
  std::size_t bytes() const noexcept { return buffer_->bytes(); }
  std::size_t get(std::size_t i, float* x) const noexcept { return buffer_->get(i, x); }
  // The teacher's logits for buffer sample i (x: its input, as get() gave it).
  const float* logits(std::size_t, const float* x) const noexcept { return teacher_->forward(x); }
  float weight() const noexcept { return weight_; }

 private:
  const Buffer* buffer_;
  Net* teacher_;
  float weight_;
};

}  // namespace tinyadapt
