// A hostile client of the broker-run federation (the test fleet.hostile):
// logged in with real credentials, it sends the server bad input through the
// real broker while the honest devices run, and prints how many of each kind
// it sent, so the test can check the server's counts against them.
//
// For every θ of round r < --rounds it receives (tinyadapt/fleet/theta):
//   as device-<as> (its own topic tinyadapt/fleet/update/device-<as>; client
//   id device-<as>-hostile, so the honest device-<as> stays connected):
//     garbage     100 random bytes                      server: malformed
//     truncated   a valid φ of round r, first half      server: malformed
//     oversized   64 KB                                 server: oversized
//     forged      a valid φ of round r naming device <as>+1 in its header
//                                                       server: forged device id
//     signature   a φ of round r whose model signature is another model's,
//                 both CRCs recomputed                  server: malformed
//     replayed    a valid φ of round r−1 (r ≥ 1)        server: replayed or late
//     acl         the same φ on device-<as>+1's topic and on the θ topic:
//                 the broker's ACL drops them (never reach the server or a device)
//   as --probe USER (a broker user allowed to write tinyadapt/fleet/update/#,
//   broker.sh's BROKER_PROBE_USER; a misconfigured ACL or a stolen account):
//     unknown_topic   on update/sensor-7 and update/device-0<as> (not a
//                     device-N topic)                   server: unknown topic
//     unknown_device  on update/device-<fleet+7>         server: unknown device
// None of these is a valid update of the open round from its sender, so the
// server must take none and θ must end as in the same run without this
// client. Every message is QoS 1; the program waits for the broker to
// acknowledge all of them before it exits.
//
//   fleet_hostile --port P --credentials FILE --as ID --fleet N --probe USER
//       [--host 127.0.0.1] [--rounds 20] [--cafile CA.pem] [--timeout 300]
//
// Output: "hostile: sent garbage G, truncated T, ..." at the end.
// Exit status: 0 done (final θ seen, all publishes acknowledged); 1 timeout; 2 usage; 3 login refused.
#include <map>

#include "mqtt.hpp"
#include "p1_fleet.hpp"

namespace {

namespace io = tinyadapt::io;
using fleet::log;
using fleet::W1;

struct Options {
  std::string host = "127.0.0.1", credentials, cafile, probe;
  std::uint32_t port = 0, as = 0, fleet = 0, rounds = 20, timeout = 300;
};

class Hostile {
 public:
  explicit Hostile(const Options& o) : o_(o) {}

  // Network thread of the device connection; true for the final θ.
  bool on_theta(fleet::Client& dev, fleet::Client& probe, const unsigned char* p, std::size_t n) {
    io::MessageHeader h;
    if (n < io::message_header_bytes || io::parse_header(p, h) != io::WireStatus::ok ||
        h.kind != io::PayloadKind::theta)
      return false;
    if (h.round >= o_.rounds) return true;
    if (h.round == last_) return false;  // the same θ again (retained on a reconnect): one batch per round
    last_ = h.round;
    const std::string own = fleet::update_topic(o_.as);
    const std::uint32_t r = h.round;
    std::vector<unsigned char> m(100);
    for (unsigned char& b : m) b = static_cast<unsigned char>(rng_.next_u32());
    send(dev, "garbage", own, m);
    m = phi(r, o_.as);
    m.resize(m.size() / 2);
    send(dev, "truncated", own, m);
    m.assign(64 * 1024, 0x5a);
    send(dev, "oversized", own, m);
    send(dev, "forged", own, phi(r, o_.as + 1));
    m = phi(r, o_.as);
    m[12] ^= 0x01;  // model signature, bytes 12..19; both CRCs made valid again
    io::detail::put(m.data() + 44, io::crc32(m.data(), 44), 4);
    io::detail::put(m.data() + m.size() - 4, io::crc32(m.data(), m.size() - 4), 4);
    send(dev, "signature", own, m);
    if (r >= 1) send(dev, "replayed", own, phi(r - 1, o_.as));
    send(dev, "acl", fleet::update_topic(o_.as + 1), phi(r, o_.as));
    send(dev, "acl", fleet::theta_topic, phi(r, o_.as));
    send(probe, "unknown_topic", fleet::update_prefix + "sensor-7", phi(r, o_.as));
    send(probe, "unknown_topic", fleet::update_prefix + "device-0" + std::to_string(o_.as), phi(r, o_.as));
    send(probe, "unknown_device", fleet::update_topic(o_.fleet + 7), phi(r, o_.fleet + 7));
    return false;
  }

