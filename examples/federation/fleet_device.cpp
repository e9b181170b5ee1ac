// A device of the broker-run federation (P1, TinyReptile's device): for
// every θ the server publishes on tinyadapt/fleet/theta it checks the
// message (io::decode_message: a refused θ is never trained on), trains k
// online SGD steps on its own sine task (p1_fleet.hpp) and publishes φ,
// float32, on tinyadapt/fleet/update/device-<id> (QoS 1) with the round and
// its id in the wire header. It answers every θ it receives, also a θ it
// answered before (after a server restart or a broker reconnect the server
// may need it again; the server ignores the duplicates), and exits 0 when
// the θ of round --rounds (the final one) arrives.
//
//   fleet_device --id N --port P --credentials FILE [--host 127.0.0.1] [--rounds 20]
//       [--seed 1] [--k 10] [--dump DIR] [--timeout 600] [--cafile CA.pem]
//       [--misbehave replay,duplicate,forge,garbage,flip,truncate,oversize,nan,future]
//
// --misbehave adds hostile messages on the device's own topic around each
// honest update (for the tests: the server must ignore all of them and take
// the honest one): replay = the previous round's update again, duplicate =
// the honest update twice, forge = another device's id in the header,
// garbage/flip/truncate/oversize = random bytes, one flipped bit, half a
// message, 64 KB, nan = a NaN in the payload with both CRCs recomputed,
// future = the next round's id.
//
// Exit status: 0 done; 1 timeout or failure; 2 usage; 3 login refused.
#include <condition_variable>
#include <mutex>
#include <sstream>

#include "mqtt.hpp"
#include "p1_fleet.hpp"

namespace {

namespace io = tinyadapt::io;
using fleet::log;
using fleet::ta::meta::Parameters;
using fleet::W1;

struct Options {
  std::string host = "127.0.0.1", credentials, dump, cafile, misbehave;
  std::uint32_t id = 0, port = 0, rounds = 20, seed = 1, k = fleet::rm::default_k, timeout = 600;
  bool has_id = false;
};

class Device {
 public:
  explicit Device(const Options& o) : o_(o) {
    std::stringstream ss(o.misbehave);
    for (std::string m; std::getline(ss, m, ',');)
      if (!m.empty()) bad_.push_back(m);
  }
  bool valid_misbehaviour(std::string& unknown) const {
    static const char* known[] = {"replay", "duplicate", "forge", "garbage", "flip", "truncate", "oversize", "nan", "future"};
    for (const std::string& b : bad_) {
      bool ok = false;
      for (const char* k : known) ok = ok || b == k;
      if (!ok) return unknown = b, false;
    }
    return true;
  }
  bool open_dump() { return dump_.open(o_.dump); }

  // The network thread: one θ message.
  void on_message(fleet::Client& c, const std::string& topic, const unsigned char* p, std::size_t n) {
    if (topic != fleet::theta_topic) {
      log("ignored a message on unexpected topic %s (%zu bytes)", topic.c_str(), n);
      return;
    }
    dump_.write("recv_theta", p, n);
    io::MessageHeader h;
    const io::WireStatus s =
        io::decode_message(p, n, io::expect_for<W1>(io::kind_bit(io::PayloadKind::theta)), theta_.span(), &h);
    if (s != io::WireStatus::ok) {
      log("refused theta (%zu bytes): %s; nothing trained", n, io::to_string(s));
      return;
    }
    if (h.round >= o_.rounds) {
      log("final theta (round %u) received; done after %u updates", h.round, sent_);
      finish(0);
      return;
    }
    const fleet::ta::meta::RoundResult r = fleet::device_round(net_, sgd_, theta_.span(), o_.seed, o_.id, h.round, o_.k);
    if (!r.ok()) {
      log("round %u failed: %s; no update sent", h.round, fleet::ta::to_string(r.status));
      return;
    }
    std::vector<unsigned char> msg;
    if (!encode(h.round, o_.id, r.trained, msg)) return;
    send_hostile(c, h.round, r.trained, msg);
    dump_.write("sent_update_r" + std::to_string(h.round), msg.data(), msg.size());
    if (c.publish(fleet::update_topic(o_.id), msg.data(), msg.size())) ++sent_;
    if (has("duplicate")) c.publish(fleet::update_topic(o_.id), msg.data(), msg.size());
    if (h.round != last_round_) previous_ = msg, last_round_ = h.round;
  }

