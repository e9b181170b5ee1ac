// What the federation's host programs (fleet_server, fleet_device,
// fleet_bridge) share: the topics, a libmosquitto client that reconnects by
// itself and subscribes again after every connect, log lines, --dump files,
// option parsing, and the loop of a device process.
//
// Topics (the broker's ACL, broker.sh, enforces who may use which):
//   tinyadapt/fleet/theta            θ of the open round (retained, QoS 1): server → all
//   tinyadapt/fleet/update/device-N  device N's φ for a round (QoS 1): device N → server
//   tinyadapt/fleet/status/<user>    "online"/"offline" (will) of each client
// Round and device ids travel in the wire header (io/message.hpp), never in
// the topic alone: the server checks that both agree.
#pragma once
#include <mosquitto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace fleet {

inline const std::string topic_prefix = "tinyadapt/fleet/";
inline const std::string theta_topic = topic_prefix + "theta";
inline const std::string update_prefix = topic_prefix + "update/";
inline std::string device_user(std::uint32_t id) { return "device-" + std::to_string(id); }
inline std::string update_topic(std::uint32_t id) { return update_prefix + device_user(id); }

// The device id of "device-N" (N decimal, no leading zeros); false otherwise.
inline bool parse_device_user(const std::string& s, std::uint32_t& id) {
  const std::string p = "device-";
  if (s.compare(0, p.size(), p) != 0 || s.size() == p.size() || s.size() > p.size() + 9) return false;
  if (s[p.size()] == '0' && s.size() > p.size() + 1) return false;
  std::uint32_t v = 0;
  for (std::size_t i = p.size(); i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + static_cast<std::uint32_t>(s[i] - '0');
  }
  id = v;
  return true;
}

// ---------------------------------------------------------------------------
// Log lines: "[  12.345 s] name: text", one line at a time, to stdout.