  void report() const {
    std::string line;
    for (const char* k : {"garbage", "truncated", "oversized", "forged", "signature", "replayed", "acl",
                          "unknown_topic", "unknown_device"}) {
      const auto it = sent_.find(k);
      line += std::string(line.empty() ? "" : ", ") + k + " " + std::to_string(it == sent_.end() ? 0 : it->second);
    }
    std::printf("hostile: sent %s\n", line.c_str());
  }

 private:
  // A valid φ message of W1 (the values are θ's shape of zeros: finite).
  std::vector<unsigned char> phi(std::uint32_t round, std::uint32_t device) const {
    static const std::vector<float> zeros(W1::param_count, 0.0f);
    std::vector<unsigned char> m(io::max_message_bytes<W1>());
    std::size_t n = 0;
    io::encode_message(io::info_for<W1>(io::PayloadKind::phi, io::Encoding::float32, round, device, 10),
                       tinyadapt::Span<const float>(zeros.data(), zeros.size()), io::groups_of<W1>(), m.data(),
                       m.size(), &n);
    m.resize(n);
    return m;
  }
  void send(fleet::Client& c, const char* what, const std::string& topic, const std::vector<unsigned char>& m) {
    if (c.publish(topic, m.data(), m.size())) ++sent_[what];
  }

  Options o_;
  std::uint32_t last_ = 0xFFFFFFFFu;
  std::map<std::string, unsigned> sent_;
  fleet::ta::Rng rng_{4242};
};

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  Options o;
  fleet::Args a;
  a.strings = {{"--host", &o.host}, {"--credentials", &o.credentials}, {"--cafile", &o.cafile}, {"--probe", &o.probe}};
  a.numbers = {{"--port", &o.port}, {"--as", &o.as}, {"--fleet", &o.fleet}, {"--rounds", &o.rounds},
               {"--timeout", &o.timeout}};
  constexpr const char* usage_text =
      "usage: fleet_hostile --port P --credentials FILE --as ID --fleet N --probe USER [--host H] [--rounds R]\n"
      "         [--cafile CA.pem] [--timeout SEC]\n";
  const std::string bad = a.parse(argc, argv);
  if (!bad.empty()) fleet::usage_exit(bad, usage_text);
  if (o.port == 0 || o.port > 65535 || o.credentials.empty() || o.probe.empty() || o.fleet == 0)
    fleet::usage_exit("--port, --credentials, --fleet and --probe are required", usage_text);
  fleet::log_name() = "hostile";

  fleet::BrokerOptions bd = fleet::broker_from(o.host, o.port, fleet::device_user(o.as), o.credentials, o.cafile);
  fleet::BrokerOptions bp = fleet::broker_from(o.host, o.port, o.probe, o.credentials, o.cafile);
  if (bd.password.empty() || bp.password.empty()) return log("no password for %s or %s", bd.user.c_str(), o.probe.c_str()), 2;
  bd.client_id = bd.user + "-hostile";
  static Hostile hostile(o);
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  fleet::Client probe(bp, {}, [](const std::string&, const unsigned char*, std::size_t) {});
  fleet::Client* dev_ptr = nullptr;
  fleet::Client dev(bd, {fleet::theta_topic}, [&](const std::string& t, const unsigned char* p, std::size_t n) {
    if (t != fleet::theta_topic || !probe.connected()) return;
    if (!hostile.on_theta(*dev_ptr, probe, p, n)) return;
    std::lock_guard<std::mutex> lock(m);
    done = true;
    cv.notify_all();
  });
  dev_ptr = &dev;
  if (!probe.start()) return log("cannot start the MQTT client"), 1;
  // The device connection (and its θ) only once the probe is connected.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(o.timeout);
  while (!probe.connected() && !probe.refused() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (probe.refused()) return 3;
  if (!dev.start()) return log("cannot start the MQTT client"), 1;
  int status = 1;
  {
    std::unique_lock<std::mutex> lock(m);
    while (!done && !dev.refused() && std::chrono::steady_clock::now() < until)
      cv.wait_for(lock, std::chrono::milliseconds(100));
    status = done ? 0 : dev.refused() ? 3 : 1;
  }
  // QoS 1: wait until the broker acknowledged every message.
  while (status == 0 && (dev.in_flight() > 0 || probe.in_flight() > 0) && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  hostile.report();
  dev.stop();
  probe.stop();
  if (status == 1) log("no final theta within %u s", o.timeout);
  return status;
}
