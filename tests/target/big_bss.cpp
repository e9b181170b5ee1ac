// Static RAM sized by BSS_BYTES. With 300 KB, or 230 KB plus the default
// 32 KB stack, the link must fail (more than 256 KB of RAM); with 230 KB and
// an 8 KB stack it must fit and run.
#include "board.hpp"
#include "harness.hpp"

namespace {
uint8_t buffer[BSS_BYTES];
}

TEST_CASE("a large .bss fits next to a small stack") {
  for (uint32_t i = 0; i < sizeof buffer; ++i) buffer[i] = static_cast<uint8_t>(i);
  uint32_t sum = 0;
  for (uint32_t i = 0; i < sizeof buffer; i += 4096) sum += buffer[i + 1];
  CHECK(sum == (sizeof buffer + 4095) / 4096);
  CHECK(board::stack_size_bytes() == STACK_BYTES);
  CHECK(board::static_ram_bytes() >= sizeof buffer);
  CHECK(board::stack_high_water_bytes() < STACK_BYTES);
}
