// Progress of a training run on the host, for a person watching it: about
// every two seconds a line
//   progress: epoch 1/3, 12000/60000 samples, 9500 samples/s, running loss 0.5123, ETA 17 s
// (running loss: the mean over the samples since the last line) and the time
// of each epoch; the same line format as the Cortex-M4 examples
// (examples/m4/report.hpp). With a curve file, every `curve_every` samples
// a line "<samples seen> <mean loss of those samples>" (examples/demo.sh
// plots it).
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdio>

class Progress {
 public:
  using Clock = std::chrono::steady_clock;

  Progress(std::size_t samples_per_epoch, int epochs, std::FILE* curve = nullptr, std::size_t curve_every = 500)
      : per_epoch_(samples_per_epoch), epochs_(epochs), curve_(curve), curve_every_(curve_every) {
    if (curve_ != nullptr) std::fprintf(curve_, "# samples seen, running training loss\n");
  }

  void start_epoch(int epoch) {
    epoch_ = epoch;
    epoch_start_ = last_ = Clock::now();
    sum_ = 0.0;
    count_ = 0;
  }

  // After sample `done` (1-based) of the epoch, with its loss.
  void step(std::size_t done, float loss) {
    sum_ += static_cast<double>(loss);
    ++count_;
    curve_sum_ += static_cast<double>(loss);
    if (curve_ != nullptr && ++seen_ % curve_every_ == 0) {
      std::fprintf(curve_, "%zu %.6f\n", seen_, curve_sum_ / static_cast<double>(curve_every_));
      curve_sum_ = 0.0;
    }
    if (done % 64 != 0 || done == per_epoch_) return;
    const Clock::time_point now = Clock::now();
    if (now - last_ < std::chrono::seconds(2)) return;
    last_ = now;
    const double rate = static_cast<double>(done) / seconds(now - epoch_start_);
    const std::size_t left = per_epoch_ - done + per_epoch_ * static_cast<std::size_t>(epochs_ - epoch_);
    const double running = sum_ / static_cast<double>(count_);
    std::printf("progress: epoch %d/%d, %zu/%zu samples, %.0f samples/s, running loss %.4f, ETA %.0f s\n", epoch_,
                epochs_, done, per_epoch_, rate, running, static_cast<double>(left) / rate);
    sum_ = 0.0;
    count_ = 0;
  }

  // Seconds since start_epoch().
  double epoch_seconds() const { return seconds(Clock::now() - epoch_start_); }

 private:
  static double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

  std::size_t per_epoch_;
  int epochs_;
  std::FILE* curve_;
  std::size_t curve_every_;
  std::size_t seen_ = 0;
  double curve_sum_ = 0.0;
  int epoch_ = 1;
  Clock::time_point epoch_start_, last_;
  double sum_ = 0.0;
  std::size_t count_ = 0;
};
