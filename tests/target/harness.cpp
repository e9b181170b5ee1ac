// Test runner for the target harness (see harness.hpp).
#include "harness.hpp"

#include <setjmp.h>
#include <string.h>

#include "board.hpp"

namespace harness {
namespace {

// Zero-initialised before any constructor runs, so registration order across
// translation units does not matter.
TestCase* first;
TestCase* last;

jmp_buf test_case_exit;
uint32_t checks, failed_checks;

void print_value(const Value& v) {
  switch (v.kind) {
    case Value::boolean: return board::print(v.u ? "true" : "false");
    case Value::sint: {
      if (v.i < 0) board::print("-");
      const uint64_t magnitude = v.i < 0 ? 0 - v.u : v.u;
      // Magnitudes beyond 32 bits print their low word in hex: rare in
      // tests, and it keeps 64-bit division out of the harness.
      if (magnitude <= 0xFFFFFFFFu) return board::print_uint(static_cast<uint32_t>(magnitude));
      return board::print_hex(static_cast<uint32_t>(magnitude));
    }
    case Value::uint:
      if (v.u <= 0xFFFFFFFFu) return board::print_uint(static_cast<uint32_t>(v.u));
      return board::print_hex(static_cast<uint32_t>(v.u));
    case Value::real: return board::print_float(v.f, 6);
    case Value::pointer: return board::print_hex(static_cast<uint32_t>(reinterpret_cast<uintptr_t>(v.p)));
    case Value::none: break;
  }
  board::print("?");
}

// -tc=<name>: exact name, or a prefix when the pattern ends in '*'.
bool selected(const TestCase& t, const char* pattern) {
  if (pattern == nullptr) return true;
  const size_t n = strlen(pattern);
  if (n > 0 && pattern[n - 1] == '*') return strncmp(t.name, pattern, n - 1) == 0;
  return strcmp(t.name, pattern) == 0;
}

}  // namespace

TestCase::TestCase(const char* name_, void (*fn_)(), const char* file_, int line_)
    : name(name_), fn(fn_), file(file_), line(line_) {
  (last != nullptr ? last->next : first) = this;
  last = this;
}

bool report(const Result& r, unsigned flags, const char* macro, const char* expr, const char* file, int line) {
  ++checks;
  const bool passed = (flags & negate) ? !r.passed : r.passed;
  if (passed) return true;
  ++failed_checks;
  board::print(file);
  board::print(":");
  board::print_int(line);
  board::print(": ERROR: ");
  board::print(macro);
  board::print("( ");
  board::print(expr);
  board::print(" ) is NOT correct!\n  values: ");
  board::print(macro);
  board::print("( ");
  print_value(r.lhs);
  if (r.op != nullptr) {
    board::print(" "), board::print(r.op), board::print(" ");
    print_value(r.rhs);
  }
  board::print(" )\n");
  return false;
}

void abort_test_case() { longjmp(test_case_exit, 1); }

// setjmp lives in its own frame, with no locals to clobber.
static __attribute__((noinline)) void run(void (*fn)()) {
  if (setjmp(test_case_exit) == 0) fn();
}

}  // namespace harness

int main(int argc, char** argv) {
  using namespace harness;
  const char* pattern = nullptr;
  for (int i = 1; i < argc; ++i)
    if (strncmp(argv[i], "-tc=", 4) == 0) pattern = argv[i] + 4;

  uint32_t cases = 0, failed_cases = 0;
  for (TestCase* t = first; t != nullptr; t = t->next) {
    if (!selected(*t, pattern)) continue;
    ++cases;
    const uint32_t failed_before = failed_checks;
    run(t->fn);
    if (failed_checks != failed_before) {
      ++failed_cases;
      board::print("test case FAILED: \"");
      board::print(t->name);
      board::print("\" (");
      board::print(t->file);
      board::print(":");
      board::print_int(t->line);
      board::print(")\n");
    }
  }

  board::print_uint(cases);
  board::print(" test cases, ");
  board::print_uint(checks);
  board::print(" checks, ");
  board::print_uint(failed_checks);
  board::print(" failed\n");
  board::print("stack used ");
  board::print_uint(board::stack_high_water_bytes());
  board::print(" of ");
  board::print_uint(board::stack_size_bytes());
  board::print(" bytes, static RAM ");
  board::print_uint(board::static_ram_bytes());
  board::print(" bytes\n");
  if (cases == 0 && pattern != nullptr) {
    board::print("no test case matches -tc=");
    board::print(pattern);
    board::print("\n");
    return 1;
  }
  return failed_cases != 0 ? 1 : 0;
}
