// Wire messages (io/message.hpp, encoder.hpp, decoder.hpp, receive.hpp,
// to_server.hpp): fp16 against known values, round trips in every
// encoding with their error bounds, identical bytes and results for any
// chunk size, and every corruption refused with the destination (staging,
// network or server) bit-identical. Runs on the host and on the Cortex-M4.
#include <tinyadapt/io/crc32.hpp>
#include <tinyadapt/io/decoder.hpp>
#include <tinyadapt/io/encoder.hpp>
#include <tinyadapt/io/fp16.hpp>
#include <tinyadapt/io/model_message.hpp>
#include <tinyadapt/io/receive.hpp>
#include <tinyadapt/io/to_server.hpp>
#include <tinyadapt/tinyadapt.hpp>

#include <cfloat>
#include <cmath>
#include <cstring>

#include "support/test.hpp"

namespace ta = tinyadapt;
namespace io = tinyadapt::io;

namespace {

// Two parameter layers (two int8 groups): conv 2 x 9 + 2, dense 8 x 3 + 3.
using Net = ta::Sequential<ta::Input<4, 4, 1>, ta::Conv2D<2, 3>, ta::ReLU, ta::Flatten, ta::Dense<3>>;
constexpr std::size_t N = Net::param_count;
static_assert(N == 47 && io::groups_of<Net>().count == 2, "test model layout");
constexpr std::size_t cap = io::max_message_bytes<Net>();

constexpr io::Encoding encodings[] = {io::Encoding::float32, io::Encoding::int8_layer, io::Encoding::sparse,
                                      io::Encoding::fp16};

// Lots of bytes for many small buffers: static (the Cortex-M4 stack is small).
float values[N], out[N], guard[N], before[N];
unsigned char msg[cap + 8], bad[cap + 8], chunked[cap + 8];
Net net;

std::size_t n_written = 0;

void fill_values(std::uint64_t seed, float spread = 1.0f) {
  ta::Rng rng(seed);
  for (std::size_t i = 0; i < N; ++i) values[i] = spread * (2.0f * rng.uniform() - 1.0f);
}

io::MessageInfo info(io::Encoding e, std::uint32_t round = 3) {
  io::MessageInfo m = io::info_for<Net>(e == io::Encoding::sparse ? io::PayloadKind::delta : io::PayloadKind::phi, e,
                                        round, 17, 10);
  m.sparse_entries = io::sparse_entries_for(N, 20.0f);
  return m;
}

io::WireStatus encode(io::Encoding e, std::uint32_t round = 3) {
  return io::encode_message(info(e, round), ta::Span<const float>(values, N), io::groups_of<Net>(), msg, sizeof msg,
                            &n_written);
}

io::Expect expect(std::uint32_t round = 3) { return io::expect_for<Net>(io::update_kinds, true, round); }

// Header and payload CRCs recomputed: a forged message that only semantic checks can refuse.
void refresh_crcs(unsigned char* m, std::size_t size) {
  io::detail::put(m + 44, io::crc32(m, 44), 4);
  io::detail::put(m + size - 4, io::crc32(m, size - 4), 4);
}

// Decodes m (size bytes) into guard, which holds a known pattern first:
// the result, and whether guard still holds the pattern.
io::WireStatus decode_guarded(const unsigned char* m, std::size_t size, bool& untouched) {
  for (std::size_t i = 0; i < N; ++i) guard[i] = before[i] = static_cast<float>(i) + 0.25f;
  const io::WireStatus s = io::decode_message(m, size, expect(), ta::Span<float>(guard, N));
  untouched = std::memcmp(guard, before, sizeof guard) == 0;
  return s;
}

io::WireStatus decode_in_chunks(const unsigned char* m, std::size_t size, std::size_t chunk, float* dst) {
  io::StreamDecoder d(expect(), ta::Span<float>(dst, N));
  for (std::size_t at = 0; at < size; at += chunk) d.feed(m + at, size - at < chunk ? size - at : chunk);
  return d.finish();
}

float fp16_bound(float x) { return std::fabs(x) >= 6.103515625e-05f ? std::fabs(x) * 0x1p-11f : 0x1p-25f; }

}  // namespace

