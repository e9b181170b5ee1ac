// Instruction counting under -icount: exact, repeatable and linear.
#include "board.hpp"
#include "harness.hpp"

namespace {

// Exactly 5 instructions per iteration (nop, nop, nop, subs, bne).
__attribute__((noinline)) void loop5(uint32_t n) {
  asm volatile(
      "1: nop\n\t"
      "nop\n\t"
      "nop\n\t"
      "subs %0, %0, #1\n\t"
      "bne 1b"
      : "+r"(n)
      :
      : "cc");
}

uint32_t count_loop5(uint32_t n) {
  return board::count_instructions([n] { loop5(n); });
}

float a[3 * 64], b[3 * 64];

__attribute__((noinline)) float dot(const float* x, const float* y, uint32_t n) {
  float s = 0.0f;
  for (uint32_t i = 0; i < n; ++i) s += x[i] * y[i];
  return s;
}

uint32_t count_dot(uint32_t n) {
  volatile float sink = 0.0f;
  return board::count_instructions([&] { sink = dot(a, b, n); });
}

void report(const char* what, uint32_t value) {
  board::print(what);
  board::print_uint(value);
  board::print("\n");
}

}  // namespace

TEST_CASE("icount is active") {
  REQUIRE(board::icount_active());
  report("empty call overhead (instructions): ", board::empty_call_overhead());
}

TEST_CASE("an empty call counts zero") {
  CHECK(board::count_instructions([] {}) == 0);
  CHECK(board::count_instructions([] {}) == 0);
}

TEST_CASE("a loop of known body counts exactly and linearly") {
  REQUIRE(board::icount_active());
  constexpr uint32_t n = 1000;
  const uint32_t c1 = count_loop5(1);
  const uint32_t cn = count_loop5(n);
  const uint32_t cn_again = count_loop5(n);
  const uint32_t c2n = count_loop5(2 * n);
  CHECK(cn == cn_again);
  CHECK(c2n - cn == 5 * n);
  CHECK(cn - c1 == 5 * (n - 1));
  report("loop5(1000): ", cn);
  report("loop5(2000): ", c2n);
}

TEST_CASE("a compiled loop is linear in its length") {
  REQUIRE(board::icount_active());
  constexpr uint32_t n = 64;  // a multiple of any unroll factor
  const uint32_t c1 = count_dot(n), c2 = count_dot(2 * n), c3 = count_dot(3 * n);
  CHECK(count_dot(n) == c1);
  CHECK(c3 - c2 == c2 - c1);
  CHECK((c2 - c1) % n == 0);
  report("dot, instructions per element: ", (c2 - c1) / n);
}

TEST_CASE("instructions() advances by the executed count") {
  REQUIRE(board::icount_active());
  const uint32_t t0 = board::instructions();
  loop5(1000);
  const uint32_t t1 = board::instructions();
  CHECK(t1 - t0 >= 5000);
  CHECK(t1 - t0 < 5100);
}
