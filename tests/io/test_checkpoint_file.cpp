// Checkpoint files (io/checkpoint_file.hpp), with meta::Server's state as the
// content: truncation at every length and corruption of every byte of the
// newest file fall back to the previous generation; the states a kill can
// leave between the steps of a save all load. Host only (POSIX files).
#include <tinyadapt/io/checkpoint_file.hpp>
#include <tinyadapt/tinyadapt.hpp>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <unistd.h>

#include "support/test.hpp"

namespace ta = tinyadapt;
namespace io = tinyadapt::io;

namespace {

using Net = ta::Sequential<ta::Input<2>, ta::Dense<4>, ta::Tanh, ta::Dense<1>>;
using Server = ta::meta::Server<Net>;

std::string temp_dir() {
  char tmpl[] = "/tmp/tinyadapt_ckpt_XXXXXX";
  const char* d = ::mkdtemp(tmpl);
  REQUIRE(d != nullptr);
  return d;
}

std::vector<unsigned char> file_bytes(const std::string& p) {
  std::vector<unsigned char> v;
  if (std::FILE* f = std::fopen(p.c_str(), "rb")) {
    int c;
    while ((c = std::fgetc(f)) != EOF) v.push_back(static_cast<unsigned char>(c));
    std::fclose(f);
  }
  return v;
}
void put_file(const std::string& p, const std::vector<unsigned char>& v, std::size_t n) {
  std::FILE* f = std::fopen(p.c_str(), "wb");
  REQUIRE(f != nullptr);
  if (n > 0) REQUIRE(std::fwrite(v.data(), 1, n, f) == n);
  std::fclose(f);
}

// The state of a server after `rounds` rounds of one update each.
std::vector<unsigned char> server_state(std::uint32_t rounds) {
  Net net;
  ta::Rng rng(1);
  net.init(rng);
  static Server s(net, ta::LinearDecayLR{0.5f, 0.1f, 100});
  s = Server(net, ta::LinearDecayLR{0.5f, 0.1f, 100});
  float phi[Net::param_count];
  for (std::uint32_t r = 0; r < rounds; ++r) {
    for (std::size_t i = 0; i < Net::param_count; ++i) phi[i] = 0.01f * static_cast<float>(i + r);
    REQUIRE(s.add(ta::Span<const float>(phi, Net::param_count)) == ta::Status::ok);
    REQUIRE(s.end_round() == ta::Status::ok);
  }
  std::vector<unsigned char> v(Server::state_bytes);
  REQUIRE(s.save(v.data(), v.size()) == ta::Status::ok);
  return v;
}

void remove_all(const std::string& dir, const std::string& path) {
  for (const char* suffix : {"", ".tmp", ".prev", ".next", ".next.prev", ".next.tmp"}) ::unlink((path + suffix).c_str());
  ::rmdir(dir.c_str());
}

// Loads the checkpoint and restores a server from it: the generation, or 0.
std::uint32_t load_round(const std::string& path) {
  std::vector<unsigned char> buf(Server::state_bytes + 64);
  io::FileCheckpoint c;
  if (io::load_checkpoint_file(path.c_str(), buf.data(), buf.size(), &c) != io::WireStatus::ok) return 0;
  Net net;
  ta::Rng rng(9);
  net.init(rng);
  static Server s(net, ta::LinearDecayLR{0.5f, 0.1f, 100});
  if (s.load(buf.data(), c.bytes) != ta::Status::ok) return 0;
  return s.round() == c.generation ? c.generation : 0;
}

}  // namespace

TEST_CASE("checkpoint file: save, load, keep the previous generation") {
  const std::string dir = temp_dir(), path = dir + "/server.ckpt";
  CHECK(load_round(path) == 0u);
  const auto s1 = server_state(1), s2 = server_state(2);
  REQUIRE(io::save_checkpoint_file(path.c_str(), s1.data(), s1.size(), 1) == io::WireStatus::ok);
  CHECK(load_round(path) == 1u);
  REQUIRE(io::save_checkpoint_file(path.c_str(), s2.data(), s2.size(), 2) == io::WireStatus::ok);
  CHECK(load_round(path) == 2u);
  CHECK(file_bytes(path + ".prev").size() == s1.size() + io::checkpoint_file_header_bytes);
  std::vector<unsigned char> small(10);
  CHECK(io::load_checkpoint_file(path.c_str(), small.data(), small.size()) == io::WireStatus::no_checkpoint);
  CHECK(io::save_checkpoint_file((dir + "/no/such/dir/x").c_str(), s1.data(), s1.size(), 1) ==
        io::WireStatus::storage_error);
  remove_all(dir, path);
}

TEST_CASE("checkpoint file: every truncation and byte corruption of the newest falls back to the previous") {
  const std::string dir = temp_dir(), path = dir + "/server.ckpt";
  const auto s1 = server_state(1), s2 = server_state(2);
  REQUIRE(io::save_checkpoint_file(path.c_str(), s1.data(), s1.size(), 1) == io::WireStatus::ok);
  REQUIRE(io::save_checkpoint_file(path.c_str(), s2.data(), s2.size(), 2) == io::WireStatus::ok);
  const std::vector<unsigned char> good = file_bytes(path);
  std::size_t wrong = 0;
  for (std::size_t n = 0; n < good.size(); ++n) {
    put_file(path, good, n);
    wrong += load_round(path) != 1u;
  }
  for (std::size_t at = 0; at < good.size(); ++at) {
    std::vector<unsigned char> bad = good;
    bad[at] ^= 0x20;
    put_file(path, bad, bad.size());
    wrong += load_round(path) != 1u;
  }
  std::vector<unsigned char> longer = good;
  longer.push_back(0);
  put_file(path, longer, longer.size());
  wrong += load_round(path) != 1u;
  CHECK(wrong == 0);
  ::unlink(path.c_str());
  ::unlink((path + ".prev").c_str());
  CHECK(load_round(path) == 0u);
  remove_all(dir, path);
}

TEST_CASE("checkpoint file: every state a kill leaves between the steps of a save loads") {
  const std::string dir = temp_dir(), path = dir + "/server.ckpt";
  const auto s1 = server_state(1), s2 = server_state(2), s3 = server_state(3);
  REQUIRE(io::save_checkpoint_file(path.c_str(), s1.data(), s1.size(), 1) == io::WireStatus::ok);
  REQUIRE(io::save_checkpoint_file(path.c_str(), s2.data(), s2.size(), 2) == io::WireStatus::ok);
  // A save of generation 3, killed: (a) while writing PATH.tmp (every length).
  REQUIRE(io::save_checkpoint_file((path + ".next").c_str(), s3.data(), s3.size(), 3) == io::WireStatus::ok);
  const std::vector<unsigned char> next = file_bytes(path + ".next");
  std::size_t wrong = 0;
  for (std::size_t n = 0; n < next.size(); ++n) {
    put_file(path + ".tmp", next, n);
    wrong += load_round(path) != 2u;
  }
  // (b) after PATH.tmp was synced; (c) after PATH became PATH.prev; (d) done.
  put_file(path + ".tmp", next, next.size());
  wrong += load_round(path) != 3u;
  REQUIRE(::rename(path.c_str(), (path + ".prev").c_str()) == 0);
  wrong += load_round(path) != 3u;
  ::unlink((path + ".tmp").c_str());
  wrong += load_round(path) != 2u;  // PATH gone, PATH.tmp lost: the previous generation
  CHECK(wrong == 0);
  remove_all(dir, path);
}