  void finish(int status) {
    std::lock_guard<std::mutex> lock(m_);
    if (status_ < 0) status_ = status;
    cv_.notify_all();
  }
  // The exit status once done, or -1 after `seconds` without.
  int wait(fleet::Client& c, std::uint32_t seconds) {
    std::unique_lock<std::mutex> lock(m_);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (status_ < 0 && std::chrono::steady_clock::now() < until) {
      cv_.wait_for(lock, std::chrono::milliseconds(200));
      if (c.refused()) return 3;
    }
    return status_;
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
    const io::WireStatus s =
        io::encode_message(io::info_for<W1>(io::PayloadKind::phi, io::Encoding::float32, round, id, samples),
                           static_cast<const W1&>(net_).parameters(), io::groups_of<W1>(), out.data(), out.size(), &n);
    out.resize(n);
    if (s != io::WireStatus::ok) log("cannot encode phi of round %u: %s; not sent", round, io::to_string(s));
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
  Parameters<W1> theta_;
  std::vector<unsigned char> previous_;
  std::uint32_t last_round_ = 0xFFFFFFFFu, sent_ = 0;
  fleet::ta::Rng rng_{12345};
  std::mutex m_;
  std::condition_variable cv_;
  int status_ = -1;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "%s\nusage: fleet_device --id N --port P --credentials FILE [--host H] [--rounds R] [--seed S]\n"
               "         [--k K] [--dump DIR] [--timeout SEC] [--cafile CA.pem] [--misbehave LIST]\n",
               why.c_str());
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::string id_text;
  fleet::Args a;
  a.strings = {{"--host", &o.host}, {"--credentials", &o.credentials}, {"--dump", &o.dump}, {"--cafile", &o.cafile},
               {"--misbehave", &o.misbehave}};
  a.numbers = {{"--id", &o.id}, {"--port", &o.port}, {"--rounds", &o.rounds}, {"--seed", &o.seed}, {"--k", &o.k},
               {"--timeout", &o.timeout}};
  const std::string bad = a.parse(argc, argv);
  if (!bad.empty()) usage(bad);
  for (int i = 1; i < argc; ++i) o.has_id = o.has_id || std::string(argv[i]) == "--id";
  if (!o.has_id || o.port == 0 || o.port > 65535 || o.credentials.empty()) usage("--id, --port and --credentials are required");
  if (o.k == 0 || o.k > fleet::rm::max_k) usage("--k must be in 1..100000");
  fleet::log_name() = fleet::device_user(o.id);
  static Device device(o);
  std::string unknown;
  if (!device.valid_misbehaviour(unknown)) usage("unknown --misbehave " + unknown);
  if (!device.open_dump()) usage("cannot create --dump " + o.dump);
  fleet::BrokerOptions b = fleet::broker_from(o.host, o.port, fleet::device_user(o.id), o.credentials, o.cafile);
  if (b.password.empty()) usage("no password for " + b.user + " in " + o.credentials);
  fleet::Client* client = nullptr;
  fleet::Client c(b, {fleet::theta_topic}, [&](const std::string& t, const unsigned char* p, std::size_t n) {
    device.on_message(*client, t, p, n);
  });
  client = &c;
  if (!c.start()) {
    log("cannot start the MQTT client");
    return 1;
  }
  const int status = device.wait(c, o.timeout);
  c.stop();
  if (status < 0) log("no final theta within %u s; giving up", o.timeout);
  if (status == 3) log("login refused; giving up");
  return status < 0 ? 1 : status;
}