TEST_CASE("fp16: every finite fp16 round-trips; rounding is to nearest even; overflow refused") {
  std::size_t finite = 0, wrong = 0;
  for (std::uint32_t b = 0; b < 65536; ++b) {
    const auto h = static_cast<std::uint16_t>(b);
    std::uint16_t back = 0;
    if (!io::fp16_finite(h)) continue;
    ++finite;
    if (!io::to_fp16(io::from_fp16(h), back) || back != h) ++wrong;
  }
  CHECK(finite == 63488);
  CHECK(wrong == 0);
  std::uint16_t h = 0;
  CHECK(io::to_fp16(65504.0f, h));
  CHECK(h == 0x7BFF);
  CHECK(io::to_fp16(65519.99f, h));
  CHECK(h == 0x7BFF);
  CHECK_FALSE(io::to_fp16(65520.0f, h));
  CHECK_FALSE(io::to_fp16(-1e30f, h));
  CHECK_FALSE(io::to_fp16(NAN, h));
  CHECK(io::to_fp16(1.0f + 0x1p-11f, h));  // a tie: to even (1.0)
  CHECK(h == 0x3C00);
  CHECK(io::to_fp16(1.0f + 3 * 0x1p-11f, h));  // a tie: to even (1 + 2^-9)
  CHECK(h == 0x3C02);
  CHECK(io::to_fp16(0x1p-25f, h));  // half the smallest subnormal: to even (0)
  CHECK(h == 0);
  CHECK(io::to_fp16(0x1.000002p-25f, h));
  CHECK(h == 1);
  CHECK(io::to_fp16(-0x1.ffcp-15f, h));  // subnormal just below 2^-14 that rounds to the smallest normal
  CHECK(h == 0x8400);
  // Random floats: the nearest fp16, within the stated bound.
  ta::Rng rng(7);
  std::size_t worse = 0;
  for (int i = 0; i < 20000; ++i) {
    const float x = (2.0f * rng.uniform() - 1.0f) * std::ldexp(1.0f, static_cast<int>(rng.uniform() * 40.0f) - 26);
    if (!io::to_fp16(x, h)) continue;
    const float y = io::from_fp16(h);
    const float up = io::from_fp16(static_cast<std::uint16_t>(h + 1));
    const float err = std::fabs(y - x);
    if (err > fp16_bound(x) || (io::fp16_finite(static_cast<std::uint16_t>(h + 1)) && std::fabs(up - x) < err)) ++worse;
  }
  CHECK(worse == 0);
}

TEST_CASE("message: round trips in every encoding, with their bounds") {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    fill_values(seed, seed % 3 == 0 ? 1e-3f : 2.0f);
    values[seed % N] = 0.0f;
    for (const io::Encoding e : encodings) {
      REQUIRE(encode(e) == io::WireStatus::ok);
      io::MessageHeader h;
      REQUIRE(io::decode_message(msg, n_written, expect(), ta::Span<float>(out, N), &h) == io::WireStatus::ok);
      CHECK(h.encoding == e);
      CHECK(h.round == 3u);
      CHECK(h.device == 17u);
      CHECK(h.samples == 10u);
      CHECK(h.elements == N);
      CHECK(n_written == io::message_bytes(h));
      std::size_t fails = 0;
      if (e == io::Encoding::float32) fails += std::memcmp(out, values, sizeof out) != 0;
      if (e == io::Encoding::fp16)
        for (std::size_t i = 0; i < N; ++i) fails += std::fabs(out[i] - values[i]) > fp16_bound(values[i]);
      if (e == io::Encoding::int8_layer) {
        // |v - q s| <= s (1/2 + 2^-16), s = max |v| / 127 over the layer.
        std::size_t off = 0;
        for (std::size_t g = 0; g < io::groups_of<Net>().count; ++g) {
          const std::size_t n = io::groups_of<Net>().sizes[g];
          const float s = ta::max_abs(values + off, n) / 127.0f;
          for (std::size_t i = off; i < off + n; ++i) fails += std::fabs(out[i] - values[i]) > s * (0.5f + 0x1p-16f);
          off += n;
        }
      }
      if (e == io::Encoding::sparse) {
        // Exactly k values kept, bit for bit, and none dropped is larger than one kept.
        const std::uint32_t k = io::sparse_entries_for(N, 20.0f);
        CHECK(h.entries == k);
        std::size_t kept = 0;
        float smallest_kept = INFINITY, largest_dropped = 0.0f;
        for (std::size_t i = 0; i < N; ++i) {
          if (out[i] != 0.0f || values[i] == 0.0f) {
            fails += ta::float_bits(out[i]) != ta::float_bits(values[i]) && out[i] != 0.0f;
            if (out[i] != 0.0f) ++kept, smallest_kept = std::fmin(smallest_kept, std::fabs(values[i]));
          } else {
            largest_dropped = std::fmax(largest_dropped, std::fabs(values[i]));
          }
        }
        CHECK(kept == k);
        CHECK(largest_dropped <= smallest_kept);
      }
      CHECK(fails == 0);
    }
  }
}

