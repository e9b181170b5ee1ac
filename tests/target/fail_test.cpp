// Deliberately failing program: the harness must report each failure and
// exit nonzero, and REQUIRE must end its test case.
#include "board.hpp"
#include "harness.hpp"

TEST_CASE("a failing CHECK does not stop the test case") {
  int x = 1;
  CHECK(x + 1 == 3);
  board::print("after-check\n");
  CHECK(true);
}

TEST_CASE("a failing REQUIRE ends the test case") {
  REQUIRE(2 < 1);
  board::print("after-require\n");
}

TEST_CASE("later test cases still run") {
  board::print("next-case-ran\n");
  CHECK_FALSE(false);
}

TEST_CASE("floats print their values") {
  volatile float f = 1.25f;
  CHECK(f == 2.5f);
}
