// A device of the broker-run federation (P1, TinyReptile's device): for
// every θ the server publishes on tinyadapt/fleet/theta it checks the
// message (io::decode_message: a refused θ is never trained on), trains k
// online SGD steps on its own sine task (p1_fleet.hpp) and publishes φ,
// float32 (or with --encoding int8, fp16 or sparse, the top --percent %, its
// Δ = φ − θ), on tinyadapt/fleet/update/device-<id> (QoS 1) with the round and
// its id in the wire header. It answers every θ it receives, also a θ it
// answered before (after a server restart or a broker reconnect the server
// may need it again; the server ignores the duplicates), and exits 0 when
// the θ of round --rounds (the final one) arrives.
//
//   fleet_device --id N --port P --credentials FILE [--host 127.0.0.1] [--rounds 20]
//       [--seed 1] [--k 10] [--dump DIR] [--timeout 600] [--cafile CA.pem]
//       [--misbehave replay,duplicate,forge,garbage,flip,truncate,oversize,nan,future,poison]
//       [--encoding float32|int8|fp16|sparse] [--percent 10]
//
// --misbehave adds hostile messages on the device's own topic around each
// honest update (for the tests: the server must ignore all of them and take
// the honest one): replay = the previous round's update again, duplicate =
// the honest update twice, forge = another device's id in the header,
// garbage/flip/truncate/oversize = random bytes, one flipped bit, half a
// message, 64 KB, nan = a NaN in the (float32) payload with both CRCs recomputed,
// future = the next round's id; poison replaces the honest update by a
// valid one sign-flipped and scaled by 20 (only robust aggregation helps).
//
// Exit status: 0 done; 1 timeout or failure; 2 usage; 3 login refused.
#include <sstream>

#include "mqtt.hpp"
#include "p1_fleet.hpp"

namespace {

namespace io = tinyadapt::io;
using fleet::log;
using fleet::ta::meta::Parameters;
using fleet::W1;

struct Options : fleet::DeviceOptions {
  std::string misbehave, encoding = "float32";
  double percent = 10.0;
};

class Device {
 public:
  explicit Device(const Options& o) : o_(o) {
    std::stringstream ss(o.misbehave);
    for (std::string m; std::getline(ss, m, ',');)
      if (!m.empty()) bad_.push_back(m);
  }
  bool valid_misbehaviour(std::string& unknown) const {
    static const char* known[] = {"replay", "duplicate", "forge", "garbage", "flip",
                                  "truncate", "oversize", "nan", "future", "poison"};
    for (const std::string& b : bad_) {
      bool ok = false;
      for (const char* k : known) ok = ok || b == k;
      if (!ok) return unknown = b, false;
    }
    return true;
  }
  bool open_dump() { return dump_.open(o_.dump); }
  bool valid_encoding() { return fleet::encoding_from(o_.encoding.c_str(), encoding_); }

  // The network thread: one θ message; true for the final θ.
  bool on_theta(fleet::Client& c, const unsigned char* p, std::size_t n) {
    dump_.write("recv_theta", p, n);
    io::MessageHeader h;
    const io::WireStatus s =
        io::decode_message(p, n, io::expect_for<W1>(io::kind_bit(io::PayloadKind::theta)), theta_.span(), &h);
    if (s != io::WireStatus::ok) {
      log("refused theta (%zu bytes): %s; nothing trained", n, io::to_string(s));
      return false;
    }
    if (h.round >= o_.rounds) {
      log("final theta (round %u) received; done after %u updates", h.round, sent_);
      return true;
    }
    const fleet::ta::meta::RoundResult r = fleet::device_round(net_, sgd_, theta_.span(), o_.seed, o_.id, h.round, o_.k);
    if (!r.ok()) {
      log("round %u failed: %s; no update sent", h.round, fleet::ta::to_string(r.status));
      return false;
    }
    if (has("poison")) {  // φ = θ − 20 (φ − θ): a valid update that pulls θ the other way
      const fleet::ta::Span<float> phi = net_.parameters();
      for (std::size_t i = 0; i < W1::param_count; ++i) phi[i] = theta_.values[i] - 20.0f * (phi[i] - theta_.values[i]);
    }
    std::vector<unsigned char> msg;
    if (!encode(h.round, o_.id, r.trained, msg)) return false;
    send_hostile(c, h.round, r.trained, msg);
    dump_.write("sent_update_r" + std::to_string(h.round), msg.data(), msg.size());
    if (c.publish(fleet::update_topic(o_.id), msg.data(), msg.size())) ++sent_;
    if (has("duplicate")) c.publish(fleet::update_topic(o_.id), msg.data(), msg.size());
    if (h.round != last_round_) previous_ = msg, last_round_ = h.round;
    return false;
  }

