// A device's checkpoint of its network in a flash-like region of two slots,
// so that a power cut at any moment leaves the previous checkpoint loadable.
//
// A slot holds a 16-byte commit record, then a θ wire message (float32,
// io/message.hpp: signature, counts, CRC-32):
//
//   offset  size  field
//        0     4  magic "TACK"
//        4     4  sequence number (1, 2, ..., 2^32 - 1, then 1 again; never 0)
//        8     4  message bytes M
//       12     4  CRC-32 of bytes 0..11
//       16     M  the message (round id = the caller's round)
//
// A network with growable layers (nn/growable*.hpp) keeps its active widths
// too, or a reloaded network would be another function: between record and
// message, W = Net::width_fields u32 (Sequential::get_widths) and a CRC-32 of
// them, so the message starts at 16 + 4 W + 4. A slot whose widths fail
// their CRC or Net::check_widths is refused like a bad message.
//
// Sequences compare as serial numbers (RFC 1982): b is newer than a when
// b - a, modulo 2^32, is below 2^31, so a save is newer than the checkpoint
// it follows however large that one's number was (a forged 0xFFFFFFFF
// included); slots 2^31 apart tie, and a tie goes to slot 0.
//
// save() writes the slot that does not hold the newest valid checkpoint:
// erase, program the message in chunks, read it back and check it, and only
// then program the commit record. Until that last write the other slot is
// the checkpoint; a torn record fails its CRC. load() takes the newest slot
// whose record and message pass every check, the other one if it does not,
// and decodes it into the network in two passes over the flash
// (io/receive.hpp): a refused slot leaves the network bit-identical.
//
// Flash: erase(offset, n) (to 0xFF), program(offset, bytes, n), read(offset,
// bytes, n), each returning false on a hardware error. No heap; stack: a
// 64-byte chunk.
#pragma once
#include <cstddef>
#include <cstdint>

#include "../core/status.hpp"
#include "decoder.hpp"
#include "encoder.hpp"
#include "model_message.hpp"
#include "receive.hpp"

namespace tinyadapt {
namespace io {

inline constexpr std::size_t checkpoint_record_bytes = 16;

// The sequence after s (0 is skipped: it means "none").
constexpr std::uint32_t next_sequence(std::uint32_t s) noexcept { return s == 0xFFFFFFFFu ? 1u : s + 1u; }
// b is a later sequence than a (serial-number order; 2^31 apart: neither).
constexpr bool later_sequence(std::uint32_t b, std::uint32_t a) noexcept {
  const std::uint32_t d = b - a;
  return d != 0 && d < 0x80000000u;
}

// Bytes of Net's widths block (0 for a network without growable layers).
template <class Net>
constexpr std::size_t checkpoint_widths_bytes() noexcept {
  return Net::width_fields > 0 ? 4 * Net::width_fields + 4 : 0;
}

// Slot size for Net: record + widths + float32 θ message.
template <class Net>
constexpr std::size_t checkpoint_slot_bytes() noexcept {
  return checkpoint_record_bytes + checkpoint_widths_bytes<Net>() + message_header_bytes + 4 * Net::param_count +
         message_trailer_bytes;
}

struct CheckpointInfo {
  std::uint32_t sequence = 0;  // 0: none
  std::uint32_t round = 0;
  std::uint32_t slot = 0;
};

template <class Flash>
class CheckpointRegion {
 public:
  static constexpr std::size_t chunk_bytes = 64;

  // Slots at offsets 0 and slot_bytes.
  CheckpointRegion(Flash& flash, std::size_t slot_bytes) noexcept : flash_(flash), slot_bytes_(slot_bytes) {}

  // The newest valid checkpoint for Net (sequence 0 if none); reads only.
  template <class Net>
  CheckpointInfo newest() const noexcept {
    CheckpointInfo c[2];
    WireStatus s[2];
    for (std::uint32_t i = 0; i < 2; ++i) s[i] = check_slot<Net>(i, c[i]);
    if (s[0] != WireStatus::ok && s[1] != WireStatus::ok) return CheckpointInfo{};
    return c[newer_slot(s, c)];
  }

