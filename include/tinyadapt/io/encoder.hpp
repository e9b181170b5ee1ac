// Streaming encoder of wire messages (io/message.hpp): the bytes are made
// from the caller's flat values as they are read, in chunks of any size, so a
// device sends φ or Δ straight from its parameter buffer through a small TX
// buffer. Memory: the object (about 100 bytes); no copy of the values.
//
//   io::MessageEncoder enc;
//   if (enc.begin(io::info_for<Net>(io::PayloadKind::phi, io::Encoding::int8_layer, round, id, k),
//                 net.parameters(), io::groups_of<Net>()) != io::WireStatus::ok) ...
//   unsigned char tx[256];
//   while (std::size_t n = enc.read(tx, sizeof tx)) send(tx, n);
//
// begin() checks every value first (finite; within fp16's range for fp16)
// and picks the sparse entries, so a message that starts is always whole.
// The values must not change until the last byte is read.
#pragma once
#include <cfloat>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "../core/finite.hpp"
#include "../core/span.hpp"
#include "fp16.hpp"
#include "message.hpp"

namespace tinyadapt {
namespace io {

// The fields a sender chooses; counts and CRCs follow from the values.
struct MessageInfo {
  PayloadKind kind = PayloadKind::theta;
  Encoding encoding = Encoding::float32;
  std::uint64_t signature = 0;
  std::uint32_t round = 0;
  std::uint32_t device = 0;
  std::uint32_t samples = 0;         // 0 for θ, >= 1 for φ and Δ
  std::uint32_t sparse_entries = 0;  // sparse: how many of the largest |values| are sent
};

// Entries of a top-P % sparse message over n elements: ceil(n P / 100).
inline std::uint32_t sparse_entries_for(std::uint32_t n, float percent) noexcept {
  if (!(percent > 0.0f)) return 0;
  if (!(percent < 100.0f)) return n;
  const double k = static_cast<double>(n) * static_cast<double>(percent) / 100.0;
  const auto whole = static_cast<std::uint32_t>(k);
  return whole + (static_cast<double>(whole) < k ? 1u : 0u);
}

namespace detail {
inline std::uint32_t abs_bits(float v) noexcept { return float_bits(v) & 0x7fffffffu; }

// The k-th largest |v| (as bits, which order like |v| for finite values) by
// bisection on the bits, and how many elements equal to it are taken (the
// first ones in index order): exactly k elements, no memory, 31 passes.
inline void top_threshold(const float* v, std::size_t n, std::uint32_t k, std::uint32_t& bits,
                          std::uint32_t& ties) noexcept {
  if (k == 0) {
    bits = 0xFFFFFFFFu, ties = 0;
    return;
  }
  auto at_least = [&](std::uint32_t t) {
    std::size_t c = 0;
    for (std::size_t i = 0; i < n; ++i) c += abs_bits(v[i]) >= t ? 1u : 0u;
    return c;
  };
  std::uint32_t lo = 0, hi = 0x7F7FFFFFu;  // at_least(lo) >= k holds throughout
  while (lo < hi) {
    const std::uint32_t mid = lo + (hi - lo + 1) / 2;
    if (at_least(mid) >= k) lo = mid;
    else hi = mid - 1;
  }
  bits = lo;
  ties = k - static_cast<std::uint32_t>(lo == 0x7F7FFFFFu ? 0 : at_least(lo + 1));
}

// q = round(v / s) within [-127, 127] (v / s is within 127 (1 + 2^-23) by the choice of s).
inline std::int32_t quantise(float v, float s) noexcept {
  const float r = v / s;
  auto q = static_cast<std::int32_t>(r + (r >= 0.0f ? 0.5f : -0.5f));
  return q > 127 ? 127 : (q < -127 ? -127 : q);
}

// Scale of an int8 group: max |v| / 127, at least FLT_MIN (a subnormal scale
// would lose the bound |v - q s| <= s / 2); 0 for an all-zero group.
inline float int8_scale(const float* v, std::size_t n) noexcept {
  const float m = max_abs(v, n);
  const float s = m / 127.0f;
  return m > 0.0f && s < FLT_MIN ? FLT_MIN : s;
}
}  // namespace detail

class MessageEncoder {
 public:
  // Checks the values and arguments and writes the header; nothing is read
  // out unless ok is returned.
  WireStatus begin(const MessageInfo& info, Span<const float> values, LayerGroups groups = {}) noexcept {
    phase_ = Phase::idle;
    const std::size_t n = values.size();
    if (n == 0 || n > 0x3FFFFFF0u) return WireStatus::size_mismatch;
    whole_ = static_cast<std::uint32_t>(n);
    MessageHeader h;
    h.kind = info.kind;
    h.encoding = info.encoding;
    h.signature = info.signature;
    h.round = info.round;
    h.device = info.device;
    h.samples = info.samples;
    h.elements = static_cast<std::uint32_t>(n);
    h.entries = info.encoding == Encoding::sparse ? info.sparse_entries : h.elements;
    if (info.encoding == Encoding::int8_layer) {
      if (groups.count == 0) groups = LayerGroups{&whole_, 1};  // one scale for all
      std::uint64_t sum = 0;
      for (std::size_t g = 0; g < groups.count; ++g) {
        if (groups.sizes[g] == 0) return WireStatus::bad_argument;
        sum += groups.sizes[g];
      }
      if (sum != n || groups.count > 0xFFFFu) return WireStatus::bad_argument;
      h.groups = static_cast<std::uint16_t>(groups.count);
    }
    h.payload_bytes = static_cast<std::uint32_t>(payload_bytes_for(h.encoding, h.elements, h.entries, h.groups));
    const WireStatus fields = check_header_fields(h);
    if (fields == WireStatus::bad_sample_count) return fields;
    if (fields != WireStatus::ok) return WireStatus::bad_argument;
    if (!all_finite(values.data(), n)) return WireStatus::non_finite_input;
    if (info.encoding == Encoding::fp16) {
      std::uint16_t unused = 0;
      for (std::size_t i = 0; i < n; ++i)
        if (!to_fp16(values[i], unused)) return WireStatus::fp16_overflow;
    }
    if (info.encoding == Encoding::sparse) detail::top_threshold(values.data(), n, h.entries, threshold_, ties_);
    values_ = values;
    groups_ = groups;
    header_ = h;
    write_header(header_, unit_);
    crc_ = Crc32{};
    start_unit(message_header_bytes, Phase::header);
    index_ = 0, group_ = 0, group_left_ = 0, sent_ = 0, emitted_ = 0;
    return WireStatus::ok;
  }

