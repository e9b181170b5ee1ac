// Saving and loading the flat parameters of a network to and from a
// caller's buffer, behind a header that names the model signature
// (io/signature.hpp), so that parameters never land in a model they were
// not made for.
//
// Layout (all integers little-endian; 32-byte header, then the payload):
//
//   offset  size  field
//        0     4  magic "TAPR"
//        4     2  format version (1)
//        6     2  header bytes (32)
//        8     1  dtype (io::DType::float32 = 1)
//        9     3  zero
//       12     4  parameter count
//       16     8  model signature (io::model_signature<Net>())
//       24     4  FNV-1a 32 of the payload bytes
//       28     4  width fields w (0 for a network without growable layers)
//       32   4 n  the parameters, IEEE 754 binary32 little-endian, in the
//                 network's order (layer after layer, weights then bias)
//   32 + 4n  4 w  the active widths of a network with growable layers
//                 (Sequential::get_widths: per such layer, outputs then
//                 inputs), u32; part of the payload the checksum covers
//
// A grown network comes back at its widths: parameters without them would be
// another function. A fixed network's blob has no widths (the bytes of
// format 1 as it always was).
//
// The same bytes on every target; tools/torch_weights.py writes and reads
// them (as a binary file or a C array). Loading checks everything before it
// writes: on any error the network is unchanged. No heap, no exceptions, no
// RTTI, no iostream.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "../core/finite.hpp"
#include "../core/span.hpp"
#include "../core/status.hpp"
#include "bytes.hpp"
#include "signature.hpp"

