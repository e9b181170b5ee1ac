// CRC-32 (IEEE 802.3, as zlib, PNG and Ethernet: reflected polynomial
// 0xEDB88320, initial value and final xor 0xFFFFFFFF; "123456789" gives
// 0xCBF43926). Incremental, so a message can be checked as its chunks arrive.
//
// Slicing by 4 (four 1 KB tables, built at compile time, in flash on a
// microcontroller): four bytes per step with four lookups. Against the
// byte-wise 1 KB table: Cortex-M4 ~8 -> ~4 instructions a byte, host ~3x
// faster (the CRC is most of a float32 message's decoding time). Define
// TINYADAPT_CRC32_SMALL for the 1 KB byte-wise table only (same results).
#pragma once
#include <cstddef>
#include <cstdint>

#include "../config.hpp"

namespace tinyadapt {
namespace io {

namespace detail {
#if defined(TINYADAPT_CRC32_SMALL)
inline constexpr int crc32_slices = 1;
#else
inline constexpr int crc32_slices = 4;
#endif
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
    if constexpr (detail::crc32_slices == 4) {
      for (; n >= 4; n -= 4, p += 4) {
        c ^= std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 | std::uint32_t{p[3]} << 24;
        c = t[3][c & 0xffu] ^ t[2][(c >> 8) & 0xffu] ^ t[1][(c >> 16) & 0xffu] ^ t[0][c >> 24];
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