  // Copies up to capacity next bytes of the message to out; 0 when done.
  std::size_t read(unsigned char* out, std::size_t capacity) noexcept {
    std::size_t w = 0;
    while (w < capacity && phase_ != Phase::idle) {
      if (pos_ == len_ && dense_next()) {  // whole elements straight into out
        const std::size_t k = dense_run(out + w, capacity - w);
        w += k;
        if (k > 0) continue;
      }
      if (pos_ == len_ && !next_unit()) break;
      std::size_t k = len_ - pos_;
      if (k > capacity - w) k = capacity - w;
      std::memcpy(out + w, unit_ + pos_, k);
      pos_ += k, w += k;
    }
    emitted_ += w;
    return w;
  }

  bool done() const noexcept { return phase_ == Phase::idle; }
  const MessageHeader& header() const noexcept { return header_; }
  std::size_t message_bytes() const noexcept { return static_cast<std::size_t>(io::message_bytes(header_)); }
  std::size_t bytes_read() const noexcept { return emitted_; }

 private:
  enum class Phase : std::uint8_t { idle, header, payload, trailer };

  void start_unit(std::size_t len, Phase p) noexcept {
    if (p != Phase::trailer) crc_.update(unit_, len);
    len_ = len, pos_ = 0, phase_ = p;
  }
  // Makes the next unit (an element, a group header, the trailer); false at the end.
  bool next_unit() noexcept {
    if (phase_ == Phase::trailer) {
      phase_ = Phase::idle;
      return false;
    }
    const std::uint32_t n = header_.elements;
    switch (header_.encoding) {
      case Encoding::float32:
      case Encoding::fp16:
        if (index_ < n) return element(), true;
        break;
      case Encoding::int8_layer:
        if (group_left_ == 0 && group_ < groups_.count) {
          group_left_ = groups_.sizes[group_];
          scale_ = detail::int8_scale(values_.data() + index_, group_left_);
          detail::put(unit_, group_left_, 4);
          detail::put(unit_ + 4, float_bits(scale_), 4);
          ++group_;
          start_unit(8, Phase::payload);
          return true;
        }
        if (group_left_ > 0) return element(), true;
        break;
      case Encoding::sparse:
        while (sent_ < header_.entries && index_ < n) {
          const std::uint32_t a = detail::abs_bits(values_[index_]);
          bool take = a > threshold_;
          if (a == threshold_ && ties_ > 0) take = true, --ties_;
          if (take) {
            detail::put(unit_, index_, 4);
            detail::put(unit_ + 4, float_bits(values_[index_]), 4);
            ++sent_, ++index_;
            start_unit(8, Phase::payload);
            return true;
          }
          ++index_;
        }
        break;
    }
    detail::put(unit_, crc_.value(), 4);
    start_unit(4, Phase::trailer);
    return true;
  }
  // One dense element (float32, fp16, int8) as the next unit.
  void element() noexcept {
    const std::size_t size = dense_bytes();
    write_dense(unit_, 1);
    start_unit(size, Phase::payload);
  }
  std::size_t dense_bytes() const noexcept {
    return header_.encoding == Encoding::float32 ? 4 : header_.encoding == Encoding::fp16 ? 2 : 1;
  }
  // A float32, fp16 or int8 element is next (the int8 group header is out).
  bool dense_next() const noexcept {
    if (phase_ != Phase::header && phase_ != Phase::payload) return false;
    switch (header_.encoding) {
      case Encoding::float32:
      case Encoding::fp16: return index_ < header_.elements;
      case Encoding::int8_layer: return group_left_ > 0;
      case Encoding::sparse: break;
    }
    return false;
  }
  // As many whole dense elements as fit in room, within the run (the
  // message's elements, or the int8 group's), with one CRC update.
  std::size_t dense_run(unsigned char* out, std::size_t room) noexcept {
    const std::size_t size = dense_bytes();
    const bool int8 = header_.encoding == Encoding::int8_layer;
    const std::size_t left = int8 ? group_left_ : header_.elements - index_;
    std::size_t k = room / size;
    if (k > left) k = left;
    write_dense(out, k);
    crc_.update(out, k * size);
    return k * size;
  }
  // k elements from index_ on, advancing index_ (and the int8 group).
  void write_dense(unsigned char* out, std::size_t k) noexcept {
    const float* v = values_.data() + index_;
    switch (header_.encoding) {
      case Encoding::float32:
        for (std::size_t i = 0; i < k; ++i) detail::put32(out + 4 * i, float_bits(v[i]));
        break;
      case Encoding::fp16:
        for (std::size_t i = 0; i < k; ++i) {
          std::uint16_t h = 0;
          to_fp16(v[i], h);  // cannot fail: checked in begin()
          detail::put(out + 2 * i, h, 2);
        }
        break;
      case Encoding::int8_layer:
        for (std::size_t i = 0; i < k; ++i) {
          const std::int32_t q = scale_ > 0.0f ? detail::quantise(v[i], scale_) : 0;
          out[i] = static_cast<std::uint8_t>(static_cast<std::int8_t>(q));
        }
        group_left_ -= static_cast<std::uint32_t>(k);
        break;
      case Encoding::sparse: break;
    }
    index_ += static_cast<std::uint32_t>(k);
  }

  MessageHeader header_;
  Span<const float> values_;
  LayerGroups groups_;
  std::uint32_t whole_ = 0;  // the one group when the caller gives none
  Crc32 crc_;
  unsigned char unit_[message_header_bytes] = {};
  std::size_t len_ = 0, pos_ = 0, emitted_ = 0;
  Phase phase_ = Phase::idle;
  std::uint32_t index_ = 0, group_ = 0, group_left_ = 0, sent_ = 0;
  std::uint32_t threshold_ = 0, ties_ = 0;
  float scale_ = 0.0f;
};

// The whole message into out[0, capacity); *written receives its size (0 on error).
inline WireStatus encode_message(const MessageInfo& info, Span<const float> values, LayerGroups groups,
                                 unsigned char* out, std::size_t capacity, std::size_t* written = nullptr) noexcept {
  if (written != nullptr) *written = 0;
  MessageEncoder enc;
  const WireStatus s = enc.begin(info, values, groups);
  if (s != WireStatus::ok) return s;
  if (capacity < enc.message_bytes()) return WireStatus::buffer_too_small;
  const std::size_t n = enc.read(out, capacity);
  if (written != nullptr) *written = n;
  return WireStatus::ok;
}

}  // namespace io
}  // namespace tinyadapt