inline std::string& log_name() {
  static std::string n = "fleet";
  return n;
}
inline double seconds_since_start() {
  static const auto t0 = std::chrono::steady_clock::now();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
__attribute__((format(printf, 1, 2))) inline void log(const char* fmt, ...) {
  static std::mutex m;
  char text[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  std::lock_guard<std::mutex> lock(m);
  std::printf("[%8.3f s] %s: %s\n", seconds_since_start(), log_name().c_str(), text);
  std::fflush(stdout);
}

// ---------------------------------------------------------------------------
// --dump DIR: every message sent or received, one file each, numbered.

class Dump {
 public:
  bool open(const std::string& dir) {
    dir_ = dir;
    if (dir_.empty()) return true;
    mkdir(dir_.c_str(), 0777);
    struct stat st;
    return stat(dir_.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  }
  // what: e.g. "sent_theta_r3" or "recv_device-4_r3"
  void write(const std::string& what, const unsigned char* p, std::size_t n) {
    if (dir_.empty()) return;
    char name[64];
    std::snprintf(name, sizeof name, "%06u_", next_++);
    const std::string path = dir_ + "/" + name + log_name() + "_" + what + ".msg";
    FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr || std::fwrite(p, 1, n, f) != n) log("cannot write %s", path.c_str());
    if (f != nullptr) std::fclose(f);
  }

 private:
  std::string dir_;
  std::atomic<unsigned> next_{0};
};

// ---------------------------------------------------------------------------
// The broker connection.

struct BrokerOptions {
  std::string host = "127.0.0.1";
  int port = 1883;
  std::string user, password;
  std::string cafile;  // TLS when set (certificate of the broker's CA)
  int keepalive = 10;
  std::string client_id;  // the MQTT client id; the user name when empty

};

// The password of `user` from a credentials file ("user password" lines, as
// broker.sh writes it); empty when the user is not in it.
inline std::string password_from(const std::string& file, const std::string& user) {
  FILE* f = std::fopen(file.c_str(), "r");
  if (f == nullptr) return "";
  char u[128], p[256];
  std::string found;
  while (std::fscanf(f, "%127s %255s", u, p) == 2)
    if (user == u) found = p;
  std::fclose(f);
  return found;
}

class Client {
 public:
  using MessageFn = std::function<void(const std::string& topic, const unsigned char* p, std::size_t n)>;
  using ConnectFn = std::function<void()>;

  Client(BrokerOptions o, std::vector<std::string> subscriptions, MessageFn on_message, ConnectFn on_connect = {})
      : o_(std::move(o)), subs_(std::move(subscriptions)), on_message_(std::move(on_message)),
        on_connect_(std::move(on_connect)) {}
  ~Client() { stop(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Starts the network thread; it connects (and reconnects, every 1-4 s)
  // until stop(). False when the client cannot be set up at all.
  bool start() {
    mosquitto_lib_init();
    m_ = mosquitto_new((o_.client_id.empty() ? o_.user : o_.client_id).c_str(), true, this);
    if (m_ == nullptr) return false;
    mosquitto_username_pw_set(m_, o_.user.c_str(), o_.password.c_str());
    const std::string status = topic_prefix + "status/" + o_.user;
    mosquitto_will_set(m_, status.c_str(), 7, "offline", 1, true);
    if (!o_.cafile.empty() && mosquitto_tls_set(m_, o_.cafile.c_str(), nullptr, nullptr, nullptr, nullptr) != 0) {
      log("cannot use the CA certificate %s", o_.cafile.c_str());
      return false;
    }
    mosquitto_connect_callback_set(m_, &Client::connected_cb);
    mosquitto_disconnect_callback_set(m_, &Client::disconnected_cb);
    mosquitto_message_callback_set(m_, &Client::message_cb);
    mosquitto_publish_callback_set(m_, &Client::published_cb);
    mosquitto_reconnect_delay_set(m_, 1, 4, true);
    const int rc = mosquitto_connect_async(m_, o_.host.c_str(), o_.port, o_.keepalive);
    if (rc != MOSQ_ERR_SUCCESS)  // the network thread keeps trying
      log("broker %s:%d not reachable yet (%s); retrying", o_.host.c_str(), o_.port, mosquitto_strerror(rc));
    return mosquitto_loop_start(m_) == MOSQ_ERR_SUCCESS;
  }

  void stop() {
    if (m_ == nullptr) return;
    mosquitto_disconnect(m_);
    mosquitto_loop_stop(m_, false);
    mosquitto_destroy(m_);
    mosquitto_lib_cleanup();
    m_ = nullptr;
  }

  // QoS 1. False when the library refused it (not connected: the caller
  // publishes again after the next connect).
  bool publish(const std::string& topic, const unsigned char* p, std::size_t n, bool retain = false) {
    ++in_flight_;
    const int rc = mosquitto_publish(m_, nullptr, topic.c_str(), static_cast<int>(n), p, 1, retain);
    if (rc != MOSQ_ERR_SUCCESS) --in_flight_, log("publish on %s failed: %s", topic.c_str(), mosquitto_strerror(rc));
    return rc == MOSQ_ERR_SUCCESS;
  }
  // Messages of publish() the broker has not acknowledged yet.
  int in_flight() const { return in_flight_; }
  bool connected() const { return connected_; }
  bool refused() const { return refused_; }  // the broker refused the login (wrong user or password)
  unsigned connects() const { return connects_; }

 private:
  static void connected_cb(mosquitto* m, void* self, int rc) { static_cast<Client*>(self)->on_connected(m, rc); }
  static void disconnected_cb(mosquitto*, void* self, int rc) {
    auto* c = static_cast<Client*>(self);
    c->connected_ = false;
    if (rc != 0) log("lost the broker (%s); reconnecting", mosquitto_strerror(rc));
  }
  static void published_cb(mosquitto*, void* self, int) { --static_cast<Client*>(self)->in_flight_; }
  static void message_cb(mosquitto*, void* self, const mosquitto_message* msg) {
    auto* c = static_cast<Client*>(self);
    c->on_message_(msg->topic, static_cast<const unsigned char*>(msg->payload),
                   static_cast<std::size_t>(msg->payloadlen < 0 ? 0 : msg->payloadlen));
  }
  void on_connected(mosquitto* m, int rc) {
    if (rc != 0) {
      log("the broker refused the login of %s: %s", o_.user.c_str(), mosquitto_connack_string(rc));
      refused_ = rc == 4 || rc == 5;  // bad user name or password, not authorised
      return;
    }
    for (const std::string& t : subs_) mosquitto_subscribe(m, nullptr, t.c_str(), 1);
    const std::string status = topic_prefix + "status/" + o_.user;
    ++in_flight_;
    if (mosquitto_publish(m, nullptr, status.c_str(), 6, "online", 1, true) != MOSQ_ERR_SUCCESS) --in_flight_;
    ++connects_;
    connected_ = true;
    log("connected to %s:%d as %s%s", o_.host.c_str(), o_.port, o_.user.c_str(),
        connects_ > 1 ? " (again)" : "");
    if (on_connect_) on_connect_();
  }

  BrokerOptions o_;
  std::vector<std::string> subs_;
  MessageFn on_message_;
  ConnectFn on_connect_;
  mosquitto* m_ = nullptr;
  std::atomic<bool> connected_{false}, refused_{false};
  std::atomic<unsigned> connects_{0};
  std::atomic<int> in_flight_{0};
};

// ---------------------------------------------------------------------------
// Options: --name value pairs and flags, from tables of names and fields.

struct Args {
  std::vector<std::pair<const char*, std::string*>> strings;
  std::vector<std::pair<const char*, std::uint32_t*>> numbers;
  std::vector<std::pair<const char*, double*>> reals;
  std::vector<std::pair<const char*, bool*>> flags;

  // The unknown argument or the one with a bad value, or "" when all parsed.
  std::string parse(int argc, char** argv) const {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      bool known = false;
      for (const auto& [name, f] : flags)
        if (a == name) *f = true, known = true;
      if (known) continue;
      if (i + 1 >= argc) return "missing value after " + a;
      const char* v = argv[i + 1];
      char* end = nullptr;
      for (const auto& [name, f] : strings)
        if (a == name) *f = v, known = true;
      for (const auto& [name, f] : numbers)
        if (a == name) {
          const unsigned long x = std::strtoul(v, &end, 10);
          if (end == v || *end != '\0' || x > 0xFFFFFFFFul) return "not a number after " + a;
          *f = static_cast<std::uint32_t>(x), known = true;
        }
      for (const auto& [name, f] : reals)
        if (a == name) {
          *f = std::strtod(v, &end);
          if (end == v || *end != '\0') return "not a number after " + a;
          known = true;
        }
      if (!known) return "unknown argument " + a;
      ++i;
    }
    return "";
  }
};

inline BrokerOptions broker_from(const std::string& host, std::uint32_t port, const std::string& user,
                                 const std::string& credentials, const std::string& cafile) {
  BrokerOptions b;
  b.host = host;
  b.port = static_cast<int>(port);
  b.user = user;
  b.password = password_from(credentials, user);
  b.cafile = cafile;
  return b;
}

// ---------------------------------------------------------------------------
// A device process (fleet_device, fleet_bridge): the options they share,
// and the loop that hands every θ to the device until the final one.

struct DeviceOptions {
  std::string host = "127.0.0.1", credentials, dump, cafile;
  std::uint32_t id = 0, port = 0, rounds = 20, seed = 1, k = 10, timeout = 600;
};

[[noreturn]] inline void usage_exit(const std::string& why, const char* usage) {
  std::fprintf(stderr, "%s\n%s", why.c_str(), usage);
  std::exit(2);
}

// The shared device options and those `a` already names, from argv; exits
// with status 2 (why, and the usage text) on an error.
inline void parse_device_args(int argc, char** argv, Args& a, DeviceOptions& o, const char* usage) {
  a.strings.insert(a.strings.end(), {{"--host", &o.host}, {"--credentials", &o.credentials}, {"--dump", &o.dump},
                                     {"--cafile", &o.cafile}});
  a.numbers.insert(a.numbers.end(), {{"--id", &o.id}, {"--port", &o.port}, {"--rounds", &o.rounds},
                                     {"--seed", &o.seed}, {"--k", &o.k}, {"--timeout", &o.timeout}});
  const std::string bad = a.parse(argc, argv);
  if (!bad.empty()) usage_exit(bad, usage);
  bool has_id = false;
  for (int i = 1; i < argc; ++i) has_id = has_id || std::string(argv[i]) == "--id";
  if (!has_id || o.port == 0 || o.port > 65535 || o.credentials.empty())
    usage_exit("--id, --port and --credentials are required", usage);
  if (o.k == 0 || o.k > 100000) usage_exit("--k must be in 1..100000", usage);
}

// Connects as device-<id> and calls on_theta(client, bytes, n) on the
// network thread for every message on the θ topic; on_theta returns true
// for the final θ. Exit status: 0 after the final θ, 1 after --timeout
// seconds without it, 3 when the broker refuses the login.
template <class OnTheta>
int run_device_process(const DeviceOptions& o, OnTheta&& on_theta) {
  BrokerOptions b = broker_from(o.host, o.port, device_user(o.id), o.credentials, o.cafile);
  if (b.password.empty()) return log("no password for %s in %s", b.user.c_str(), o.credentials.c_str()), 2;
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  Client* client = nullptr;
  Client c(b, {theta_topic}, [&](const std::string& topic, const unsigned char* p, std::size_t n) {
    if (topic != theta_topic) return log("ignored a message on unexpected topic %s (%zu bytes)", topic.c_str(), n);
    if (!on_theta(*client, p, n)) return;
    std::lock_guard<std::mutex> lock(m);
    done = true;
    cv.notify_all();
  });
  client = &c;
  if (!c.start()) return log("cannot start the MQTT client"), 1;
  int status = 1;
  {
    std::unique_lock<std::mutex> lock(m);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(o.timeout);
    while (!done && !c.refused() && std::chrono::steady_clock::now() < until)
      cv.wait_for(lock, std::chrono::milliseconds(200));
    status = done ? 0 : c.refused() ? 3 : 1;
  }
  c.stop();
  if (status == 1) log("no final theta within %u s; giving up", o.timeout);
  if (status == 3) log("login refused; giving up");
  return status;
}

}  // namespace fleet
