// CRC-32 (IEEE 802.3, as zlib, PNG and Ethernet: reflected polynomial
// 0xEDB88320, initial value and final xor 0xFFFFFFFF; "123456789" gives
// 0xCBF43926). Incremental, so a message can be checked as its chunks arrive.
//
// Slicing by S: S bytes per step with S lookups into S tables of 1 KB, built
// at compile time. The CRC is most of a float32 message's coding time, so the
// table size is the target's trade: S = 16 on hosts (16 KB; 3.1 GB/s on the
// reference machine against 1.3 for S = 4 and 0.4 byte-wise), S = 4 on a
// Cortex-M (4 KB of flash; ~4 instructions a byte against ~8 byte-wise).
// TINYADAPT_CRC32_SLICES sets S (1, 4, 8 or 16); TINYADAPT_CRC32_SMALL is
// S = 1. Every S gives the same CRC.
#pragma once
#include <cstddef>
#include <cstdint>

#include "../config.hpp"

namespace tinyadapt {
namespace io {

namespace detail {
#if defined(TINYADAPT_CRC32_SLICES)
inline constexpr int crc32_slices = TINYADAPT_CRC32_SLICES;
#elif defined(TINYADAPT_CRC32_SMALL)
inline constexpr int crc32_slices = 1;
#elif defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M'
inline constexpr int crc32_slices = 4;
#else
inline constexpr int crc32_slices = 16;
#endif
static_assert(crc32_slices == 1 || crc32_slices == 4 || crc32_slices == 8 || crc32_slices == 16,
              "TINYADAPT_CRC32_SLICES must be 1, 4, 8 or 16");
struct Crc32Table {
  std::uint32_t v[crc32_slices][256] = {};
  constexpr Crc32Table() {
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1u) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      v[0][i] = c;
    }
    for (int s = 1; s < crc32_slices; ++s)  // v[s][i]: i followed by s zero bytes
      for (std::uint32_t i = 0; i < 256; ++i) v[s][i] = (v[s - 1][i] >> 8) ^ v[0][v[s - 1][i] & 0xffu];
  }
};
inline constexpr Crc32Table crc32_table{};
}  // namespace detail

class Crc32 {
 public:
  constexpr void update(const unsigned char* p, std::size_t n) noexcept {
    const auto& t = detail::crc32_table.v;
    std::uint32_t c = state_;
    constexpr int S = detail::crc32_slices;
    if constexpr (S > 1) {
      for (; n >= S; n -= S, p += S) {
        std::uint32_t r = 0;
        for (int j = 0; j < S / 4; ++j) {  // word j's bytes are S-1-4j .. S-4-4j bytes from the end
          const unsigned char* q = p + 4 * j;
          std::uint32_t w = std::uint32_t{q[0]} | std::uint32_t{q[1]} << 8 | std::uint32_t{q[2]} << 16 |
                            std::uint32_t{q[3]} << 24;
          if (j == 0) w ^= c;
          r ^= t[S - 1 - 4 * j][w & 0xffu] ^ t[S - 2 - 4 * j][(w >> 8) & 0xffu] ^ t[S - 3 - 4 * j][(w >> 16) & 0xffu] ^
               t[S - 4 - 4 * j][w >> 24];
        }
        c = r;
      }
    }
    for (; n > 0; --n, ++p) c = t[0][(c ^ *p) & 0xffu] ^ (c >> 8);
    state_ = c;
  }
  constexpr std::uint32_t value() const noexcept { return state_ ^ 0xFFFFFFFFu; }

 private:
  std::uint32_t state_ = 0xFFFFFFFFu;
};

constexpr std::uint32_t crc32(const unsigned char* p, std::size_t n) noexcept {
  Crc32 c;
  c.update(p, n);
  return c.value();
}

}  // namespace io
}  // namespace tinyadapt
