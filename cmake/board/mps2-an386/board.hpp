// Board support for programs running on the Arm MPS2 AN386 (Cortex-M4F) as
// emulated by QEMU: console output and exit status through semihosting,
// stack/RAM statistics, and exact instruction counts.
//
// Exit statuses used by the runtime: main's return value on a normal exit,
// exit_fault (2) for a CPU fault, exit_stack_overflow (3) when the thread
// stack runs into the MPU guard below RAM, exit_abort (4) for abort(),
// a failed assert() or a pure virtual call.
#pragma once

#include <stdint.h>

#include <type_traits>

#if defined(__GLIBC__)
#error "host C library headers (/usr/include) are visible to the cross compiler"
#endif

namespace board {

inline constexpr int exit_fault = 2;
inline constexpr int exit_stack_overflow = 3;
inline constexpr int exit_abort = 4;

// Console output (semihosting SYS_WRITE0). No printf, nothing allocates.
void print(const char* s);
void print_uint(uint32_t v);
void print_int(int32_t v);
void print_hex(uint32_t v);  // "0x" followed by 8 digits
// Fixed-point with `decimals` digits (0..9) after the point; values of
// 1e9 and above are printed as d.ddddde+NN. Meant for reports, not for
// round-tripping.
void print_float(float v, int decimals = 4);

// Ends the program; QEMU exits with `status`.
[[noreturn]] void exit(int status);

// Thread stack reserved by the linker script (STACK_BYTES, default 32 KB).
uint32_t stack_size_bytes();
// Deepest stack use so far, found from the pattern painted at reset.
uint32_t stack_high_water_bytes();
// .data + .bss.
uint32_t static_ram_bytes();

// Wall-clock milliseconds of the host since the program started
// (semihosting SYS_ELAPSED / SYS_TICKFREQ), for progress reports a person
// watches; 0 when the debugger does not provide them. Under QEMU this is
// host time, not device time: use instructions() for device cost.
uint32_t host_milliseconds();

// Executed instructions since reset.
//
// QEMU runs with -icount shift=8: virtual time advances 2^8 = 256 ns per
// instruction, and the FPGAIO counter (0x40028018) ticks every 40 ns
// (25 MHz), so instructions = round(ticks * 40 / 256) = round(ticks * 5 / 32).
// One instruction is 6.4 ticks, so rounding recovers the exact count. The
// 32-bit counter wraps after 2^32 ticks (about 671 million instructions);
// differences (count_instructions) are wrap-safe.
uint32_t instructions();

// True when the counter really counts instructions: runs a loop of known
// length twice and checks the measured difference exactly. Without -icount
// (or with another shift) the counter follows host time and this is false;
// benchmark programs must then not print numbers.
bool icount_active();

namespace detail {
using thunk_fn = void (*)(void*);
// Instructions from just before fn(ctx) to just after it returns, including
// the fixed cost of the call. Defined out of line and noinline, so that this
// fixed cost is the same for every caller.
uint32_t measure(thunk_fn fn, void* ctx);

template <class Fn>
void invoke(void* f) {
  (*static_cast<Fn*>(f))();
}
}  // namespace detail

// Instructions executed by f(). The fixed cost is removed by subtracting the
// count of an empty lambda called the same way (through detail::measure and
// detail::invoke, compiled with the caller's flags), so
// count_instructions([] {}) == 0 at any optimisation level. f's own
// prologue/epilogue, if it needs one, counts.
template <class F>
uint32_t count_instructions(F&& f) {
  using Fn = std::remove_reference_t<F>;
  auto empty = [] {};
  const uint32_t overhead = detail::measure(&detail::invoke<decltype(empty)>, &empty);
  void* ctx = const_cast<void*>(static_cast<const volatile void*>(&f));
  return detail::measure(&detail::invoke<Fn>, ctx) - overhead;
}

// Fixed cost (instructions) of an empty count_instructions call, for reports.
uint32_t empty_call_overhead();

// Host files through semihosting (SYS_OPEN, SYS_READ, SYS_WRITE, SYS_FLEN,
// SYS_CLOSE). Under QEMU with -semihosting-config target=native a relative
// name is relative to QEMU's working directory. Nothing is buffered: each
// call is one debugger request.
enum class FileMode : uint32_t { read_binary = 1, write_binary = 5 };  // "rb", "wb"
// A handle (>= 0), or -1 when the host cannot open the file.
int file_open(const char* name, FileMode mode);
// Bytes transferred (less than n on an error or at the end of the file).
uint32_t file_read(int handle, void* buf, uint32_t n);
uint32_t file_write(int handle, const void* buf, uint32_t n);
// Length of an open file in bytes, or -1.
int32_t file_length(int handle);
// True when the host closed the file without an error.
bool file_close(int handle);

}  // namespace board