  template <class Net>
  WireStatus save(const Net& net, std::uint32_t round, CheckpointInfo* saved = nullptr) noexcept {
    if (slot_bytes_ < checkpoint_slot_bytes<Net>()) return WireStatus::buffer_too_small;
    const CheckpointInfo last = newest<Net>();
    const std::uint32_t slot = last.sequence == 0 ? 0u : 1u - last.slot;
    const std::size_t base = slot * slot_bytes_;
    MessageEncoder enc;
    const WireStatus s = enc.begin(info_for<Net>(PayloadKind::theta, Encoding::float32, round, 0, 0), net.parameters());
    if (s != WireStatus::ok) return s;
    if (!flash_.erase(base, slot_bytes_)) return WireStatus::storage_error;
    if constexpr (Net::width_fields > 0) {
      unsigned char w[checkpoint_widths_bytes<Net>()];
      std::uint32_t v[Net::width_fields];
      net.get_widths(v);
      for (std::size_t i = 0; i < Net::width_fields; ++i) detail::put32(w + 4 * i, v[i]);
      detail::put32(w + 4 * Net::width_fields, crc32(w, 4 * Net::width_fields));
      if (!flash_.program(base + checkpoint_record_bytes, w, sizeof w)) return WireStatus::storage_error;
    }
    unsigned char chunk[chunk_bytes];
    constexpr std::size_t message_at = checkpoint_record_bytes + checkpoint_widths_bytes<Net>();
    std::size_t at = base + message_at;
    while (const std::size_t n = enc.read(chunk, sizeof chunk)) {
      if (!flash_.program(at, chunk, n)) return WireStatus::storage_error;
      at += n;
    }
    // Read back before committing: flash that did not take the bytes is refused here.
    const auto bytes = static_cast<std::uint32_t>(enc.message_bytes());
    CheckpointInfo c;
    std::uint32_t back_widths[Net::width_fields > 0 ? Net::width_fields : 1];
    WireStatus back = check_widths_at<Net>(base, back_widths);
    if (back == WireStatus::ok) back = check_message_at<Net>(base + message_at, bytes, c);
    if (back != WireStatus::ok) return back == WireStatus::storage_error ? back : WireStatus::storage_error;
    c.sequence = next_sequence(last.sequence);
    c.slot = slot;
    unsigned char record[checkpoint_record_bytes];
    record[0] = 'T', record[1] = 'A', record[2] = 'C', record[3] = 'K';
    detail::put32(record + 4, c.sequence);
    detail::put32(record + 8, bytes);
    detail::put32(record + 12, crc32(record, 12));
    if (!flash_.program(base, record, sizeof record)) return WireStatus::storage_error;
    if (newest<Net>().sequence != c.sequence) return WireStatus::storage_error;
    if (saved != nullptr) *saved = c;
    return WireStatus::ok;
  }

  // The newest valid checkpoint into net (the older slot if the newer one
  // fails any check); no_checkpoint, net unchanged, if neither passes.
  template <class Net>
  WireStatus load(Net& net, CheckpointInfo* loaded = nullptr) noexcept {
    CheckpointInfo c[2];
    WireStatus s[2];
    for (std::uint32_t i = 0; i < 2; ++i) s[i] = check_slot<Net>(i, c[i]);
    // The slot newest() names first, so save() keeps the slot that load() restored.
    const std::uint32_t first = newer_slot(s, c);
    for (const std::uint32_t i : {first, 1u - first}) {
      if (s[i] != WireStatus::ok) continue;
      // The widths again (a flash read may differ from check_slot's), checked before the network changes.
      std::uint32_t w[Net::width_fields > 0 ? Net::width_fields : 1];
      if (check_widths_at<Net>(i * slot_bytes_, w) != WireStatus::ok) continue;
      Source src{flash_, i * slot_bytes_ + checkpoint_record_bytes + checkpoint_widths_bytes<Net>(), message_bytes_[i]};
      unsigned char chunk[chunk_bytes];
      if (receive_theta(net, src, chunk, sizeof chunk, true, c[i].round) == WireStatus::ok) {
        if constexpr (Net::width_fields > 0) net.set_widths(w);  // checked: cannot fail
        if (loaded != nullptr) *loaded = c[i];
        return WireStatus::ok;
      }
    }
    return WireStatus::no_checkpoint;
  }

