// Little-endian integers and floats in byte buffers, shared by every io/
// format (parameter files, wire messages, checkpoints) and meta::Server's
// state: the same bytes on every target, whatever its endianness.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace tinyadapt {
namespace io {
namespace detail {

inline void put(unsigned char* p, std::uint64_t v, int bytes) noexcept {
  for (int i = 0; i < bytes; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
inline std::uint64_t get(const unsigned char* p, int bytes) noexcept {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= std::uint64_t{p[i]} << (8 * i);
  return v;
}
// 32-bit forms without 64-bit shifts (a Cortex-M4 has no 64-bit registers;
// compilers turn these into one load or store).
inline std::uint32_t get32(const unsigned char* p) noexcept {
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 | std::uint32_t{p[3]} << 24;
}
inline void put32(unsigned char* p, std::uint32_t v) noexcept {
  p[0] = static_cast<unsigned char>(v), p[1] = static_cast<unsigned char>(v >> 8);
  p[2] = static_cast<unsigned char>(v >> 16), p[3] = static_cast<unsigned char>(v >> 24);
}
inline std::uint32_t fnv1a32(const unsigned char* p, std::size_t n) noexcept {
  std::uint32_t h = 0x811c9dc5u;
  for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x01000193u;
  return h;
}
inline float float_from_bits(std::uint32_t bits) noexcept {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}
inline float float_at(const unsigned char* p) noexcept { return float_from_bits(get32(p)); }

}  // namespace detail
}  // namespace io
}  // namespace tinyadapt