TEST_CASE("message: sparse keeps exactly k with ties, in index order; all-zero and k = 0 and k = N") {
  for (std::size_t i = 0; i < N; ++i) values[i] = (i % 4 == 0) ? 1.0f : 0.5f;  // 12 ones, 35 halves
  io::MessageInfo m = info(io::Encoding::sparse);
  const std::uint32_t ks[] = {0, 5, 12, 13, 20, static_cast<std::uint32_t>(N)};
  for (const std::uint32_t k : ks) {
    m.sparse_entries = k;
    REQUIRE(io::encode_message(m, ta::Span<const float>(values, N), {}, msg, sizeof msg, &n_written) ==
            io::WireStatus::ok);
    REQUIRE(io::decode_message(msg, n_written, expect(), ta::Span<float>(out, N)) == io::WireStatus::ok);
    std::size_t kept = 0, ones = 0, first_halves = 0;
    for (std::size_t i = 0; i < N; ++i) {
      kept += out[i] != 0.0f;
      ones += out[i] == 1.0f;
      if (out[i] == 0.5f && first_halves == i - (i + 3) / 4) ++first_halves;  // halves taken from the start
    }
    CHECK(kept == k);
    CHECK(ones == (k < 12 ? k : 12));
    CHECK(first_halves == (k > 12 ? k - 12 : 0));
  }
  m.sparse_entries = N + 1;
  CHECK(io::encode_message(m, ta::Span<const float>(values, N), {}, msg, sizeof msg) == io::WireStatus::bad_argument);
}

TEST_CASE("message: any chunk size gives the same bytes and the same values") {
  fill_values(99);
  const std::size_t chunks[] = {1, 7, 64, 4096, cap};
  for (const io::Encoding e : encodings) {
    REQUIRE(encode(e) == io::WireStatus::ok);
    float whole[N];
    REQUIRE(decode_in_chunks(msg, n_written, n_written, whole) == io::WireStatus::ok);
    for (const std::size_t c : chunks) {
      io::MessageEncoder enc;
      REQUIRE(enc.begin(info(e), ta::Span<const float>(values, N), io::groups_of<Net>()) == io::WireStatus::ok);
      std::size_t at = 0;
      while (std::size_t n = enc.read(chunked + at, c)) at += n;
      CHECK(enc.done());
      CHECK(at == n_written);
      CHECK(std::memcmp(chunked, msg, n_written) == 0);
      CHECK(decode_in_chunks(msg, n_written, c, out) == io::WireStatus::ok);
      CHECK(std::memcmp(out, whole, sizeof out) == 0);
    }
  }
}

TEST_CASE("message: every truncation, extension and single-byte corruption is refused, destination untouched") {
  fill_values(5);
  bool untouched = false;
  for (const io::Encoding e : encodings) {
    REQUIRE(encode(e) == io::WireStatus::ok);
    const std::size_t size = n_written;
    std::size_t accepted = 0, touched = 0, not_truncated = 0;
    for (std::size_t len = 0; len < size; ++len) {
      const io::WireStatus s = decode_guarded(msg, len, untouched);
      accepted += s == io::WireStatus::ok;
      not_truncated += s != io::WireStatus::truncated;
      touched += !untouched;
    }
    std::memcpy(bad, msg, size);
    bad[size] = 0;
    CHECK(decode_guarded(bad, size + 1, untouched) == io::WireStatus::oversized);
    CHECK(untouched);
    // CRC-32 detects every error burst of up to 32 bits, so no single-byte
    // change can pass both CRCs, even one that would be a valid value.
#if defined(TINYADAPT_ON_TARGET)
    const int flips = 8;  // single-bit flips on the target (time)
#else
    const int flips = 255;  // every other value of the byte on the host
#endif
    for (std::size_t at = 0; at < size; ++at) {
      for (int f = 1; f <= flips; ++f) {
        std::memcpy(bad, msg, size);
        bad[at] = static_cast<unsigned char>(bad[at] ^ (flips == 8 ? 1 << (f - 1) : f));
        const io::WireStatus s = decode_guarded(bad, size, untouched);
        accepted += s == io::WireStatus::ok;
        touched += !untouched;
      }
    }
    CHECK(accepted == 0);
    CHECK(touched == 0);
    CHECK(not_truncated == 0);
  }
}

