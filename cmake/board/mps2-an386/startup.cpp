// Start-up code, fault handlers and C/C++ runtime stubs for the MPS2 AN386
// (Cortex-M4F) under QEMU. See mps2-an386.ld for the memory layout.
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "board.hpp"

extern "C" {
// Linker script symbols.
extern uint32_t __stack_bottom__[], __stack_top__[], __handler_stack_top__[];
extern uint32_t __data_load__[], __data_start__[], __data_end__[];
extern uint32_t __bss_start__[], __bss_end__[];
extern void (*__preinit_array_start[])();
extern void (*__preinit_array_end[])();
extern void (*__init_array_start[])();
extern void (*__init_array_end[])();

void Reset_Handler();
void Fault_Handler();
}

// The program's main, under another name: C++ does not let code call main.
int board_program_main(int argc, char** argv) asm("main");

namespace {

inline volatile uint32_t& reg(uintptr_t addr) { return *reinterpret_cast<volatile uint32_t*>(addr); }

constexpr uintptr_t SCB_ICSR = 0xE000ED04;
constexpr uintptr_t SCB_CCR = 0xE000ED14;
constexpr uintptr_t SCB_SHCSR = 0xE000ED24;
constexpr uintptr_t SCB_CFSR = 0xE000ED28;
constexpr uintptr_t SCB_HFSR = 0xE000ED2C;
constexpr uintptr_t SCB_MMFAR = 0xE000ED34;
constexpr uintptr_t SCB_BFAR = 0xE000ED38;
constexpr uintptr_t MPU_CTRL = 0xE000ED94;
constexpr uintptr_t MPU_RNR = 0xE000ED98;
constexpr uintptr_t MPU_RBAR = 0xE000ED9C;
constexpr uintptr_t MPU_RASR = 0xE000EDA0;

constexpr uint32_t CFSR_DACCVIOL = 1u << 1;
constexpr uint32_t CFSR_MSTKERR = 1u << 4;
constexpr uint32_t CFSR_MMARVALID = 1u << 7;
constexpr uint32_t CFSR_BFARVALID = 1u << 15;
constexpr uint32_t CFSR_STKERR = 1u << 12;

// Below RAM: unimplemented on this board (reads 0, ignores writes), made
// no-access by the MPU so that a stack overflow faults.
constexpr uint32_t guard_base = 0x10000000;
constexpr uint32_t guard_end = 0x20000000;

void mpu_guard_below_ram() {
  reg(MPU_RNR) = 0;
  reg(MPU_RBAR) = guard_base;
  // XN, AP=000 (no access, privileged or not), SIZE=27 -> 2^28 = 256 MB.
  reg(MPU_RASR) = (1u << 28) | (0u << 24) | (27u << 1) | 1u;
  // PRIVDEFENA: everything else keeps the default memory map.
  reg(MPU_CTRL) = (1u << 2) | 1u;
  // MemManage, BusFault and UsageFault get their own diagnosis instead of
  // escalating to HardFault; integer division by zero traps.
  reg(SCB_SHCSR) |= (1u << 16) | (1u << 17) | (1u << 18);
  reg(SCB_CCR) |= 1u << 4;
  asm volatile("dsb\n\tisb" ::: "memory");
}

// argv from the semihosting command line (QEMU: the kernel file name, plus
// -append or -semihosting-config arg=... if given).
constexpr int max_args = 8;
char cmdline[160];
char* argv_storage[max_args + 1];
char default_name[] = "program";

int build_argv() {
  struct {
    char* buf;
    int len;
  } block = {cmdline, static_cast<int>(sizeof cmdline)};
  int argc = 0;
  int rc;
  {
    register int r0 asm("r0") = 0x15;  // SYS_GET_CMDLINE
    register void* r1 asm("r1") = &block;
    asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    rc = r0;
  }
  if (rc == 0) {
    char* p = cmdline;
    while (*p != '\0' && argc < max_args) {
      while (*p == ' ') *p++ = '\0';
      if (*p == '\0') break;
      argv_storage[argc++] = p;
      while (*p != '\0' && *p != ' ') ++p;
    }
  }
  if (argc == 0) argv_storage[argc++] = default_name;
  argv_storage[argc] = nullptr;
  return argc;
}

[[noreturn]] void die(const char* what, int status) {
  board::print("\n*** ");
  board::print(what);
  board::print("\n");
  board::exit(status);
}

}  // namespace

