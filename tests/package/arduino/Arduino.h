// The part of the Arduino core API that examples/OnlineSine uses, for
// compiling and running the sketch on the emulated Cortex-M4 (MPS2 AN386)
// with the board runtime's semihosting console instead of a UART.
#pragma once
#include <math.h>
#include <stdint.h>

#include "board.hpp"

class HardwareSerialStub {
 public:
  void begin(unsigned long) {}
  void print(const char* s) { board::print(s); }
  void print(unsigned long v) { board::print_uint(static_cast<uint32_t>(v)); }
  void print(int v) { board::print_int(v); }
  void print(float v, int digits = 2) { board::print_float(v, digits); }
  template <class T>
  void println(T v) {
    print(v);
    board::print("\n");
  }
  void println(float v, int digits) {
    print(v, digits);
    board::print("\n");
  }
};

extern HardwareSerialStub Serial;
