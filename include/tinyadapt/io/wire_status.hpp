// Why a wire message (io/message.hpp) was refused or could not be made.
// Decoding errors name the first check that failed; a refused message
// changes nothing the caller owns (see decoder.hpp for the staging rule).
#pragma once
#include <cstdint>

namespace tinyadapt {
namespace io {

enum class WireStatus : std::uint8_t {
  ok = 0,
  // the bytes
  truncated,            // the message ended before its last byte
  oversized,            // bytes after the message's end, or longer than the receiver accepts
  bad_magic,            // not a tinyadapt wire message
  unsupported_version,  // a format version or header size this build does not read
  header_corrupted,     // the header's own CRC-32 does not match
  bad_kind,             // unknown payload kind
  bad_encoding,         // unknown encoding, or sparse for θ/φ (sparse is for deltas)
  inconsistent_counts,  // entry, group or payload byte counts disagree with each other
  bad_sample_count,     // θ with samples, or φ/Δ with none
  payload_corrupted,    // the message's CRC-32 does not match
  bad_value,            // NaN/Inf (float32, fp16, sparse value) or int8 -128
  bad_scale,            // an int8 layer scale that is negative, NaN/Inf or too large
  bad_group,            // int8 layer groups that are empty or do not add up (or not the model's layers)
  bad_index,            // sparse index out of range or not strictly increasing
  // the receiver's expectations
  wrong_kind,           // a kind this receiver does not take (e.g. φ where θ was expected)
  signature_mismatch,   // made for another model
  count_mismatch,       // another parameter count than the model's
  wrong_round,          // another round than the one in progress
  // the caller
  size_mismatch,        // a staging or value buffer of the wrong size
  buffer_too_small,     // an output buffer too small for the message
  non_finite_input,     // encode: NaN/Inf among the values
  fp16_overflow,        // encode: |value| > 65504 after rounding (fp16 has no such number)
  bad_argument,         // encode: an unknown kind/encoding, sparse count > elements, groups that do not add up
  // checkpoints (io/flash_checkpoint.hpp, io/checkpoint_file.hpp)
  no_checkpoint,        // no slot or file holds a valid checkpoint
  storage_error,        // the flash or the file system refused a read, write, erase, sync or rename
};

constexpr const char* to_string(WireStatus s) noexcept {
  switch (s) {
    case WireStatus::ok: return "ok";
    case WireStatus::truncated: return "message truncated";
    case WireStatus::oversized: return "message longer than its header says, or than accepted";
    case WireStatus::bad_magic: return "not a tinyadapt message (bad magic)";
    case WireStatus::unsupported_version: return "unsupported message format version or header size";
    case WireStatus::header_corrupted: return "message header corrupted (header CRC-32 mismatch)";
    case WireStatus::bad_kind: return "unknown payload kind";
    case WireStatus::bad_encoding: return "unknown encoding, or an encoding the payload kind does not allow";
    case WireStatus::inconsistent_counts: return "header counts disagree (entries, groups, payload bytes)";
    case WireStatus::bad_sample_count: return "sample count not allowed for the payload kind";
    case WireStatus::payload_corrupted: return "message corrupted (CRC-32 mismatch)";
    case WireStatus::bad_value: return "non-finite or out-of-range value in the payload";
    case WireStatus::bad_scale: return "int8 layer scale negative, non-finite or too large";
    case WireStatus::bad_group: return "int8 layer groups empty, not adding up, or not the model's layers";
    case WireStatus::bad_index: return "sparse index out of range or not strictly increasing";
    case WireStatus::wrong_kind: return "payload kind not expected here";
    case WireStatus::signature_mismatch: return "message for another model (signature mismatch)";
    case WireStatus::count_mismatch: return "element count does not match the model";
    case WireStatus::wrong_round: return "message of another round";
    case WireStatus::size_mismatch: return "buffer size does not match the element count";
    case WireStatus::buffer_too_small: return "output buffer too small for the message";
    case WireStatus::non_finite_input: return "non-finite value to encode";
    case WireStatus::fp16_overflow: return "value beyond the fp16 range";
    case WireStatus::bad_argument: return "bad encoder argument (kind, encoding, sparse count or groups)";
    case WireStatus::no_checkpoint: return "no valid checkpoint";
    case WireStatus::storage_error: return "storage error (read, write, erase, sync or rename failed)";
  }
  return "unknown wire status";
}

}  // namespace io
}  // namespace tinyadapt
