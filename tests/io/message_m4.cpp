// The wire message on the Cortex-M4 (QEMU mps2-an386, -icount): executed
// instructions to encode and decode a W1 (4353 parameters) message in each
// encoding through 256-byte chunks (an MCU's MQTT buffer), per KB of message,
// and the stack high water of the whole program. Checks the results as well:
// the decoded values are the encoded ones (float32 exactly) and a corrupted
// θ leaves the network bit-identical. One line per encoding for programs:
//   WIRE encoding=... bytes=... encode=... decode=... check=... encode_per_kb=... decode_per_kb=...
#include <tinyadapt/io/decoder.hpp>
#include <tinyadapt/io/encoder.hpp>
#include <tinyadapt/io/model_message.hpp>
#include <tinyadapt/io/receive.hpp>
#include <tinyadapt/tinyadapt.hpp>

#include <string.h>

#include "board.hpp"
#include "harness.hpp"

namespace ta = tinyadapt;
namespace io = tinyadapt::io;

namespace {

using W1 = ta::Sequential<ta::Input<1>, ta::Dense<64>, ta::Tanh, ta::Dense<64>, ta::Tanh, ta::Dense<1>>;
constexpr uint32_t N = W1::param_count;
constexpr uint32_t chunk = 256;

W1 net;
float staging[N];
unsigned char msg[io::max_message_bytes<W1>()];
uint32_t msg_bytes = 0;

void field(const char* name, uint32_t v) {
  board::print(name);
  board::print_uint(v);
}

__attribute__((noinline)) void encode(io::MessageEncoder& enc) {
  uint32_t at = 0;
  while (size_t n = enc.read(msg + at, chunk)) at += static_cast<uint32_t>(n);
  msg_bytes = at;
}

__attribute__((noinline)) io::WireStatus decode(float* dst) {
  io::StreamDecoder d(io::expect_for<W1>(io::any_kind), dst != nullptr ? ta::Span<float>(dst, N) : ta::Span<float>());
  for (uint32_t at = 0; at < msg_bytes; at += chunk) d.feed(msg + at, msg_bytes - at < chunk ? msg_bytes - at : chunk);
  return d.finish();
}

}  // namespace

TEST_CASE("wire message on the Cortex-M4: instructions per KB, results checked") {
  REQUIRE(board::icount_active());
  ta::Rng rng(1);
  net.init(rng);
  const ta::Span<const float> values = static_cast<const W1&>(net).parameters();
  const io::Encoding encodings[] = {io::Encoding::float32, io::Encoding::int8_layer, io::Encoding::sparse,
                                    io::Encoding::fp16};
  for (const io::Encoding e : encodings) {
    io::MessageInfo info = io::info_for<W1>(e == io::Encoding::sparse ? io::PayloadKind::delta : io::PayloadKind::phi,
                                            e, 1, 2, 10);
    info.sparse_entries = io::sparse_entries_for(N, 10.0f);
    io::MessageEncoder enc;
    uint32_t instr_encode = 0;
    io::WireStatus s = io::WireStatus::ok;
    instr_encode = board::count_instructions([&] {
      s = enc.begin(info, values, io::groups_of<W1>());
      encode(enc);
    });
    REQUIRE(s == io::WireStatus::ok);
    CHECK(msg_bytes == enc.message_bytes());
    const uint32_t instr_decode = board::count_instructions([&] { s = decode(staging); });
    CHECK(s == io::WireStatus::ok);
    const uint32_t instr_check = board::count_instructions([&] { s = decode(nullptr); });
    CHECK(s == io::WireStatus::ok);
    if (e == io::Encoding::float32) CHECK(memcmp(staging, values.data(), sizeof staging) == 0);
    const uint32_t kb10 = msg_bytes * 10 / 1024;  // tenths of a KB
    board::print("WIRE encoding=");
    board::print(io::to_string(e));
    field(" bytes=", msg_bytes);
    field(" encode=", instr_encode);
    field(" decode=", instr_decode);
    field(" check=", instr_check);
    field(" encode_per_kb=", instr_encode * 10 / kb10);
    field(" decode_per_kb=", instr_decode * 10 / kb10);
    board::print("\n");
  }
}

TEST_CASE("two-pass θ receive on the Cortex-M4: instructions; a corrupted θ leaves the network bit-identical") {
  io::MessageInfo info = io::info_for<W1>(io::PayloadKind::theta, io::Encoding::float32, 1, 0, 0);
  ta::Rng rng(2);
  static W1 sender;
  sender.init(rng);
  size_t written = 0;
  REQUIRE(io::encode_message(info, static_cast<const W1&>(sender).parameters(), {}, msg, sizeof msg, &written) ==
          io::WireStatus::ok);
  memcpy(staging, static_cast<const W1&>(net).parameters().data(), sizeof staging);  // the network before
  unsigned char rx[chunk];
  msg[written / 2] ^= 0x40;
  io::BufferSource bad{msg, written};
  CHECK(io::receive_theta(net, bad, rx, sizeof rx) == io::WireStatus::payload_corrupted);
  CHECK(memcmp(staging, static_cast<const W1&>(net).parameters().data(), sizeof staging) == 0);
  msg[written / 2] ^= 0x40;
  io::BufferSource good{msg, written};
  io::WireStatus s = io::WireStatus::ok;
  const uint32_t instr = board::count_instructions([&] { s = io::receive_theta(net, good, rx, sizeof rx); });
  CHECK(s == io::WireStatus::ok);
  CHECK(memcmp(static_cast<const W1&>(sender).parameters().data(), static_cast<const W1&>(net).parameters().data(),
               sizeof staging) == 0);
  field("WIRE receive_theta_two_pass bytes=", static_cast<uint32_t>(written));
  field(" instructions=", instr);
  field(" stack_high_water=", board::stack_high_water_bytes());
  field(" decoder_bytes=", sizeof(io::StreamDecoder));
  field(" encoder_bytes=", sizeof(io::MessageEncoder));
  board::print("\n");
}
