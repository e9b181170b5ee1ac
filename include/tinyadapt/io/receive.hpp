// θ into a network that has no room for a second copy: two passes over the
// same bytes (a message in flash, a file, a buffer a radio fills twice).
//
// Pass 1 streams the message through a decoder without staging: every check,
// no write. Only a message it accepted is streamed again, into the network's
// parameters; pass 2 must end with the same CRC as pass 1. The network is
// therefore unchanged by any message pass 1 refuses. The one case left is a
// source that returns other bytes the second time: pass 2 then ends with an
// error (payload_corrupted, or the first check that fails) after writing,
// and the network holds a mix; such a source needs a staging copy instead
// (io/decoder.hpp), since no check can run before bytes that do not exist yet.
//
// Source: rewind() to the first byte, read(buf, capacity) -> bytes (0 at the end).
#pragma once
#include <cstddef>
#include <cstdint>

#include "decoder.hpp"
#include "model_message.hpp"

namespace tinyadapt {
namespace io {

// A message in memory (RAM or memory-mapped flash) as a Source.
struct BufferSource {
  const unsigned char* data = nullptr;
  std::size_t size = 0, at = 0;
  void rewind() noexcept { at = 0; }
  std::size_t read(unsigned char* buf, std::size_t capacity) noexcept {
    const std::size_t n = size - at < capacity ? size - at : capacity;
    for (std::size_t i = 0; i < n; ++i) buf[i] = data[at + i];
    at += n;
    return n;
  }
};

namespace detail {
template <class Source>
WireStatus stream_through(StreamDecoder& d, Source& src, unsigned char* chunk, std::size_t capacity) noexcept {
  src.rewind();
  for (;;) {
    const std::size_t n = src.read(chunk, capacity);
    if (n == 0) break;
    if (d.feed(chunk, n) != WireStatus::ok) break;
  }
  return d.finish();
}
}  // namespace detail

// θ (of the given round, if check_round) from src into net through chunk[0,
// capacity); a refused message leaves net bit-identical. *header (if given)
// receives the header of an accepted message.
template <class Net, class Source>
WireStatus receive_theta(Net& net, Source& src, unsigned char* chunk, std::size_t capacity, bool check_round = false,
                         std::uint32_t round = 0, MessageHeader* header = nullptr) noexcept {
  const Expect e = expect_for<Net>(kind_bit(PayloadKind::theta), check_round, round);
  StreamDecoder check(e);
  const WireStatus s = detail::stream_through(check, src, chunk, capacity);
  if (s != WireStatus::ok) return s;
  StreamDecoder into(e, net.parameters());
  const WireStatus t = detail::stream_through(into, src, chunk, capacity);
  if (t != WireStatus::ok) return t;
  if (into.crc() != check.crc()) return WireStatus::payload_corrupted;
  if (header != nullptr) *header = into.header();
  return WireStatus::ok;
}

}  // namespace io
}  // namespace tinyadapt
