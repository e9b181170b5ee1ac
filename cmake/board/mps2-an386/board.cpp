// board.hpp implementation: semihosting I/O, stack statistics and
// instruction counting for the MPS2 AN386 under QEMU.
#include "board.hpp"

extern "C" {
extern uint32_t __stack_bottom__[], __stack_top__[];
extern uint32_t __data_start__[], __data_end__[], __bss_start__[], __bss_end__[];
}

namespace board {
namespace {

constexpr uint32_t stack_paint = 0xA5A5A5A5;  // as written by Reset_Handler
constexpr uintptr_t fpgaio_counter = 0x40028018;

int semihost(int op, const void* arg) {
  register int r0 asm("r0") = op;
  register const void* r1 asm("r1") = arg;
  asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

uint32_t ticks() { return *reinterpret_cast<volatile uint32_t*>(fpgaio_counter); }

// ticks -> instructions, rounded (see board.hpp).
uint32_t ticks_to_instructions(uint32_t t) { return static_cast<uint32_t>((uint64_t{t} * 5 + 16) >> 5); }

// Decimal digits of v into the end of buf; returns the first digit.
char* format_uint(uint32_t v, char* end) {
  *--end = '\0';
  do {
    *--end = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  return end;
}

}  // namespace

void print(const char* s) { semihost(0x04, s); }  // SYS_WRITE0

void print_uint(uint32_t v) {
  char buf[12];
  print(format_uint(v, buf + sizeof buf));
}

void print_int(int32_t v) {
  if (v < 0) print("-");
  print_uint(v < 0 ? 0u - static_cast<uint32_t>(v) : static_cast<uint32_t>(v));
}

void print_hex(uint32_t v) {
  char buf[11] = "0x";
  for (int i = 0; i < 8; ++i) buf[2 + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 0xF];
  buf[10] = '\0';
  print(buf);
}

void print_float(float v, int decimals) {
  if (v != v) return print("nan");
  if (v < 0 || (v == 0 && __builtin_signbit(v))) print("-"), v = -v;
  if (v > 3.4028235e38f) return print("inf");
  if (decimals < 0) decimals = 0;
  if (decimals > 9) decimals = 9;

  int exponent = 0;
  if (v >= 1e9f) {  // does not fit the integer part: scientific notation
    while (v >= 10.0f) v /= 10.0f, ++exponent;
  }
  uint32_t scale = 1;
  for (int i = 0; i < decimals; ++i) scale *= 10;
  auto whole = static_cast<uint32_t>(v);
  auto frac = static_cast<uint32_t>((v - static_cast<float>(whole)) * static_cast<float>(scale) + 0.5f);
  if (frac >= scale) frac -= scale, ++whole;  // rounding carried into the integer part

  print_uint(whole);
  if (decimals > 0) {
    char buf[12];
    char* digits = format_uint(frac, buf + sizeof buf);
    print(".");
    for (int pad = decimals - static_cast<int>(buf + sizeof buf - 1 - digits); pad > 0; --pad) print("0");
    print(digits);
  }
  if (exponent != 0) print("e+"), print_uint(static_cast<uint32_t>(exponent));
}

void exit(int status) {
  // SYS_EXIT_EXTENDED with ADP_Stopped_ApplicationExit: QEMU exits with
  // `status` (plain SYS_EXIT can only report 0 or 1 on 32-bit Arm).
  const uint32_t block[2] = {0x20026, static_cast<uint32_t>(status)};
  for (;;) semihost(0x20, block);
}

uint32_t stack_size_bytes() {
  return static_cast<uint32_t>(reinterpret_cast<uintptr_t>(__stack_top__) -
                               reinterpret_cast<uintptr_t>(__stack_bottom__));
}

uint32_t stack_high_water_bytes() {
  // The stack grows down: the first overwritten word from the bottom marks
  // the deepest point reached.
  const volatile uint32_t* p = __stack_bottom__;
  while (p < __stack_top__ && *p == stack_paint) ++p;
  return static_cast<uint32_t>(reinterpret_cast<uintptr_t>(__stack_top__) - reinterpret_cast<uintptr_t>(p));
}

uint32_t static_ram_bytes() {
  auto bytes = [](uint32_t* begin, uint32_t* end) {
    return static_cast<uint32_t>(reinterpret_cast<uintptr_t>(end) - reinterpret_cast<uintptr_t>(begin));
  };
  return bytes(__data_start__, __data_end__) + bytes(__bss_start__, __bss_end__);
}

uint32_t host_milliseconds() {
  static uint32_t ticks_per_ms = 0;  // 0: not asked yet, ~0u: unsupported
  if (ticks_per_ms == 0) {
    const int freq = semihost(0x31, nullptr);  // SYS_TICKFREQ
    ticks_per_ms = freq >= 1000 ? static_cast<uint32_t>(freq) / 1000 : ~0u;
  }
  uint32_t block[2] = {0, 0};
  if (ticks_per_ms == ~0u || semihost(0x30, block) != 0) return 0;  // SYS_ELAPSED
  const uint64_t elapsed = uint64_t{block[1]} << 32 | block[0];
  return static_cast<uint32_t>(elapsed / ticks_per_ms);
}

uint32_t instructions() { return ticks_to_instructions(ticks()); }

namespace detail {
__attribute__((noinline)) uint32_t measure(thunk_fn fn, void* ctx) {
  const uint32_t t0 = ticks();
  fn(ctx);
  const uint32_t t1 = ticks();
  return ticks_to_instructions(t1 - t0);
}
}  // namespace detail

uint32_t empty_call_overhead() {
  auto empty = [] {};
  return detail::measure(&detail::invoke<decltype(empty)>, &empty);
}

namespace {
uint32_t strlen_bytes(const char* s) {
  uint32_t n = 0;
  while (s[n] != '\0') ++n;
  return n;
}

// SYS_READ / SYS_WRITE return the number of bytes not transferred.
uint32_t file_transfer(int op, int handle, const void* buf, uint32_t n) {
  const uint32_t block[3] = {static_cast<uint32_t>(handle), reinterpret_cast<uintptr_t>(buf), n};
  const auto left = static_cast<uint32_t>(semihost(op, block));
  return left <= n ? n - left : 0;
}
}  // namespace

int file_open(const char* name, FileMode mode) {
  const uint32_t block[3] = {reinterpret_cast<uintptr_t>(name), static_cast<uint32_t>(mode), strlen_bytes(name)};
  return semihost(0x01, block);  // SYS_OPEN
}

uint32_t file_read(int handle, void* buf, uint32_t n) { return file_transfer(0x06, handle, buf, n); }

uint32_t file_write(int handle, const void* buf, uint32_t n) { return file_transfer(0x05, handle, buf, n); }

int32_t file_length(int handle) {
  const uint32_t block[1] = {static_cast<uint32_t>(handle)};
  return semihost(0x0C, block);  // SYS_FLEN
}

bool file_close(int handle) {
  const uint32_t block[1] = {static_cast<uint32_t>(handle)};
  return semihost(0x02, block) == 0;  // SYS_CLOSE
}

bool icount_active() {
  static int cached = -1;
  if (cached < 0) {
    // Exactly 2 instructions per iteration whatever the optimisation level.
    auto spin = [](void* n) {
      uint32_t i = *static_cast<uint32_t*>(n);
      asm volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(i) : : "cc");
    };
    // 1013 - 1000 = 13 iterations = 26 instructions: not a multiple of the
    // 40-instruction resolution of shift=0, so no other mode passes by luck.
    uint32_t n1 = 1000, n2 = 1013;
    const uint32_t a = detail::measure(spin, &n1);
    const uint32_t b = detail::measure(spin, &n1);
    const uint32_t c = detail::measure(spin, &n2);
    cached = (a == b && a >= 2 * n1 && c - a == 2 * (n2 - n1)) ? 1 : 0;
  }
  return cached == 1;
}

}  // namespace board
