// CRC-32 (io/crc32.hpp) against known values and the bit-by-bit definition
// at every length and split. Built once per table size (TINYADAPT_CRC32_SLICES
// = 1, 4, 8, 16: tests io.crc32.sN), so every target's choice is checked.
#include <tinyadapt/core/rng.hpp>
#include <tinyadapt/io/crc32.hpp>

#include "support/test.hpp"

namespace ta = tinyadapt;
namespace io = tinyadapt::io;

constexpr unsigned char check_input[] = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
static_assert(io::crc32(check_input, 9) == 0xCBF43926u, "CRC-32 check value (computed at compile time)");

TEST_CASE("crc32: known vectors, incremental") {
  const auto* fox = reinterpret_cast<const unsigned char*>("The quick brown fox jumps over the lazy dog");
  CHECK(io::crc32(fox, 43) == 0x414FA339u);
  CHECK(io::crc32(fox, 0) == 0u);
  const unsigned char a = 'a';
  CHECK(io::crc32(&a, 1) == 0xE8B7BE43u);
  io::Crc32 c;
  c.update(fox, 10);
  c.update(fox + 10, 33);
  CHECK(c.value() == 0x414FA339u);
}

TEST_CASE("crc32: the sliced table agrees with the bit-by-bit definition at every length and split") {
  static unsigned char data[600];
  ta::Rng rng(12);
  for (unsigned char& b : data) b = static_cast<unsigned char>(rng.next_u32());
  std::size_t wrong = 0;
  for (std::size_t n = 0; n <= sizeof data; n += 1 + n / 16) {
    std::uint32_t ref = 0xFFFFFFFFu;
    for (std::size_t i = 0; i < n; ++i) {
      ref ^= data[i];
      for (int k = 0; k < 8; ++k) ref = (ref & 1u) != 0 ? 0xEDB88320u ^ (ref >> 1) : ref >> 1;
    }
    ref ^= 0xFFFFFFFFu;
    wrong += io::crc32(data, n) != ref;
    for (std::size_t split = 0; split <= n; split += 3) {
      io::Crc32 c;
      c.update(data, split);
      c.update(data + split, n - split);
      wrong += c.value() != ref;
    }
  }
  CHECK(wrong == 0);
}
