// Streaming decoder of wire messages (io/message.hpp): bytes in chunks of
// any size, every check on the way, the values into a caller's staging
// buffer as they arrive. Memory: the object (about 130 bytes).
//
// The rule that keeps a refused message from changing weights: a decoder
// writes only to its staging span, and a staging span is never the weights
// in use. finish() == ok is the only signal that the staging holds a whole,
// valid message; then the caller hands it on (meta::Server::add/add_delta,
// io/to_server.hpp, or a copy into the network). Where a second copy does
// not fit (a device receiving θ), decode in two passes over the same bytes
// (io/receive.hpp): a first pass with no staging checks everything, and only
// a message it accepted is decoded into the network.
//
//   io::StreamDecoder dec(io::expect_for<Net>(io::update_kinds, round), staging);
//   while (n = receive(rx, sizeof rx)) if (dec.feed(rx, n) != io::WireStatus::ok) break;
//   if (dec.finish() == io::WireStatus::ok) server.add(staging, dec.header().samples);
//
// After the first error every call returns it (the rest of the bytes are
// ignored). decode_message() is the whole-buffer form and leaves its
// destination unchanged on any error.
#pragma once
#include <cfloat>
#include <cstddef>
#include <cstdint>

#include "../core/finite.hpp"
#include "../core/span.hpp"
#include "fp16.hpp"
#include "message.hpp"

namespace tinyadapt {
namespace io {

// Largest int8 scale: 127 s stays finite.
inline constexpr float max_int8_scale = FLT_MAX / 127.0f;

class StreamDecoder {
 public:
  explicit StreamDecoder(const Expect& expect = {}, Span<float> staging = {}) noexcept
      : expect_(expect), staging_(staging) {}

  // Takes the next n bytes; ok while nothing failed so far.
  WireStatus feed(const unsigned char* p, std::size_t n) noexcept {
    while (n > 0 && status_ == WireStatus::ok) {
      if (phase_ == Phase::done) return fail(WireStatus::oversized);
      if (have_ == 0 && n >= need_) {  // whole units in the chunk: no copy
        std::size_t used = need_;  // before unit() sets the next unit's size
        if (dense()) used = dense_run(p, n / need_);
        else unit(p);
        consumed_ += used;
        p += used, n -= used;
        continue;
      }
      std::size_t k = need_ - have_;
      if (k > n) k = n;
      for (std::size_t i = 0; i < k; ++i) buf_[have_ + i] = p[i];
      have_ += k, p += k, n -= k, consumed_ += k;
      if (have_ == need_) {
        have_ = 0;
        unit(buf_);
      }
    }
    return status_;
  }

  // ok only for a whole, valid message with nothing after it.
  WireStatus finish() noexcept {
    if (status_ == WireStatus::ok && phase_ != Phase::done) status_ = WireStatus::truncated;
    return status_;
  }

  WireStatus status() const noexcept { return status_; }
  bool header_ready() const noexcept { return have_header_; }  // header() valid (even if the payload fails later)
  bool done() const noexcept { return phase_ == Phase::done && status_ == WireStatus::ok; }
  const MessageHeader& header() const noexcept { return header_; }
  std::uint32_t crc() const noexcept { return crc_.value(); }  // of header and payload (the trailer once done)
  std::size_t consumed() const noexcept { return consumed_; }

 private:
  enum class Phase : std::uint8_t { header, group, element, trailer, done };

  WireStatus fail(WireStatus s) noexcept { return status_ = s; }
  void expect_unit(Phase p, std::size_t bytes) noexcept { phase_ = p, need_ = bytes; }

  void unit(const unsigned char* u) noexcept {
    if (dense()) {
      dense_run(u, 1);
      return;
    }
    if (phase_ != Phase::trailer) crc_.update(u, need_);
    switch (phase_) {
      case Phase::header: return on_header(u);
      case Phase::group: return on_group(u);
      case Phase::element: return on_element(u);
      case Phase::trailer: return on_trailer(u);
      case Phase::done: return;
    }
  }

  void on_header(const unsigned char* u) noexcept {
    MessageHeader h;
    WireStatus s = parse_header(u, h);
    if (s == WireStatus::ok) s = check_expected(h, expect_);
    if (s == WireStatus::ok && !staging_.empty() && staging_.size() != h.elements) s = WireStatus::size_mismatch;
    if (s != WireStatus::ok) {
      fail(s);
      return;
    }
    header_ = h;
    have_header_ = true;
    next_payload_unit();
  }

  // After the header, a group or an element: what comes next.
  void next_payload_unit() noexcept {
    switch (header_.encoding) {
      case Encoding::float32: return header_.elements > index_ ? expect_unit(Phase::element, 4) : trailer();
      case Encoding::fp16: return header_.elements > index_ ? expect_unit(Phase::element, 2) : trailer();
      case Encoding::sparse: return header_.entries > entries_ ? expect_unit(Phase::element, 8) : trailer();
      case Encoding::int8_layer:
        if (group_left_ > 0) return expect_unit(Phase::element, 1);
        return group_ < header_.groups ? expect_unit(Phase::group, 8) : trailer();
    }
  }
  void trailer() noexcept { expect_unit(Phase::trailer, message_trailer_bytes); }