namespace tinyadapt {
namespace io {

enum class ParamStatus : std::uint8_t {
  ok = 0,
  buffer_too_small,     // save: the buffer cannot hold header + parameters
  truncated,            // load: fewer bytes than the header says
  bad_magic,            // load: not a tinyadapt parameter blob
  unsupported_version,  // load: a format version (or header size) this build does not read
  wrong_dtype,          // load: parameters of another element type
  signature_mismatch,   // load: made for another model (layers, shapes or dtype differ)
  count_mismatch,       // load: another parameter count
  checksum_mismatch,    // load: the payload was corrupted
  non_finite_value,     // load: a NaN or Inf among the parameters
  bad_widths,           // load: active widths missing, out of range or inconsistent for the model
};

constexpr const char* to_string(ParamStatus s) noexcept {
  switch (s) {
    case ParamStatus::ok: return "ok";
    case ParamStatus::buffer_too_small: return "buffer too small for the parameters";
    case ParamStatus::truncated: return "parameter data truncated";
    case ParamStatus::bad_magic: return "not tinyadapt parameter data (bad magic)";
    case ParamStatus::unsupported_version: return "unsupported parameter format version";
    case ParamStatus::wrong_dtype: return "parameters of another element type";
    case ParamStatus::signature_mismatch: return "parameters of another model (signature mismatch)";
    case ParamStatus::count_mismatch: return "parameter count does not match the model";
    case ParamStatus::checksum_mismatch: return "parameter data corrupted (checksum mismatch)";
    case ParamStatus::non_finite_value: return "non-finite value in the parameters";
    case ParamStatus::bad_widths: return "active widths missing, out of range or inconsistent for the model";
  }
  return "unknown parameter status";
}

inline constexpr std::uint16_t parameter_format_version = 1;
inline constexpr std::size_t parameter_header_bytes = 32;

// Bytes save_parameters() writes for Net.
template <class Net>
constexpr std::size_t parameter_bytes() noexcept {
  return parameter_header_bytes + 4 * (Net::param_count + Net::width_fields);
}

// The header fields, as read by read_parameter_header().
struct ParameterHeader {
  std::uint16_t version = 0;
  DType dtype = DType::float32;
  std::uint32_t count = 0;
  std::uint64_t signature = 0;
  std::uint32_t checksum = 0;
  std::uint32_t widths = 0;  // width fields after the parameters
};


// Checks magic, version and header size, and fills h; does not look at the
// payload.
inline ParamStatus read_parameter_header(const unsigned char* in, std::size_t size, ParameterHeader& h) noexcept {
  if (size < parameter_header_bytes) return ParamStatus::truncated;
  if (std::memcmp(in, "TAPR", 4) != 0) return ParamStatus::bad_magic;
  h.version = static_cast<std::uint16_t>(detail::get(in + 4, 2));
  if (h.version != parameter_format_version || detail::get(in + 6, 2) != parameter_header_bytes)
    return ParamStatus::unsupported_version;
  h.dtype = static_cast<DType>(in[8]);
  h.count = static_cast<std::uint32_t>(detail::get(in + 12, 4));
  h.signature = detail::get(in + 16, 8);
  h.checksum = static_cast<std::uint32_t>(detail::get(in + 24, 4));
  h.widths = static_cast<std::uint32_t>(detail::get(in + 28, 4));
  return ParamStatus::ok;
}

// Writes header + parameters of net to out[0, capacity); *written (if
// given) receives parameter_bytes<Net>() on success, 0 otherwise.
template <class Net>
ParamStatus save_parameters(const Net& net, unsigned char* out, std::size_t capacity,
                            std::size_t* written = nullptr) noexcept {
  if (written != nullptr) *written = 0;
  if (capacity < parameter_bytes<Net>()) return ParamStatus::buffer_too_small;
  const Span<const float> p = net.parameters();
  unsigned char* payload = out + parameter_header_bytes;
  for (std::size_t i = 0; i < Net::param_count; ++i) detail::put(payload + 4 * i, float_bits(p[i]), 4);
  if constexpr (Net::width_fields > 0) {
    std::uint32_t w[Net::width_fields];
    net.get_widths(w);
    for (std::size_t i = 0; i < Net::width_fields; ++i) detail::put(payload + 4 * (Net::param_count + i), w[i], 4);
  }
  std::memset(out, 0, parameter_header_bytes);
  std::memcpy(out, "TAPR", 4);
  detail::put(out + 4, parameter_format_version, 2);
  detail::put(out + 6, parameter_header_bytes, 2);
  out[8] = static_cast<unsigned char>(DType::float32);
  detail::put(out + 12, Net::param_count, 4);
  detail::put(out + 16, model_signature<Net>(), 8);
  detail::put(out + 24, detail::fnv1a32(payload, parameter_bytes<Net>() - parameter_header_bytes), 4);
  detail::put(out + 28, Net::width_fields, 4);
  if (written != nullptr) *written = parameter_bytes<Net>();
  return ParamStatus::ok;
}

// Replaces the parameters of net by those in in[0, size) when the header
// names Net's signature and every check passes; otherwise net is unchanged.
// A successful load marks the network initialised.
template <class Net>
ParamStatus load_parameters(Net& net, const unsigned char* in, std::size_t size) noexcept {
  ParameterHeader h;
  const ParamStatus s = read_parameter_header(in, size, h);
  if (s != ParamStatus::ok) return s;
  if (h.dtype != DType::float32) return ParamStatus::wrong_dtype;
  if (h.signature != model_signature<Net>()) return ParamStatus::signature_mismatch;
  if (h.count != Net::param_count) return ParamStatus::count_mismatch;
  if (h.widths != Net::width_fields) return ParamStatus::bad_widths;
  if (size < parameter_bytes<Net>()) return ParamStatus::truncated;
  const unsigned char* payload = in + parameter_header_bytes;
  if (detail::fnv1a32(payload, parameter_bytes<Net>() - parameter_header_bytes) != h.checksum)
    return ParamStatus::checksum_mismatch;
  for (std::size_t i = 0; i < Net::param_count; ++i)
    if (!is_finite(detail::float_at(payload + 4 * i))) return ParamStatus::non_finite_value;
  std::uint32_t w[Net::width_fields > 0 ? Net::width_fields : 1] = {};
  for (std::size_t i = 0; i < Net::width_fields; ++i) w[i] = detail::get32(payload + 4 * (Net::param_count + i));
  if (Net::check_widths(w) != Status::ok) return ParamStatus::bad_widths;
  const Span<float> p = net.parameters();
  for (std::size_t i = 0; i < Net::param_count; ++i) p[i] = detail::float_at(payload + 4 * i);
  if constexpr (Net::width_fields > 0) net.set_widths(w);
  return ParamStatus::ok;
}

}  // namespace io
}  // namespace tinyadapt