using vector_fn = void (*)();

// 16 system exceptions + the board's interrupts, all unexpected except
// reset. Initial MSP is the exception stack; thread code switches to the
// painted stack (PSP) in Reset_Handler.
__attribute__((section(".isr_vector"), used)) const vector_fn board_vector_table[16 + 48] = {
    reinterpret_cast<vector_fn>(__handler_stack_top__),
    Reset_Handler,
    // NMI .. SysTick and all interrupts: report and exit.
    Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler,
    Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler,
    Fault_Handler, Fault_Handler,
    Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler,
    Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler,
    Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler,
    Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler,
    Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler,
    Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler,
    Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler,
    Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler,
};

// Runs before anything compiled: hard-float code may use FPU registers
// anywhere (even in a prologue), so CP10/CP11 must be enabled first. Then the
// thread stack is painted (for the high-water mark) while still running on
// MSP, and thread mode moves to PSP so that a thread stack overflow leaves
// the fault handler a valid stack.
extern "C" __attribute__((naked, noreturn)) void Reset_Handler() {
  asm volatile(
      "ldr   r0, =0xE000ED88        \n"  // CPACR
      "ldr   r1, [r0]               \n"
      "orr   r1, r1, #(0xF << 20)   \n"  // CP10, CP11 full access
      "str   r1, [r0]               \n"
      "dsb                          \n"
      "isb                          \n"
      "ldr   r0, =__stack_bottom__  \n"
      "ldr   r1, =__stack_top__     \n"
      "ldr   r2, =0xA5A5A5A5        \n"
      "1:                           \n"
      "cmp   r0, r1                 \n"
      "bhs   2f                     \n"
      "str   r2, [r0], #4           \n"
      "b     1b                     \n"
      "2:                           \n"
      "msr   psp, r1                \n"
      "movs  r0, #2                 \n"  // CONTROL.SPSEL = 1
      "msr   control, r0            \n"
      "isb                          \n"
      "b     board_start            \n"
      ".ltorg                       \n");
}

extern "C" [[noreturn]] __attribute__((used)) void board_start() {
  for (uint32_t *src = __data_load__, *dst = __data_start__; dst < __data_end__;) *dst++ = *src++;
  for (uint32_t* dst = __bss_start__; dst < __bss_end__;) *dst++ = 0;
  mpu_guard_below_ram();
  for (auto f = __preinit_array_start; f < __preinit_array_end; ++f) (*f)();
  for (auto f = __init_array_start; f < __init_array_end; ++f) (*f)();
  int argc = build_argv();
  board::exit(board_program_main(argc, argv_storage));
}

// Every exception except reset lands here, on the exception stack (MSP).
// Hands the C++ part the stacked frame (from PSP or MSP) and EXC_RETURN.
extern "C" __attribute__((naked)) void Fault_Handler() {
  asm volatile(
      "tst   lr, #4          \n"
      "ite   eq              \n"
      "mrseq r0, msp         \n"
      "mrsne r0, psp         \n"
      "mov   r1, lr          \n"
      "b     board_fault     \n");
}