TEST_CASE("message: forged headers and payloads with both CRCs recomputed get their specific error") {
  fill_values(11);
  bool untouched = false;
  struct Forgery {
    io::Encoding e;
    std::size_t at;  // byte offset from the start; past the header: into the payload
    int bytes;
    std::uint64_t value;
    io::WireStatus expected;
  };
  const std::size_t last_entry = 48 + 8 * (io::sparse_entries_for(N, 20.0f) - 1);
  const Forgery forgeries[] = {
      {io::Encoding::float32, 8, 1, 0, io::WireStatus::bad_kind},
      {io::Encoding::float32, 8, 1, 4, io::WireStatus::bad_kind},
      {io::Encoding::float32, 8, 1, 1, io::WireStatus::bad_sample_count},  // θ with samples
      {io::Encoding::float32, 9, 1, 5, io::WireStatus::bad_encoding},
      {io::Encoding::float32, 9, 1, 3, io::WireStatus::bad_encoding},  // sparse φ
      {io::Encoding::float32, 10, 2, 1, io::WireStatus::inconsistent_counts},
      {io::Encoding::float32, 12, 8, 0x1234, io::WireStatus::signature_mismatch},
      {io::Encoding::float32, 20, 4, 4, io::WireStatus::wrong_round},
      {io::Encoding::float32, 28, 4, N + 1, io::WireStatus::inconsistent_counts},
      {io::Encoding::float32, 32, 4, N - 1, io::WireStatus::inconsistent_counts},
      {io::Encoding::float32, 36, 4, 0, io::WireStatus::bad_sample_count},
      {io::Encoding::float32, 40, 4, 4 * N + 4, io::WireStatus::inconsistent_counts},
      {io::Encoding::float32, 48, 4, 0x7FC00000u, io::WireStatus::bad_value},
      {io::Encoding::float32, 48 + 4 * 9, 4, 0xFF800000u, io::WireStatus::bad_value},
      {io::Encoding::fp16, 48 + 2 * 3, 2, 0x7C00, io::WireStatus::bad_value},
      {io::Encoding::fp16, 48 + 2 * 3, 2, 0xFE00, io::WireStatus::bad_value},
      {io::Encoding::int8_layer, 10, 2, 1, io::WireStatus::inconsistent_counts},  // payload bytes disagree
      {io::Encoding::int8_layer, 48, 4, 19, io::WireStatus::bad_group},         // not the model's layer
      {io::Encoding::int8_layer, 48, 4, 0, io::WireStatus::bad_group},
      {io::Encoding::int8_layer, 48, 4, N, io::WireStatus::bad_group},
      {io::Encoding::int8_layer, 52, 4, 0xBF800000u, io::WireStatus::bad_scale},  // -1
      {io::Encoding::int8_layer, 52, 4, 0x80000000u, io::WireStatus::bad_scale},  // -0
      {io::Encoding::int8_layer, 52, 4, 0x7FC00000u, io::WireStatus::bad_scale},
      {io::Encoding::int8_layer, 52, 4, 0x7F000000u, io::WireStatus::bad_scale},  // 127 s overflows
      {io::Encoding::int8_layer, 56 + 3, 1, 0x80, io::WireStatus::bad_value},     // -128
      {io::Encoding::sparse, 48, 4, N, io::WireStatus::bad_index},
      {io::Encoding::sparse, last_entry, 4, 0xFFFFFFFFu, io::WireStatus::bad_index},
      {io::Encoding::sparse, 56, 4, 0, io::WireStatus::bad_index},  // second index <= first
      {io::Encoding::sparse, 52, 4, 0x7F800000u, io::WireStatus::bad_value},
  };
  std::size_t wrong = 0, touched = 0;
  for (const Forgery& f : forgeries) {
    REQUIRE(encode(f.e) == io::WireStatus::ok);
    std::memcpy(bad, msg, n_written);
    if (f.e == io::Encoding::sparse && f.at == 56) std::memcpy(bad + 56, bad + 48, 4);  // a repeated index
    else io::detail::put(bad + f.at, f.value, f.bytes);
    refresh_crcs(bad, n_written);
    const io::WireStatus s = decode_guarded(bad, n_written, untouched);
    wrong += s != f.expected;
    touched += !untouched;
    CHECK(s == f.expected);
  }
  CHECK(wrong == 0);
  CHECK(touched == 0);
  // One group for the whole model, the header consistent: not the model's layers.
  REQUIRE(encode(io::Encoding::int8_layer) == io::WireStatus::ok);
  std::memcpy(bad, msg, n_written);
  io::detail::put(bad + 10, 1, 2);
  io::detail::put(bad + 40, 8 + N, 4);
  refresh_crcs(bad, n_written - 8);
  CHECK(decode_guarded(bad, n_written - 8, untouched) == io::WireStatus::bad_group);
  CHECK(untouched);
  // Expectations of the receiver.
  REQUIRE(encode(io::Encoding::float32) == io::WireStatus::ok);
  io::Expect e = expect();
  e.kinds = io::kind_bit(io::PayloadKind::theta);
  CHECK(io::check_message(msg, n_written, e) == io::WireStatus::wrong_kind);
  e = expect();
  e.max_message_bytes = static_cast<std::uint32_t>(n_written - 1);
  CHECK(io::check_message(msg, n_written, e) == io::WireStatus::oversized);
  using Other = ta::Sequential<ta::Input<4, 4, 1>, ta::Conv2D<2, 3>, ta::Tanh, ta::Flatten, ta::Dense<3>>;
  CHECK(io::check_message(msg, n_written, io::expect_for<Other>(io::update_kinds)) == io::WireStatus::signature_mismatch);
  CHECK(io::check_message(msg, n_written, io::Expect{}) == io::WireStatus::ok);  // a tool's view: any model
  msg[0] = 'X';
  CHECK(io::check_message(msg, n_written, e) == io::WireStatus::bad_magic);
  msg[0] = 'T', msg[4] = 2;
  CHECK(io::check_message(msg, n_written, e) == io::WireStatus::unsupported_version);
  msg[4] = 1, msg[20] ^= 1;
  CHECK(io::check_message(msg, n_written, e) == io::WireStatus::header_corrupted);
}

