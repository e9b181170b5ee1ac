// What both distillation methods are asked and what they report.
#pragma once
#include <cstddef>
#include <cstdint>

#include "../core/status.hpp"
#include "../nn/train.hpp"

namespace tinyadapt {

struct DistillConfig {
  std::size_t per_class = 10;     // m synthetic samples
  std::size_t iterations = 1000;  // optimiser steps on the synthetic inputs
  float lr = 1.0f;
  float momentum = 0.5f;
  // Distribution matching, streaming: each embedding network sees one block of
  // real_batch consecutive real samples (0: all of them); `expected` (the
  // class's size, if known) sets how many blocks the networks share out.
  std::size_t real_batch = 0;
  std::size_t expected = 0;
  InputRange range{0.0f, 1.0f, InputRange::Mode::reject};  // real samples outside are skipped
  std::uint64_t seed = 1;
};

struct DistillReport {
  Status status = Status::ok;        // the first reason a step or the class was refused
  std::size_t real_seen = 0;          // real samples used
  std::size_t real_skipped = 0;       // refused: non-finite or out of range
  std::size_t synthetic = 0;          // samples distilled (< per_class: the class had fewer)
  std::size_t steps = 0;              // optimiser steps taken
  std::size_t refused_steps = 0;      // steps not proven finite (nothing moved)
  float first_loss = 0.0f, last_loss = 0.0f;
  double macs = 0.0;                  // multiply-accumulates of the distillation
  bool short_class = false;           // fewer real samples than per_class: distilled from what there was

  // Counts one optimiser step's outcome.
  void tally(Status st) noexcept {
    if (st == Status::ok) {
      ++steps;
      return;
    }
    ++refused_steps;
    if (status == Status::ok) status = st;
  }
};

}  // namespace tinyadapt
