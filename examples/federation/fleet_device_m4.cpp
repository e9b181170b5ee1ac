// The Cortex-M4 as a device of the broker-run federation (MPS2 AN386 under
// QEMU, driven by fleet_bridge): θ arrives as a wire message (io/message.hpp)
// in a host file through semihosting, φ leaves the same way, both streamed
// through one 256-byte buffer, as an MCU with a small radio/MQTT buffer
// would: θ by the two-pass receive (io/receive.hpp: the first pass checks
// every byte, only an accepted message is decoded straight into the
// network's parameters, so a refused θ leaves them untouched and is never
// trained on), φ by the streaming encoder from the parameters (no copy).
// The round is P1's fleet round of device <id> (p1_fleet.hpp), the same code
// as the host devices and the server's in-process replay.
//
// Command line (QEMU -append): <theta file> <phi file> <device id> <run seed> [k]
// Output: readable lines and one line for the bridge,
//   FLEET round=... device=... trained=... skipped=... loss=... ram_static=... stack=...
//   instr_receive=... instr_round=... instr_send=... bytes_in=... bytes_out=... chunk=...
// Exit status: 0; 1 usage; 5 θ refused; 6 round failed; 7 φ not written;
// 8 RAM over budget (φ written all the same).
#include "../m4/reptile_device.hpp"
#include "p1_fleet.hpp"

namespace {

namespace io = tinyadapt::io;
namespace rm = reptile_m4;
using fleet::W1;

constexpr uint32_t chunk_bytes = 256;
constexpr uint32_t ram_budget = 24 * 1024;

W1 net;
fleet::ta::SGD<W1> sgd(rm::online_lr);
unsigned char chunk[chunk_bytes];

// A semihosting file as a two-pass source: rewind() opens it again.
struct FileSource {
  const char* name;
  int handle = -1;
  uint32_t bytes = 0;  // read over both passes
  void rewind() {
    if (handle >= 0) board::file_close(handle);
    handle = board::file_open(name, board::FileMode::read_binary);
  }
  std::size_t read(unsigned char* buf, std::size_t capacity) {
    if (handle < 0) return 0;
    const uint32_t n = board::file_read(handle, buf, static_cast<uint32_t>(capacity));
    bytes += n;
    return n;
  }
  ~FileSource() {
    if (handle >= 0) board::file_close(handle);
  }
};

// φ of `round` from the network's parameters, chunk by chunk; bytes written or 0.
uint32_t send_phi(const char* name, uint32_t round, uint32_t id, uint32_t samples) {
  io::MessageEncoder enc;
  if (enc.begin(io::info_for<W1>(io::PayloadKind::phi, io::Encoding::float32, round, id, samples),
                static_cast<const W1&>(net).parameters(), io::groups_of<W1>()) != io::WireStatus::ok)
    return 0;
  const int h = board::file_open(name, board::FileMode::write_binary);
  if (h < 0) return 0;
  uint32_t out = 0;
  bool ok = true;
  while (const std::size_t n = enc.read(chunk, sizeof chunk)) {
    const uint32_t w = board::file_write(h, chunk, static_cast<uint32_t>(n));
    out += w;
    ok = ok && w == n;
  }
  return board::file_close(h) && ok && out == enc.message_bytes() ? out : 0;
}

}  // namespace

int main(int argc, char** argv) {
  uint32_t id = 0, seed = 0, k = rm::default_k;
  if (argc < 5 || argc > 6 || !rm::parse_uint(argv[3], id) || !rm::parse_uint(argv[4], seed) ||
      (argc == 6 && (!rm::parse_uint(argv[5], k) || k == 0 || k > rm::max_k))) {
    board::print("usage (QEMU -append \"...\"): <theta file> <phi file> <device id> <run seed> [k]\n");
    return rm::exit_usage;
  }
  FileSource theta{argv[1]};
  io::MessageHeader h;
  io::WireStatus received = io::WireStatus::ok;
  const uint32_t instr_receive = board::count_instructions(
      [&] { received = io::receive_theta(net, theta, chunk, sizeof chunk, false, 0, &h); });
  if (received != io::WireStatus::ok) {
    board::print("theta refused (");
    board::print(argv[1]);
    board::print("): ");
    board::print(io::to_string(received));
    board::print("; nothing trained, no phi written\n");
    return rm::exit_theta_refused;
  }
  fleet::ta::meta::RoundResult r;
  const fleet::ta::Span<const float> th = static_cast<const W1&>(net).parameters();
  const uint32_t instr_round =
      board::count_instructions([&] { r = fleet::device_round(net, sgd, th, seed, id, h.round, k); });
  if (!r.ok()) {
    board::print("round failed: ");
    board::print(fleet::ta::to_string(r.status));
    board::print("; no phi written\n");
    return rm::exit_round_failed;
  }
  uint32_t bytes_out = 0;
  const uint32_t instr_send = board::count_instructions([&] { bytes_out = send_phi(argv[2], h.round, id, r.trained); });
  if (bytes_out == 0) {
    board::print("cannot write phi to ");
    board::print(argv[2]);
    board::print("\n");
    return rm::exit_send_failed;
  }
  const bool ram_ok = m4::check_ram(ram_budget);
  board::print("FLEET");
  rm::print_field("round", h.round);
  rm::print_field("device", id);
  rm::print_field("trained", r.trained);
  rm::print_field("skipped", r.skipped);
  board::print(" loss=");
  board::print_float(r.mean_loss, 6);
  rm::print_field("ram_static", board::static_ram_bytes());
  rm::print_field("stack", board::stack_high_water_bytes());
  rm::print_field("instr_receive", instr_receive);
  rm::print_field("instr_round", instr_round);
  rm::print_field("instr_send", instr_send);
  rm::print_field("bytes_in", theta.bytes);
  rm::print_field("bytes_out", bytes_out);
  rm::print_field("chunk", chunk_bytes);
  board::print("\n");
  return ram_ok ? 0 : rm::exit_over_budget;
}