TEST_CASE("message: the encoder refuses what it cannot send, and writes nothing") {
  fill_values(3);
  float v[N];
  std::memcpy(v, values, sizeof v);
  v[7] = NAN;
  std::memset(msg, 0xAB, sizeof msg);
  CHECK(io::encode_message(info(io::Encoding::float32), ta::Span<const float>(v, N), {}, msg, sizeof msg) ==
        io::WireStatus::non_finite_input);
  v[7] = 70000.0f;
  CHECK(io::encode_message(info(io::Encoding::fp16), ta::Span<const float>(v, N), {}, msg, sizeof msg) ==
        io::WireStatus::fp16_overflow);
  CHECK(io::encode_message(info(io::Encoding::float32), ta::Span<const float>(v, N), {}, msg, 100) ==
        io::WireStatus::buffer_too_small);
  io::MessageInfo m = info(io::Encoding::float32);
  m.samples = 0;
  CHECK(io::encode_message(m, ta::Span<const float>(v, N), {}, msg, sizeof msg) == io::WireStatus::bad_sample_count);
  m = info(io::Encoding::sparse);
  m.kind = io::PayloadKind::theta;
  m.samples = 0;
  CHECK(io::encode_message(m, ta::Span<const float>(v, N), {}, msg, sizeof msg) == io::WireStatus::bad_argument);
  const std::uint32_t wrong_sizes[] = {20, 26};
  CHECK(io::encode_message(info(io::Encoding::int8_layer), ta::Span<const float>(v, N), io::LayerGroups{wrong_sizes, 2},
                           msg, sizeof msg) == io::WireStatus::bad_argument);
  std::size_t changed = 0;
  for (const unsigned char b : msg) changed += b != 0xAB;
  CHECK(changed == 0);
}

