// The wire message: θ (global weights), φ (a device's trained weights) or
// Δ = φ - θ, as one versioned, checksummed, little-endian byte string.
//
//   offset  size  field
//        0     4  magic "TAWM"
//        4     2  format version (1)
//        6     2  header bytes (48)
//        8     1  payload kind: 1 θ, 2 φ, 3 Δ
//        9     1  encoding: 1 float32, 2 int8 per layer, 3 sparse, 4 fp16
//       10     2  G, int8 layer groups (0 for other encodings)
//       12     8  model signature (io/signature.hpp)
//       20     4  round id
//       24     4  device id
//       28     4  N, element count (the model's parameter count)
//       32     4  K, entry count: N, or for sparse the entries sent (0..N)
//       36     4  sample count: 0 for θ, >= 1 for φ and Δ (FedAvg's weight)
//       40     4  payload bytes: float32 4N, fp16 2N, int8 8G + N, sparse 8K
//       44     4  CRC-32 of bytes 0..43 (the header is checked before its
//                 fields are believed, and before any payload arrives)
//       48     P  payload
//   48 + P     4  CRC-32 of bytes 0 .. 47 + P (header and payload)
//
// Payloads, in the model's parameter order:
//   float32  N x binary32
//   fp16     N x binary16 (io/fp16.hpp: round to nearest even; out of range refused)
//   int8     G groups, one per layer with parameters: u32 count, f32 scale s
//            (0 <= s <= FLT_MAX/127), then count x int8 q in [-127, 127];
//            value = q s. The counts add up to N.
//   sparse   K x (u32 index, f32 value), indices strictly increasing and < N;
//            the other elements are 0 (so sparse is for Δ only).
// No heap, no exceptions, no RTTI, no iostream.
#pragma once
#include <cstddef>
#include <cstdint>

#include "bytes.hpp"
#include "crc32.hpp"
#include "wire_status.hpp"

