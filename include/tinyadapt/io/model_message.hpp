// Wire messages of one network type: its signature, element count and int8
// groups (one per layer with parameters, from Sequential's compile-time
// plan), for the encoder (io/encoder.hpp) and the decoder (io/decoder.hpp).
#pragma once
#include <cstddef>
#include <cstdint>

#include "message.hpp"
#include "encoder.hpp"
#include "signature.hpp"

namespace tinyadapt {
namespace io {

namespace detail {
template <class Net>
struct GroupTable {
  std::uint32_t sizes[Net::layer_count] = {};
  std::size_t count = 0;
  constexpr GroupTable() {
    for (std::size_t i = 0; i < Net::layer_count; ++i)
      if (Net::plan.layer_params[i] > 0) sizes[count++] = static_cast<std::uint32_t>(Net::plan.layer_params[i]);
  }
};
template <class Net>
inline constexpr GroupTable<Net> group_table{};
}  // namespace detail

// Int8 groups of Net: its parameter layers' sizes, in order.
template <class Net>
constexpr LayerGroups groups_of() noexcept {
  return LayerGroups{detail::group_table<Net>.sizes, detail::group_table<Net>.count};
}

// Accept only messages for Net, of the given kinds (and round, if given).
template <class Net>
constexpr Expect expect_for(std::uint8_t kinds, bool check_round = false, std::uint32_t round = 0) noexcept {
  Expect e;
  e.kinds = kinds;
  e.check_signature = true;
  e.signature = model_signature<Net>();
  e.elements = static_cast<std::uint32_t>(Net::param_count);
  e.groups = groups_of<Net>();
  e.check_round = check_round;
  e.round = round;
  return e;
}

// The sender's fields for Net (sparse_entries: set it for Encoding::sparse).
template <class Net>
constexpr MessageInfo info_for(PayloadKind kind, Encoding encoding, std::uint32_t round, std::uint32_t device,
                               std::uint32_t samples) noexcept {
  MessageInfo m;
  m.kind = kind;
  m.encoding = encoding;
  m.signature = model_signature<Net>();
  m.round = round;
  m.device = device;
  m.samples = samples;
  return m;
}

// Largest message for Net in any encoding (a receive buffer or file size limit).
template <class Net>
constexpr std::size_t max_message_bytes() noexcept {
  constexpr std::uint64_t n = Net::param_count, g = groups_of<Net>().count;
  constexpr std::uint64_t f32 = payload_bytes_for(Encoding::float32, n, n, 0);
  constexpr std::uint64_t sparse = payload_bytes_for(Encoding::sparse, n, n, 0);
  constexpr std::uint64_t i8 = payload_bytes_for(Encoding::int8_layer, n, n, g);
  constexpr std::uint64_t p = sparse > f32 ? sparse : f32;
  return static_cast<std::size_t>(message_header_bytes + (p > i8 ? p : i8) + message_trailer_bytes);
}

}  // namespace io
}  // namespace tinyadapt
