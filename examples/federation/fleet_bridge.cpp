// The emulated Cortex-M4 as one device of the broker-run federation: this
// host process is the device's MQTT connection (it logs in as device-<id>
// with that device's password); the device itself is fleet_device_m4.elf
// under QEMU. For every θ on tinyadapt/fleet/theta the bridge writes the
// message, unchanged, to WORKDIR/theta.msg, runs one device round under QEMU
// (semihosting: the device streams θ in and φ out in 256-byte chunks and
// checks θ itself), and publishes the φ message the device wrote, unchanged,
// on tinyadapt/fleet/update/device-<id> (QoS 1). The bridge decodes nothing
// into weights: the device checks θ, the server checks φ. It only reads
// θ's header (to stop at the final round) and refuses to forward a φ that
// is not a valid message of this device and round (the server would ignore
// it anyway; the log says why).
//
//   fleet_bridge --id N --port P --credentials FILE --elf fleet_device_m4.elf [--qemu qemu-system-arm]
//       [--workdir DIR] [--host 127.0.0.1] [--rounds 20] [--seed 1] [--k 10] [--dump DIR]
//       [--timeout 600] [--cafile CA.pem]
//
// Per round it logs the device's figures (instructions for receive, round
// and send, RAM, bytes) and the QEMU wall time.
// Exit status: 0 done; 1 timeout or failure; 2 usage; 3 login refused.
#include <sys/stat.h>

#include <fstream>
#include <iterator>

#include "../qemu_semihosting.hpp"
#include "mqtt.hpp"
#include "p1_fleet.hpp"

namespace {

namespace io = tinyadapt::io;
using fleet::log;
using fleet::W1;

struct Options : fleet::DeviceOptions {
  std::string elf, qemu = "qemu-system-arm", workdir;
};

bool write_file(const std::string& path, const unsigned char* p, std::size_t n) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(p), static_cast<std::streamsize>(n));
  return static_cast<bool>(f.flush());
}

class Bridge {
 public:
  explicit Bridge(const Options& o) : o_(o) {}
  bool open_dump() { return dump_.open(o_.dump); }

  bool on_theta(fleet::Client& c, const unsigned char* p, std::size_t n) {
    dump_.write("recv_theta", p, n);
    io::MessageHeader h;
    const io::WireStatus s = io::check_message(p, n, io::expect_for<W1>(io::kind_bit(io::PayloadKind::theta)), &h);
    if (s != io::WireStatus::ok) {  // the device would refuse it too; no QEMU run for it
      log("refused theta (%zu bytes): %s", n, io::to_string(s));
      return false;
    }
    if (h.round >= o_.rounds) {
      log("final theta (round %u) received; done after %u M4 rounds", h.round, rounds_);
      return true;
    }
    const std::string theta = o_.workdir + "/theta.msg", phi = o_.workdir + "/phi.msg";
    std::remove(phi.c_str());
    if (!write_file(theta, p, n)) {
      log("cannot write %s", theta.c_str());
      return false;
    }
    const qemu_m4::Run r = qemu_m4::run_device(
        o_.qemu, o_.workdir,
        "theta.msg phi.msg " + std::to_string(o_.id) + " " + std::to_string(o_.seed) + " " + std::to_string(o_.k));
    const std::size_t at = r.output.find("FLEET ");
    if (r.status != 0 || at == std::string::npos) {
      log("M4 round %u failed (QEMU exit status %d): %s", h.round, r.status, r.output.c_str());
      return false;
    }
    std::ifstream f(phi, std::ios::binary);
    const std::vector<unsigned char> m{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
    io::MessageHeader ph;
    const io::WireStatus ps =
        io::check_message(m.data(), m.size(), io::expect_for<W1>(io::kind_bit(io::PayloadKind::phi), true, h.round), &ph);
    if (ps != io::WireStatus::ok || ph.device != o_.id) {
      log("the M4's phi of round %u is not forwarded: %s", h.round,
          ps != io::WireStatus::ok ? io::to_string(ps) : "another device id");
      return false;
    }
    dump_.write("sent_update_r" + std::to_string(h.round), m.data(), m.size());
    if (c.publish(fleet::update_topic(o_.id), m.data(), m.size())) ++rounds_;
    const std::string line = r.output.substr(at, r.output.find('\n', at) - at);
    log("M4 round %u in %.0f ms (QEMU): %s", h.round, r.seconds * 1e3, line.c_str());
    return false;
  }

 private:
  Options o_;
  fleet::Dump dump_;
  std::uint32_t rounds_ = 0;
};

constexpr const char* usage_text =
    "usage: fleet_bridge --id N --port P --credentials FILE --elf ELF [--qemu Q] [--workdir DIR]\n"
    "         [--host H] [--rounds R] [--seed S] [--k K] [--dump DIR] [--timeout SEC] [--cafile CA.pem]\n";
[[noreturn]] void usage(const std::string& why) { fleet::usage_exit(why, usage_text); }

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  Options o;
  fleet::Args a;
  a.strings = {{"--elf", &o.elf}, {"--qemu", &o.qemu}, {"--workdir", &o.workdir}};
  fleet::parse_device_args(argc, argv, a, o, usage_text);
  if (o.elf.empty()) usage("--elf is required");
  fleet::log_name() = fleet::device_user(o.id) + " (M4 bridge)";
  // QEMU runs in the workdir with the ELF linked in as device.elf.
  if (o.workdir.empty()) {
    char tmpl[] = "/tmp/fleet_m4_XXXXXX";
    if (mkdtemp(tmpl) == nullptr) usage("cannot create a working directory");
    o.workdir = tmpl;
  }
  mkdir(o.workdir.c_str(), 0777);
  char* abs = realpath(o.elf.c_str(), nullptr);
  if (abs == nullptr) usage("cannot find " + o.elf);
  const std::string link = o.workdir + "/device.elf";
  unlink(link.c_str());
  const bool linked = symlink(abs, link.c_str()) == 0;
  std::free(abs);
  if (!linked) usage("cannot link the ELF into " + o.workdir);
  static Bridge bridge(o);
  if (!bridge.open_dump()) usage("cannot create --dump " + o.dump);
  log("device-%u is the Cortex-M4: %s under %s, workdir %s", o.id, o.elf.c_str(), o.qemu.c_str(), o.workdir.c_str());
  return fleet::run_device_process(
      o, [&](fleet::Client& c, const unsigned char* p, std::size_t n) { return bridge.on_theta(c, p, n); });
}
