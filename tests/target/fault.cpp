// A fault that is not a stack overflow (integer division by zero traps as a
// UsageFault) must be reported with exit status 2.
#include "board.hpp"

namespace {
volatile int zero = 0;
}

int main() {
  board::print("dividing by zero\n");
  return 10 / zero;
}