 private:
  bool has(const char* what) const {
    for (const std::string& b : bad_)
      if (b == what) return true;
    return false;
  }
  bool encode(std::uint32_t round, std::uint32_t id, std::uint32_t samples, std::vector<unsigned char>& out) {
    out.resize(io::max_message_bytes<W1>());
    std::size_t n = 0;
    delta_ = theta_;
    const io::WireStatus s = fleet::encode_update(net_, delta_.span(), encoding_, static_cast<float>(o_.percent), round,
                                                  id, samples, out.data(), out.size(), &n);
    out.resize(n);
    if (s != io::WireStatus::ok) log("cannot encode the update of round %u: %s; not sent", round, io::to_string(s));
    return s == io::WireStatus::ok;
  }
  void send(fleet::Client& c, const char* what, const std::vector<unsigned char>& m) {
    log("sending a hostile message (%s, %zu bytes)", what, m.size());
    dump_.write(std::string("sent_") + what, m.data(), m.size());
    c.publish(fleet::update_topic(o_.id), m.data(), m.size());
  }
  // The hostile messages of --misbehave, before the honest one.
  void send_hostile(fleet::Client& c, std::uint32_t round, std::uint32_t samples, const std::vector<unsigned char>& honest) {
    std::vector<unsigned char> m;
    if (has("replay") && !previous_.empty() && last_round_ < round) send(c, "replay", previous_);
    if (has("forge") && encode(round, o_.id + 1, samples, m)) send(c, "forge", m);
    if (has("future") && encode(round + 1, o_.id, samples, m)) send(c, "future", m);
    if (has("garbage")) {
      m.resize(100);
      for (unsigned char& b : m) b = static_cast<unsigned char>(rng_.next_u32());
      send(c, "garbage", m);
    }
    if (has("flip")) {
      m = honest;
      m[1000] ^= 0x04;
      send(c, "flip", m);
    }
    if (has("truncate")) {
      m.assign(honest.begin(), honest.begin() + static_cast<std::ptrdiff_t>(honest.size() / 2));
      send(c, "truncate", m);
    }
    if (has("oversize")) {
      m.assign(64 * 1024, 0);
      send(c, "oversize", m);
    }
    if (has("nan")) {  // a NaN the CRCs do not catch: the decoder's value check must
      m = honest;
      io::detail::put(m.data() + io::message_header_bytes + 40, 0x7fc00000u, 4);
      io::detail::put(m.data() + m.size() - 4, io::crc32(m.data(), m.size() - 4), 4);
      send(c, "nan", m);
    }
  }

  Options o_;
  std::vector<std::string> bad_;
  fleet::Dump dump_;
  W1 net_;
  fleet::ta::SGD<W1> sgd_{fleet::rm::online_lr};
  Parameters<W1> theta_, delta_;
  io::Encoding encoding_ = io::Encoding::float32;
  std::vector<unsigned char> previous_;
  std::uint32_t last_round_ = 0xFFFFFFFFu, sent_ = 0;
  fleet::ta::Rng rng_{12345};
};

constexpr const char* usage_text =
    "usage: fleet_device --id N --port P --credentials FILE [--host H] [--rounds R] [--seed S]\n"
    "         [--k K] [--dump DIR] [--timeout SEC] [--cafile CA.pem] [--misbehave LIST]\n"
    "         [--encoding float32|int8|fp16|sparse] [--percent P]\n";
[[noreturn]] void usage(const std::string& why) { fleet::usage_exit(why, usage_text); }

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  Options o;
  fleet::Args a;
  a.strings = {{"--misbehave", &o.misbehave}, {"--encoding", &o.encoding}};
  a.reals = {{"--percent", &o.percent}};
  fleet::parse_device_args(argc, argv, a, o, usage_text);
  fleet::log_name() = fleet::device_user(o.id);
  static Device device(o);
  std::string unknown;
  if (!device.valid_misbehaviour(unknown)) usage("unknown --misbehave " + unknown);
  if (!device.open_dump()) usage("cannot create --dump " + o.dump);
  if (!device.valid_encoding()) usage("--encoding is float32, int8, fp16 or sparse");
  return fleet::run_device_process(
      o, [&](fleet::Client& c, const unsigned char* p, std::size_t n) { return device.on_theta(c, p, n); });
}
