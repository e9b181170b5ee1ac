// libFuzzer target for the wire message decoder (io/decoder.hpp, io/receive.hpp):
//
//   a refused message leaves the destination bit-identical (whole-buffer
//   decode, and θ received into a network in two passes); an accepted one
//   decodes to N finite values; the streaming decoder gives the same verdict
//   and values for any chunk size; the model-free view (Expect{}, as the
//   tinyadapt_msg tool) accepts whatever the model's view accepts; an accepted
//   float32 or fp16 message re-encodes to the same bytes.
//
// The same input is also the content of a two-slot flash checkpoint region
// (io/flash_checkpoint.hpp): load() either restores a checkpoint of finite
// values or refuses with the network bit-identical.
//
// Input: one control byte, then the message. Control bit 0: recompute both
// CRC-32s before decoding (so mutations reach the checks behind the CRCs:
// counts, groups, scales, indices, values); bits 1-7: the chunk size - 1.
// Every violation prints what broke and traps. The seeds
// (tests/fuzz/message_corpus/) are valid messages of every kind and encoding,
// written by tests/io/make_message_corpus.cpp.
#include <tinyadapt/io/decoder.hpp>
#include <tinyadapt/io/encoder.hpp>
#include <tinyadapt/io/flash_checkpoint.hpp>
#include <tinyadapt/io/model_message.hpp>
#include <tinyadapt/io/receive.hpp>
#include <tinyadapt/tinyadapt.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace ta = tinyadapt;
namespace io = tinyadapt::io;

namespace {

// The model of the seed corpus (tests/io/make_message_corpus.cpp): two int8 groups.
using Net = ta::Sequential<ta::Input<4, 4, 1>, ta::Conv2D<2, 3>, ta::ReLU, ta::Flatten, ta::Dense<3>>;
constexpr std::size_t N = Net::param_count;

unsigned long long runs = 0, accepted = 0;
void print_counters() { std::fprintf(stderr, "fuzz_message: %llu messages, %llu accepted\n", runs, accepted); }

[[noreturn]] void broken(const char* what, io::WireStatus s) {
  std::fprintf(stderr, "fuzz_message: %s (status: %s)\n", what, io::to_string(s));
  __builtin_trap();
}

void fill_pattern(float* v) {
  for (std::size_t i = 0; i < N; ++i) v[i] = static_cast<float>(i) * 0.5f - 3.0f;
}

// The fuzz input as flash: slot 0 from the first byte, slot 1 after it; the rest reads as erased.
constexpr std::size_t slot = io::checkpoint_slot_bytes<Net>();
struct InputFlash {
  const unsigned char* data;
  std::size_t size;
  bool erase(std::size_t, std::size_t) { return false; }
  bool program(std::size_t, const unsigned char*, std::size_t) { return false; }
  bool read(std::size_t at, unsigned char* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) p[i] = at + i < size ? data[at + i] : 0xFF;
    return at + n <= 2 * slot;
  }
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::atexit(print_counters);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1 || size > 8192) return 0;
  ++runs;
  static unsigned char msg[8192];
  const std::size_t n = size - 1;
  if (n > 0) std::memcpy(msg, data + 1, n);
  if ((data[0] & 1u) != 0 && n >= io::message_header_bytes + io::message_trailer_bytes) {
    io::detail::put(msg + 44, io::crc32(msg, 44), 4);
    io::detail::put(msg + n - 4, io::crc32(msg, n - 4), 4);
  }
  const std::size_t chunk = 1 + (data[0] >> 1);
  const io::Expect expect = io::expect_for<Net>(io::any_kind);

  // Whole-buffer decode: untouched on refusal, N finite values when accepted.
  float dst[N], pattern[N];
  fill_pattern(dst);
  fill_pattern(pattern);
  io::MessageHeader h;
  const io::WireStatus s = io::decode_message(msg, n, expect, ta::Span<float>(dst, N), &h);
  if (s != io::WireStatus::ok) {
    if (std::memcmp(dst, pattern, sizeof dst) != 0) broken("a refused message changed the destination", s);
  } else {
    ++accepted;
    if (h.elements != N || !ta::all_finite(dst, N)) broken("an accepted message is not N finite values", s);
  }

  // Streaming in chunks: the same verdict and values.
  float staged[N];
  io::StreamDecoder d(expect, ta::Span<float>(staged, N));
  for (std::size_t at = 0; at < n; at += chunk) d.feed(msg + at, n - at < chunk ? n - at : chunk);
  const io::WireStatus t = d.finish();
  if (t != s) broken("the chunked decoder disagrees with the whole-buffer decoder", t);
  if (s == io::WireStatus::ok && std::memcmp(staged, dst, sizeof dst) != 0) broken("chunked values differ", t);

  // The model-free view accepts what the model's view accepts.
  if (s == io::WireStatus::ok && io::check_message(msg, n, io::Expect{}) != io::WireStatus::ok)
    broken("the model-free check refuses an accepted message", s);

  // θ into a network in two passes: bit-identical on refusal.
  static Net net;
  fill_pattern(net.parameters().data());
  io::BufferSource src{msg, n};
  unsigned char rx[64];
  const io::WireStatus r = io::receive_theta(net, src, rx, chunk < sizeof rx ? chunk : sizeof rx);
  const bool theta = s == io::WireStatus::ok && h.kind == io::PayloadKind::theta;
  if ((r == io::WireStatus::ok) != theta) broken("receive_theta disagrees with decode_message", r);
  if (r != io::WireStatus::ok && std::memcmp(net.parameters().data(), pattern, sizeof pattern) != 0)
    broken("a refused θ changed the network", r);

  // The input as a checkpoint region: a finite network, or refused and bit-identical.
  fill_pattern(net.parameters().data());
  InputFlash flash{msg, n};
  io::CheckpointRegion<InputFlash> region(flash, slot);
  const io::WireStatus c = region.load(net);
  if (c == io::WireStatus::ok && !ta::all_finite(net.parameters().data(), N)) broken("a checkpoint loaded non-finite", c);
  if (c != io::WireStatus::ok && (c != io::WireStatus::no_checkpoint ||
                                  std::memcmp(net.parameters().data(), pattern, sizeof pattern) != 0))
    broken("a refused checkpoint changed the network (or an unexpected status)", c);

  // Exact encodings re-encode to the same bytes.
  if (s == io::WireStatus::ok && (h.encoding == io::Encoding::float32 || h.encoding == io::Encoding::fp16)) {
    io::MessageInfo info{h.kind, h.encoding, h.signature, h.round, h.device, h.samples, 0};
    static unsigned char again[8192];
    std::size_t written = 0;
    const io::WireStatus e = io::encode_message(info, ta::Span<const float>(dst, N), {}, again, sizeof again, &written);
    if (e != io::WireStatus::ok || written != n || std::memcmp(again, msg, n) != 0)
      broken("an accepted exact message does not re-encode to its bytes", e);
  }
  return 0;
}
