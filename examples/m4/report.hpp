// Reporting shared by the Cortex-M4 examples: RAM use against a budget, the
// network's memory report, and executed instructions per training step and
// per inference (exact under QEMU -icount, see board.hpp).
//
// The lines printed here have fixed prefixes; bench/m4_memory.sh reads them.
#pragma once
#include <stdint.h>

#include <cstddef>

#include <tinyadapt/tinyadapt.hpp>

#include "board.hpp"

namespace m4 {

// The exception (MSP) stack the runtime reserves next to the thread stack
// (__handler_stack_size__ in mps2-an386.ld).
inline constexpr uint32_t handler_stack_bytes = 1024;

inline void print_line(const char* label, uint32_t value, const char* unit = " B") {
  board::print(label);
  board::print_uint(value);
  board::print(unit);
  board::print("\n");
}

inline void print_memory_report(const tinyadapt::MemoryReport& m) {
  board::print("memory report (training_memory<Net, SGD<Net>>):\n");
  print_line("  parameters      ", static_cast<uint32_t>(m.parameters));
  print_line("  gradients       ", static_cast<uint32_t>(m.gradients));
  print_line("  activations     ", static_cast<uint32_t>(m.activations));
  print_line("  backward state  ", static_cast<uint32_t>(m.backward_state));
  print_line("  scratch         ", static_cast<uint32_t>(m.scratch));
  print_line("  optimizer state ", static_cast<uint32_t>(m.optimizer_state));
  print_line("  total           ", static_cast<uint32_t>(m.total()));
}

// Prints static RAM (.data + .bss), the stack high water and the reserved
// stacks; returns true when static RAM + stack high water is within budget.
// Call it last: the high water is the deepest use so far.
inline bool check_ram(uint32_t budget_bytes) {
  const uint32_t stat = board::static_ram_bytes();
  const uint32_t high = board::stack_high_water_bytes();
  const uint32_t reserved = board::stack_size_bytes();
  print_line("static RAM (.data+.bss):   ", stat);
  print_line("stack high water:          ", high);
  print_line("RAM used (static+stack):   ", stat + high);
  print_line("RAM budget:                ", budget_bytes);
  print_line("stack reserved:            ", reserved);
  print_line("handler stack reserved:    ", handler_stack_bytes);
  print_line("RAM reserved by the link:  ", stat + reserved + handler_stack_bytes);
  const bool ok = stat + high <= budget_bytes;
  if (!ok) board::print("FAIL: RAM above budget\n");
  return ok;
}

inline void print_per_mac(const char* label, uint32_t instructions, std::size_t macs) {
  board::print(label);
  board::print_uint(instructions);
  board::print(" (");
  board::print_uint(static_cast<uint32_t>(macs));
  board::print(" MACs, ");
  board::print_float(static_cast<float>(instructions) / static_cast<float>(macs), 2);
  board::print(" instructions/MAC)\n");
}

// Executed instructions of one training step (step()) and one inference
// (infer()), each measured once after warm_up calls of both.
template <class Step, class Infer>
void print_instructions(Step&& step, Infer&& infer, std::size_t train_macs, std::size_t infer_macs,
                        int warm_up = 3) {
  if (!board::icount_active()) {
    board::print("instruction counts unavailable: QEMU is not running with -icount shift=8\n");
    return;
  }
  for (int i = 0; i < warm_up; ++i) step(), infer();
  print_per_mac("instructions per training step: ", board::count_instructions(step), train_macs);
  print_per_mac("instructions per inference:     ", board::count_instructions(infer), infer_macs);
}

// Progress of a training run for a person watching it: about every
// second of host time (board::host_milliseconds) a line
//   progress: epoch 1/1, 400/2000 samples, 251 samples/s, running loss 0.7312, ETA 6 s
// where the running loss is the mean over the samples since the last line,
// and at the end of each epoch its time. Does nothing the device would
// count: training results and instruction counts are the same with it.
class Progress {
 public:
  Progress(uint32_t samples_per_epoch, int epochs) : per_epoch_(samples_per_epoch), epochs_(epochs) {}