  void on_group(const unsigned char* u) noexcept {
    const std::uint32_t count = detail::get32(u);
    const std::uint32_t left = header_.elements - index_;
    const bool last = group_ + 1u == header_.groups;
    if (count == 0 || (last ? count != left : count >= left) ||
        (expect_.groups.count != 0 && count != expect_.groups.sizes[group_])) {
      fail(WireStatus::bad_group);
      return;
    }
    const std::uint32_t bits = detail::get32(u + 4);
    scale_ = detail::float_from_bits(bits);
    if ((bits & 0x80000000u) != 0 || !is_finite(scale_) || scale_ > max_int8_scale) {
      fail(WireStatus::bad_scale);
      return;
    }
    ++group_;
    group_left_ = count;
    expect_unit(Phase::element, 1);
  }

  // A float32, fp16 or int8 element is next (fixed size, no per-entry header).
  bool dense() const noexcept { return phase_ == Phase::element && header_.encoding != Encoding::sparse; }

  // Up to `units` dense elements at u, within the current run (the message's
  // elements, or the int8 group's): one CRC update, one tight loop. Returns
  // the bytes used (up to and including a refused element).
  std::size_t dense_run(const unsigned char* u, std::size_t units) noexcept {
    const bool int8 = header_.encoding == Encoding::int8_layer;
    const std::uint32_t left = int8 ? group_left_ : header_.elements - index_;
    const auto k = static_cast<std::uint32_t>(units < left ? units : left);
    const std::size_t size = need_;
    crc_.update(u, k * size);
    float* dst = staging_.empty() ? nullptr : staging_.data() + index_;
    for (std::uint32_t i = 0; i < k; ++i, u += size) {
      float v;
      if (!dense_value(u, v)) {
        fail(WireStatus::bad_value);
        return (i + 1) * size;
      }
      if (dst != nullptr) dst[i] = v;
    }
    index_ += k;
    if (int8) group_left_ -= k;
    next_payload_unit();
    return k * size;
  }
  // False for NaN/Inf (float32, fp16) and int8 -128.
  bool dense_value(const unsigned char* u, float& v) const noexcept {
    switch (header_.encoding) {
      case Encoding::float32: v = detail::float_at(u); return is_finite(v);
      case Encoding::fp16: {
        const auto h = static_cast<std::uint16_t>(detail::get(u, 2));
        v = from_fp16(h);
        return fp16_finite(h);
      }
      case Encoding::int8_layer: {
        const auto q = static_cast<std::int8_t>(u[0]);
        v = static_cast<float>(q) * scale_;  // finite: scale_ <= FLT_MAX / 127
        return q != -128;
      }
      case Encoding::sparse: break;
    }
    return false;
  }

  // A sparse entry: index strictly above the previous one and < N, finite value.
  void on_element(const unsigned char* u) noexcept {
    const std::uint32_t at = detail::get32(u);
    if (at >= header_.elements || at < index_) {  // index_ is one past the previous entry
      fail(WireStatus::bad_index);
      return;
    }
    const float v = detail::float_at(u + 4);
    if (!is_finite(v)) {
      fail(WireStatus::bad_value);
      return;
    }
    if (!staging_.empty()) {
      for (std::uint32_t i = index_; i < at; ++i) staging_[i] = 0.0f;  // the gap is zero
      staging_[at] = v;
    }
    ++entries_;
    index_ = at + 1;
    next_payload_unit();
  }

  void on_trailer(const unsigned char* u) noexcept {
    if (detail::get32(u) != crc_.value()) {
      fail(WireStatus::payload_corrupted);
      return;
    }
    if (!staging_.empty())
      for (std::uint32_t i = index_; i < header_.elements; ++i) staging_[i] = 0.0f;  // sparse: the tail
    phase_ = Phase::done;
  }

  Expect expect_;
  Span<float> staging_;
  MessageHeader header_;
  Crc32 crc_;
  unsigned char buf_[message_header_bytes] = {};
  std::size_t have_ = 0, need_ = message_header_bytes, consumed_ = 0;
  Phase phase_ = Phase::header;
  WireStatus status_ = WireStatus::ok;
  bool have_header_ = false;
  std::uint32_t index_ = 0, entries_ = 0, group_ = 0, group_left_ = 0;
  float scale_ = 0.0f;
};

// Checks a whole message without writing anything; *header (if given) is
// filled once the header passed.
inline WireStatus check_message(const unsigned char* msg, std::size_t size, const Expect& expect,
                                MessageHeader* header = nullptr) noexcept {
  StreamDecoder d(expect);
  d.feed(msg, size);
  const WireStatus s = d.finish();
  if (header != nullptr && d.header_ready()) *header = d.header();
  return s;
}

// Decodes a whole message into dst (its element count long) after a first
// pass has checked it: on any error dst is unchanged.
inline WireStatus decode_message(const unsigned char* msg, std::size_t size, const Expect& expect, Span<float> dst,
                                 MessageHeader* header = nullptr) noexcept {
  const WireStatus s = check_message(msg, size, expect, header);
  if (s != WireStatus::ok) return s;
  if (dst.empty()) return WireStatus::size_mismatch;
  StreamDecoder d(expect, dst);
  d.feed(msg, size);
  return d.finish();
}

}  // namespace io
}  // namespace tinyadapt
