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
inline std::uint32_t get32(const unsigned char* p) noexcept { return static_cast<std::uint32_t>(get(p, 4)); }
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