extern "C" [[noreturn]] __attribute__((used)) void board_fault(const uint32_t* frame, uint32_t exc_return) {
  static const char* const names[16] = {"?", "Reset", "NMI", "HardFault", "MemManage", "BusFault",
                                        "UsageFault", "?", "?", "?", "?", "SVCall", "DebugMonitor",
                                        "?", "PendSV", "SysTick"};
  const uint32_t exc = reg(SCB_ICSR) & 0x1FF;
  const uint32_t cfsr = reg(SCB_CFSR);
  const uint32_t mmfar = reg(SCB_MMFAR);
  uint32_t psp;
  asm volatile("mrs %0, psp" : "=r"(psp));

  // An overflow either faults on the exception stacking itself (the stack
  // pointer is already in the guard) or on an access just below RAM with the
  // stack pointer at or below the stack bottom.
  const uint32_t bottom = reinterpret_cast<uintptr_t>(__stack_bottom__);
  const bool in_guard = (cfsr & CFSR_MMARVALID) && mmfar >= guard_base && mmfar < guard_end;
  const bool overflow = (cfsr & CFSR_MSTKERR) || ((cfsr & CFSR_DACCVIOL) && in_guard && psp <= bottom + 64);
  const bool frame_valid = (cfsr & (CFSR_MSTKERR | CFSR_STKERR)) == 0;

  board::print(overflow ? "\n*** stack overflow (MemManage fault)\n" : "\n*** fault: ");
  if (!overflow) {
    board::print(exc < 16 ? names[exc] : "interrupt");
    board::print("\n");
  }
  board::print("exception "), board::print_uint(exc);
  board::print("  CFSR "), board::print_hex(cfsr);
  board::print("  HFSR "), board::print_hex(reg(SCB_HFSR));
  board::print("\nMMFAR "), board::print_hex(mmfar);
  board::print((cfsr & CFSR_MMARVALID) ? " (valid)" : " (not valid)");
  board::print("  BFAR "), board::print_hex(reg(SCB_BFAR));
  board::print((cfsr & CFSR_BFARVALID) ? " (valid)" : " (not valid)");
  board::print("\nPC "), frame_valid ? board::print_hex(frame[6]) : board::print("unknown (stacking failed)");
  if (frame_valid) board::print("  LR "), board::print_hex(frame[5]);
  board::print("  PSP "), board::print_hex(psp);
  board::print("  EXC_RETURN "), board::print_hex(exc_return);
  board::print("\n");
  board::exit(overflow ? board::exit_stack_overflow : board::exit_fault);
}

// ---------------------------------------------------------------------------
// C library hooks. Nothing may allocate: the heap is empty.

extern "C" {

void* _sbrk(ptrdiff_t) {
  errno = ENOMEM;
  return reinterpret_cast<void*>(-1);
}

[[noreturn]] void _exit(int status) { board::exit(status); }

// Replace newlib's versions, which would pull in stdio and signals.
[[noreturn]] void abort() { die("abort()", board::exit_abort); }

[[noreturn]] void __assert_func(const char* file, int line, const char* func, const char* expr) {
  board::print("\n*** assertion failed: ");
  board::print(expr);
  board::print("\n    ");
  board::print(file);
  board::print(":");
  board::print_int(line);
  if (func != nullptr) board::print(" in "), board::print(func);
  board::print("\n");
  board::exit(board::exit_abort);
}

// -nostartfiles drops crti/crtbegin, which normally provide these.
void _init() {}
void _fini() {}
void* __dso_handle = nullptr;

// C++ ABI hooks normally taken from libsupc++ (not linked). Weak, so that a
// program that does link it gets the real ones.

// Static destructors never run: the program ends through a semihosting exit.
__attribute__((weak)) int __aeabi_atexit(void*, void (*)(void*), void*) { return 0; }
__attribute__((weak)) int __cxa_atexit(void (*)(void*), void*, void*) { return 0; }

// Single-threaded guards for function-local statics (ARM EABI: bit 0 of a
// 32-bit guard word means "initialised").
__attribute__((weak)) int __cxa_guard_acquire(int* guard) { return (*guard & 1) == 0; }
__attribute__((weak)) void __cxa_guard_release(int* guard) { *guard = 1; }
__attribute__((weak)) void __cxa_guard_abort(int*) {}

__attribute__((weak)) void __cxa_pure_virtual() { die("pure virtual function called", board::exit_abort); }
__attribute__((weak)) void __cxa_deleted_virtual() { die("deleted virtual function called", board::exit_abort); }

}  // extern "C"

// Referenced by deleting destructors of classes with virtual destructors;
// never called, since nothing is allocated with new.
__attribute__((weak)) void operator delete(void*) noexcept { die("operator delete called", board::exit_abort); }
__attribute__((weak)) void operator delete(void*, size_t) noexcept { die("operator delete called", board::exit_abort); }