  void start_epoch(int epoch) {
    epoch_ = epoch;
    epoch_start_ms_ = last_ms_ = board::host_milliseconds();
    loss_sum_ = 0.0f;
    loss_count_ = 0;
  }

  // After sample `done` (1-based) of the epoch, with its loss.
  void step(uint32_t done, float loss) {
    loss_sum_ += loss;
    ++loss_count_;
    if (done % 16 != 0 || done == per_epoch_) return;  // the clock is a debugger call
    const uint32_t now = board::host_milliseconds();
    if (now - last_ms_ < 1000) return;
    last_ms_ = now;
    const uint32_t ms = now - epoch_start_ms_;
    const uint32_t rate = ms > 0 ? static_cast<uint32_t>(uint64_t{done} * 1000 / ms) : 0;
    const uint32_t left = (per_epoch_ - done) + per_epoch_ * static_cast<uint32_t>(epochs_ - epoch_);
    board::print("progress: epoch ");
    board::print_uint(static_cast<uint32_t>(epoch_));
    board::print("/");
    board::print_uint(static_cast<uint32_t>(epochs_));
    board::print(", ");
    board::print_uint(done);
    board::print("/");
    board::print_uint(per_epoch_);
    board::print(" samples, ");
    board::print_uint(rate);
    board::print(" samples/s, running loss ");
    board::print_float(loss_sum_ / static_cast<float>(loss_count_), 4);
    board::print(", ETA ");
    board::print_uint(rate > 0 ? left / rate : 0);
    board::print(" s\n");
    loss_sum_ = 0.0f;
    loss_count_ = 0;
  }

  // "(7.9 s, 253 samples/s)" for the end-of-epoch line; nothing without a clock.
  void print_epoch_time() const {
    const uint32_t ms = board::host_milliseconds() - epoch_start_ms_;
    if (epoch_start_ms_ == 0 && ms == 0) return;
    board::print(" (");
    board::print_float(static_cast<float>(ms) / 1000.0f, 1);
    board::print(" s, ");
    board::print_uint(ms > 0 ? static_cast<uint32_t>(uint64_t{per_epoch_} * 1000 / ms) : 0);
    board::print(" samples/s)");
  }

 private:
  uint32_t per_epoch_;
  int epochs_;
  int epoch_ = 1;
  uint32_t epoch_start_ms_ = 0, last_ms_ = 0;
  float loss_sum_ = 0.0f;
  uint32_t loss_count_ = 0;
};

// A random order of 0..n-1 that costs no index array (a shuffled index
// array for 2,000 samples would take 4 KB of RAM): a 4-round Feistel network
// permutes [0, 2^k) with 2^k >= n, and values >= n are mapped again until
// they fall below n (cycle walking, fewer than 4 rounds on average).
class Permutation {
 public:
  Permutation(uint32_t n, tinyadapt::Rng& rng) : n_(n) {
    while ((1u << half_bits_ * 2) < n_) ++half_bits_;
    for (uint32_t& k : keys_) k = rng.next_u32();
  }
  uint32_t operator[](uint32_t i) const {
    uint32_t x = i;
    do x = encrypt(x);
    while (x >= n_);
    return x;
  }

 private:
  uint32_t encrypt(uint32_t x) const {
    const uint32_t mask = (1u << half_bits_) - 1;
    uint32_t l = x >> half_bits_, r = x & mask;
    for (uint32_t k : keys_) {
      const uint32_t t = l ^ (mix(r ^ k) & mask);
      l = r, r = t;
    }
    return (l << half_bits_) | r;
  }
  static uint32_t mix(uint32_t h) {  // murmur3 finaliser
    h ^= h >> 16, h *= 0x85ebca6bu, h ^= h >> 13, h *= 0xc2b2ae35u, h ^= h >> 16;
    return h;
  }
  uint32_t n_, half_bits_ = 1;
  uint32_t keys_[4];
};

}  // namespace m4