namespace tinyadapt {
namespace io {

enum class PayloadKind : std::uint8_t { theta = 1, phi = 2, delta = 3 };
enum class Encoding : std::uint8_t { float32 = 1, int8_layer = 2, sparse = 3, fp16 = 4 };

inline constexpr std::uint16_t message_format_version = 1;
inline constexpr std::size_t message_header_bytes = 48;
inline constexpr std::size_t message_trailer_bytes = 4;

constexpr const char* to_string(PayloadKind k) noexcept {
  return k == PayloadKind::theta ? "theta" : k == PayloadKind::phi ? "phi" : k == PayloadKind::delta ? "delta" : "?";
}
constexpr const char* to_string(Encoding e) noexcept {
  return e == Encoding::float32      ? "float32"
         : e == Encoding::int8_layer ? "int8"
         : e == Encoding::sparse     ? "sparse"
         : e == Encoding::fp16       ? "fp16"
                                     : "?";
}

struct MessageHeader {
  PayloadKind kind = PayloadKind::theta;
  Encoding encoding = Encoding::float32;
  std::uint16_t groups = 0;
  std::uint64_t signature = 0;
  std::uint32_t round = 0;
  std::uint32_t device = 0;
  std::uint32_t elements = 0;
  std::uint32_t entries = 0;
  std::uint32_t samples = 0;
  std::uint32_t payload_bytes = 0;
  std::uint32_t header_crc = 0;  // as read (parse) or written (write)
};

// Payload bytes implied by the counts (64-bit: a forged header cannot wrap).
constexpr std::uint64_t payload_bytes_for(Encoding e, std::uint64_t elements, std::uint64_t entries,
                                          std::uint64_t groups) noexcept {
  switch (e) {
    case Encoding::float32: return 4 * elements;
    case Encoding::fp16: return 2 * elements;
    case Encoding::int8_layer: return 8 * groups + elements;
    case Encoding::sparse: return 8 * entries;
  }
  return 0;
}
constexpr std::uint64_t message_bytes(const MessageHeader& h) noexcept {
  return message_header_bytes + std::uint64_t{h.payload_bytes} + message_trailer_bytes;
}

// The fields' own rules, without a model: kind, encoding, counts, samples.
inline WireStatus check_header_fields(const MessageHeader& h) noexcept {
  if (h.kind != PayloadKind::theta && h.kind != PayloadKind::phi && h.kind != PayloadKind::delta)
    return WireStatus::bad_kind;
  if (h.encoding != Encoding::float32 && h.encoding != Encoding::int8_layer && h.encoding != Encoding::sparse &&
      h.encoding != Encoding::fp16)
    return WireStatus::bad_encoding;
  if (h.encoding == Encoding::sparse && h.kind != PayloadKind::delta) return WireStatus::bad_encoding;
  const bool sparse = h.encoding == Encoding::sparse, int8 = h.encoding == Encoding::int8_layer;
  if (h.elements == 0 || (sparse ? h.entries > h.elements : h.entries != h.elements) ||
      (int8 ? (h.groups == 0 || h.groups > h.elements) : h.groups != 0) ||
      payload_bytes_for(h.encoding, h.elements, h.entries, h.groups) != h.payload_bytes ||
      message_bytes(h) > 0xFFFFFFFFu)
    return WireStatus::inconsistent_counts;
  if ((h.kind == PayloadKind::theta) != (h.samples == 0)) return WireStatus::bad_sample_count;
  return WireStatus::ok;
}

// The 48 header bytes of h, with its CRC (also stored in h.header_crc).
inline void write_header(MessageHeader& h, unsigned char* out) noexcept {
  using detail::put;
  out[0] = 'T', out[1] = 'A', out[2] = 'W', out[3] = 'M';
  put(out + 4, message_format_version, 2);
  put(out + 6, message_header_bytes, 2);
  out[8] = static_cast<unsigned char>(h.kind);
  out[9] = static_cast<unsigned char>(h.encoding);
  put(out + 10, h.groups, 2);
  put(out + 12, h.signature, 8);
  put(out + 20, h.round, 4);
  put(out + 24, h.device, 4);
  put(out + 28, h.elements, 4);
  put(out + 32, h.entries, 4);
  put(out + 36, h.samples, 4);
  put(out + 40, h.payload_bytes, 4);
  h.header_crc = crc32(out, 44);
  put(out + 44, h.header_crc, 4);
}

// Reads and checks the 48 header bytes: magic, version, size, CRC, then the
// fields (check_header_fields). h is filled only when ok is returned.
inline WireStatus parse_header(const unsigned char* in, MessageHeader& h) noexcept {
  using detail::get;
  using detail::get32;
  if (in[0] != 'T' || in[1] != 'A' || in[2] != 'W' || in[3] != 'M') return WireStatus::bad_magic;
  if (get(in + 4, 2) != message_format_version || get(in + 6, 2) != message_header_bytes)
    return WireStatus::unsupported_version;
  if (crc32(in, 44) != get32(in + 44)) return WireStatus::header_corrupted;
  MessageHeader r;
  r.kind = static_cast<PayloadKind>(in[8]);
  r.encoding = static_cast<Encoding>(in[9]);
  r.groups = static_cast<std::uint16_t>(get(in + 10, 2));
  r.signature = get(in + 12, 8);
  r.round = get32(in + 20);
  r.device = get32(in + 24);
  r.elements = get32(in + 28);
  r.entries = get32(in + 32);
  r.samples = get32(in + 36);
  r.payload_bytes = get32(in + 40);
  r.header_crc = get32(in + 44);
  const WireStatus s = check_header_fields(r);
  if (s == WireStatus::ok) h = r;
  return s;
}

// Bit masks of payload kinds, for Expect::kinds.
constexpr std::uint8_t kind_bit(PayloadKind k) noexcept { return static_cast<std::uint8_t>(1u << static_cast<unsigned>(k)); }
inline constexpr std::uint8_t any_kind = kind_bit(PayloadKind::theta) | kind_bit(PayloadKind::phi) |
                                         kind_bit(PayloadKind::delta);
inline constexpr std::uint8_t update_kinds = kind_bit(PayloadKind::phi) | kind_bit(PayloadKind::delta);

// The sizes of a model's int8 groups: its layers that have parameters.
struct LayerGroups {
  const std::uint32_t* sizes = nullptr;
  std::size_t count = 0;
};

// What a receiver accepts. The defaults accept any well-formed message (a
// tool that does not know the model); expect_for<Net>() names a model.
struct Expect {
  std::uint8_t kinds = any_kind;
  bool check_signature = false;
  std::uint64_t signature = 0;
  std::uint32_t elements = 0;  // 0: any
  LayerGroups groups;          // int8 group sizes the model has (count 0: any that add up)
  bool check_round = false;
  std::uint32_t round = 0;
  std::uint32_t max_message_bytes = 0xFFFFFFFFu;
};

// Receiver checks of a header whose fields are consistent.
inline WireStatus check_expected(const MessageHeader& h, const Expect& e) noexcept {
  if ((e.kinds & kind_bit(h.kind)) == 0) return WireStatus::wrong_kind;
  if (e.check_signature && h.signature != e.signature) return WireStatus::signature_mismatch;
  if (e.elements != 0 && h.elements != e.elements) return WireStatus::count_mismatch;
  if (h.encoding == Encoding::int8_layer && e.groups.count != 0 && h.groups != e.groups.count)
    return WireStatus::bad_group;
  if (e.check_round && h.round != e.round) return WireStatus::wrong_round;
  if (message_bytes(h) > e.max_message_bytes) return WireStatus::oversized;
  return WireStatus::ok;
}

}  // namespace io
}  // namespace tinyadapt
