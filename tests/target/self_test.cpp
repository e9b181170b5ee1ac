// Harness and runtime self-test: every check here passes.
#include "board.hpp"
#include "harness.hpp"

namespace {

int order[4];
int calls;

int data_word = 7;  // .data, copied from flash at reset
int bss_words[16];  // .bss, zeroed at reset

struct Constructed {
  int value;
  Constructed() : value(42) {}
};
Constructed constructed;  // dynamic initialisation through .init_array

int next_id() {
  static int id = static_cast<int>(board::stack_size_bytes() / 1024);  // guarded local static
  return ++id;
}

struct Base {
  virtual ~Base() = default;  // deleting destructor references operator delete
  virtual int kind() const { return 1; }
};
struct Derived : Base {
  int kind() const override { return 2; }
};

}  // namespace

TEST_CASE("test cases run in registration order: first") { order[calls++] = 1; }

TEST_CASE("test cases run in registration order: second") {
  order[calls++] = 2;
  CHECK(calls == 2);
  CHECK(order[0] == 1);
  CHECK(order[1] == 2);
}

TEST_CASE("passing checks of every kind") {
  int a = 2, b = 3;
  unsigned u = 5;
  CHECK(a + b == 5);
  CHECK(a + b == u);
  CHECK(a < b);
  CHECK(a <= b);
  CHECK(b > a);
  CHECK(b >= a);
  CHECK(a != b);
  CHECK(a);
  CHECK_FALSE(a == b);
  CHECK_FALSE(0);
  REQUIRE(b > a);
  REQUIRE_FALSE(a > b);
  CHECK(&a != nullptr);
}

TEST_CASE("start-up initialises .data, .bss and static objects") {
  CHECK(data_word == 7);
  bool zero = true;
  for (int w : bss_words) zero = zero && w == 0;
  CHECK(zero);
  CHECK(constructed.value == 42);
  CHECK(next_id() == 33);
  CHECK(next_id() == 34);
}

TEST_CASE("virtual calls") {
  Derived d;
  const Base& b = d;
  CHECK(b.kind() == 2);
}

TEST_CASE("FPU is enabled") {
  volatile float x = 2.0f;
  CHECK(x * 1.5f == 3.0f);
  CHECK(__builtin_sqrtf(x * 8.0f) == 4.0f);
}

TEST_CASE("stack and RAM statistics") {
  CHECK(board::stack_size_bytes() == 32768);
  const uint32_t used = board::stack_high_water_bytes();
  CHECK(used > 0);
  CHECK(used < 4096);
  CHECK(board::static_ram_bytes() >= sizeof bss_words + sizeof data_word);
}