 private:
  // The slot's message as an io/receive.hpp Source (read errors end it: truncated).
  struct Source {
    Flash& flash;
    std::size_t base, size, at = 0;
    void rewind() noexcept { at = 0; }
    std::size_t read(unsigned char* buf, std::size_t capacity) noexcept {
      const std::size_t n = size - at < capacity ? size - at : capacity;
      if (n == 0 || !flash.read(base + at, buf, n)) return 0;
      at += n;
      return n;
    }
  };

  // Of two checked slots, the one holding the newest checkpoint: the valid one,
  // or the later sequence; slot 0 on a tie (only a corrupted or forged region
  // has one).
  static std::uint32_t newer_slot(const WireStatus (&s)[2], const CheckpointInfo (&c)[2]) noexcept {
    if (s[1] != WireStatus::ok) return 0;
    if (s[0] != WireStatus::ok) return 1;
    return later_sequence(c[1].sequence, c[0].sequence) ? 1u : 0u;
  }

  // The widths block of the slot at base into w: its CRC and Net::check_widths.
  template <class Net>
  WireStatus check_widths_at(std::size_t base, std::uint32_t* w) const noexcept {
    if constexpr (Net::width_fields == 0) {
      (void)base, (void)w;
      return WireStatus::ok;
    } else {
      unsigned char b[checkpoint_widths_bytes<Net>()];
      if (!flash_.read(base + checkpoint_record_bytes, b, sizeof b)) return WireStatus::storage_error;
      if (crc32(b, 4 * Net::width_fields) != detail::get32(b + 4 * Net::width_fields))
        return WireStatus::header_corrupted;
      for (std::size_t i = 0; i < Net::width_fields; ++i) w[i] = detail::get32(b + 4 * i);
      return Net::check_widths(w) == Status::ok ? WireStatus::ok : WireStatus::inconsistent_counts;
    }
  }

  template <class Net>
  WireStatus check_message_at(std::size_t offset, std::uint32_t bytes, CheckpointInfo& c) const noexcept {
    if (bytes != checkpoint_slot_bytes<Net>() - checkpoint_record_bytes - checkpoint_widths_bytes<Net>())
      return WireStatus::count_mismatch;
    Source src{flash_, offset, bytes};
    StreamDecoder d(expect_for<Net>(kind_bit(PayloadKind::theta)));
    const WireStatus s = detail::stream_through(d, src, chunk_, sizeof chunk_);
    if (s == WireStatus::ok) c.round = d.header().round;
    return s;
  }

  template <class Net>
  WireStatus check_slot(std::uint32_t slot, CheckpointInfo& c) const noexcept {
    unsigned char record[checkpoint_record_bytes];
    const std::size_t base = slot * slot_bytes_;
    if (slot_bytes_ < checkpoint_slot_bytes<Net>()) return WireStatus::buffer_too_small;
    if (!flash_.read(base, record, sizeof record)) return WireStatus::storage_error;
    if (record[0] != 'T' || record[1] != 'A' || record[2] != 'C' || record[3] != 'K') return WireStatus::bad_magic;
    if (crc32(record, 12) != detail::get32(record + 12)) return WireStatus::header_corrupted;
    c.sequence = detail::get32(record + 4);
    c.slot = slot;
    message_bytes_[slot] = detail::get32(record + 8);
    if (c.sequence == 0) return WireStatus::inconsistent_counts;
    std::uint32_t w[Net::width_fields > 0 ? Net::width_fields : 1];
    const WireStatus ws = check_widths_at<Net>(base, w);
    if (ws != WireStatus::ok) return ws;
    return check_message_at<Net>(base + checkpoint_record_bytes + checkpoint_widths_bytes<Net>(), message_bytes_[slot], c);
  }

  Flash& flash_;
  std::size_t slot_bytes_;
  mutable std::uint32_t message_bytes_[2] = {0, 0};
  mutable unsigned char chunk_[chunk_bytes] = {};
};

}  // namespace io
}  // namespace tinyadapt