TEST_CASE("message: random messages, random chunks") {
  ta::Rng rng(2024);
  std::size_t failures = 0;
  for (int t = 0; t < 200; ++t) {
    const io::Encoding e = encodings[static_cast<std::size_t>(rng.uniform() * 4.0f) % 4];
    fill_values(1000 + static_cast<std::uint64_t>(t), std::ldexp(1.0f, static_cast<int>(rng.uniform() * 20.0f) - 10));
    io::MessageInfo m = info(e, static_cast<std::uint32_t>(t));
    m.sparse_entries = static_cast<std::uint32_t>(rng.uniform() * (N + 1)) % (N + 1);
    m.device = static_cast<std::uint32_t>(rng.uniform() * 1e6f);
    REQUIRE(io::encode_message(m, ta::Span<const float>(values, N), io::groups_of<Net>(), msg, sizeof msg,
                               &n_written) == io::WireStatus::ok);
    io::StreamDecoder d(io::expect_for<Net>(io::update_kinds, true, static_cast<std::uint32_t>(t)),
                        ta::Span<float>(out, N));
    for (std::size_t at = 0; at < n_written;) {
      const std::size_t c = 1 + static_cast<std::size_t>(rng.uniform() * 80.0f);
      d.feed(msg + at, n_written - at < c ? n_written - at : c);
      at += c;
    }
    failures += d.finish() != io::WireStatus::ok || d.header().device != m.device;
    if (e == io::Encoding::float32) failures += std::memcmp(out, values, sizeof out) != 0;
    // The exact encodings: the decoded values re-encode to the same bytes.
    if (e == io::Encoding::float32 || e == io::Encoding::fp16) {
      std::size_t again = 0;
      failures += io::encode_message(m, ta::Span<const float>(out, N), {}, chunked, sizeof chunked, &again) !=
                      io::WireStatus::ok ||
                  again != n_written || std::memcmp(chunked, msg, n_written) != 0;
    }
  }
  CHECK(failures == 0);
}

TEST_CASE("receive_theta: two passes; a refused θ leaves the network bit-identical") {
  ta::Rng rng(4);
  net.init(rng);
  fill_values(21);
  io::MessageInfo m = io::info_for<Net>(io::PayloadKind::theta, io::Encoding::float32, 9, 0, 0);
  REQUIRE(io::encode_message(m, ta::Span<const float>(values, N), {}, msg, sizeof msg, &n_written) ==
          io::WireStatus::ok);
  unsigned char chunk[16];
  std::memcpy(before, net.parameters().data(), sizeof before);
  std::size_t accepted = 0, changed = 0;
  for (std::size_t at = 0; at < n_written; ++at) {
    std::memcpy(bad, msg, n_written);
    bad[at] ^= 0x10;
    io::BufferSource src{bad, n_written};
    accepted += io::receive_theta(net, src, chunk, sizeof chunk, true, 9) == io::WireStatus::ok;
    changed += std::memcmp(before, net.parameters().data(), sizeof before) != 0;
  }
  io::BufferSource cut{msg, n_written - 1};
  CHECK(io::receive_theta(net, cut, chunk, sizeof chunk) == io::WireStatus::truncated);
  io::BufferSource other_round{msg, n_written};
  CHECK(io::receive_theta(net, other_round, chunk, sizeof chunk, true, 10) == io::WireStatus::wrong_round);
  CHECK(accepted == 0);
  CHECK(changed == 0);
  CHECK(std::memcmp(before, net.parameters().data(), sizeof before) == 0);
  io::BufferSource good{msg, n_written};
  CHECK(io::receive_theta(net, good, chunk, sizeof chunk, true, 9) == io::WireStatus::ok);
  CHECK(std::memcmp(values, net.parameters().data(), sizeof values) == 0);
}

TEST_CASE("submit_update: only a valid update of the round reaches the server") {
  ta::Rng rng(8);
  net.init(rng);
  ta::meta::Server<Net> server(net, ta::LinearDecayLR{1.0f, 1.0f, 1}, ta::meta::Aggregation::fedavg);
  static ta::meta::Parameters<Net> staging;
  fill_values(31, 0.1f);
  REQUIRE(encode(io::Encoding::int8_layer, 0) == io::WireStatus::ok);
  std::memcpy(bad, msg, n_written);
  bad[60] ^= 1;
  CHECK(io::submit_update(server, bad, n_written, staging).wire == io::WireStatus::payload_corrupted);
  CHECK(server.devices_in_round() == 0u);
  REQUIRE(encode(io::Encoding::int8_layer, 5) == io::WireStatus::ok);
  CHECK(io::submit_update(server, msg, n_written, staging).wire == io::WireStatus::wrong_round);
  CHECK(server.devices_in_round() == 0u);
  REQUIRE(encode(io::Encoding::int8_layer, 0) == io::WireStatus::ok);
  const io::SubmitResult r = io::submit_update(server, msg, n_written, staging);
  CHECK(r.ok());
  CHECK(r.header.samples == 10u);
  CHECK(server.devices_in_round() == 1u);
  REQUIRE(server.end_round() == ta::Status::ok);
  // FedAvg of one φ: θ is that φ as decoded (int8: within the bound).
  std::size_t far = 0;
  for (std::size_t i = 0; i < N; ++i) far += std::fabs(server.theta()[i] - values[i]) > 0.1f / 127.0f;
  CHECK(far == 0);
}
