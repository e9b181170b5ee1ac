// Overflows the thread stack on purpose; the MPU guard below RAM must turn
// this into a MemManage fault reported with exit status 3.
#include "board.hpp"

namespace {

volatile uint32_t depth_limit = 0;  // 0: unbounded (hidden from the optimiser)

#if defined(BIG_FRAME)
// One frame larger than the whole stack: the stack pointer jumps past the
// bottom in one step.
__attribute__((noinline)) uint32_t use_stack(uint32_t) {
  volatile uint8_t frame[40 * 1024];
  frame[0] = 1;
  return frame[0];
}
#else
__attribute__((noinline)) uint32_t use_stack(uint32_t depth) {
  volatile uint8_t frame[64];
  frame[0] = static_cast<uint8_t>(depth);
  if (depth_limit != 0 && depth >= depth_limit) return frame[0];
  return use_stack(depth + 1) + frame[0];  // not a tail call
}
#endif

}  // namespace

int main() {
  board::print("overflowing the stack\n");
  const uint32_t r = use_stack(0);
  board::print("not reached\n");
  return static_cast<int>(r);
}
