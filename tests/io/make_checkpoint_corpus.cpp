// Writes the seed corpus of the checkpoint fuzzer (tests/fuzz/fuzz_checkpoint.cpp)
// into a folder, each file with the fuzzer's control byte in front:
//   flash_*: two-slot regions of its model made by CheckpointRegion::save
//     (two checkpoints, one, a torn second save, blank flash, two slots with
//     equal sequence numbers, the largest sequence number), as they are
//     and with the CRC-refresh bit, one with reads failing half-way;
//   files_*: checkpoint files whose content is a meta::Server state (three
//     generations; only PATH; PATH.prev newest; small load buffers), as they
//     are and with the CRC-refresh bit.
//   make_checkpoint_corpus tests/fuzz/checkpoint_corpus
#include <tinyadapt/io/checkpoint_file.hpp>
#include <tinyadapt/io/flash_checkpoint.hpp>
#include <tinyadapt/meta/server.hpp>
#include <tinyadapt/tinyadapt.hpp>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace ta = tinyadapt;
namespace io = tinyadapt::io;

using Net = ta::Sequential<ta::Input<4, 4, 1>, ta::Conv2D<2, 3>, ta::ReLU, ta::Flatten, ta::Dense<3>>;
using Server = ta::meta::Server<Net>;
constexpr std::size_t slot = io::checkpoint_slot_bytes<Net>();

struct RamFlash {
  unsigned char mem[2 * slot];
  std::size_t program_budget = ~std::size_t{0};  // bytes programmed before "power is cut"
  bool erase(std::size_t at, std::size_t n) {
    std::memset(mem + at, 0xFF, n);
    return true;
  }
  bool program(std::size_t at, const unsigned char* p, std::size_t n) {
    for (std::size_t k = 0; k < n; ++k) {
      if (program_budget == 0) return false;
      --program_budget;
      mem[at + k] &= p[k];
    }
    return true;
  }
  bool read(std::size_t at, unsigned char* p, std::size_t n) {
    std::memcpy(p, mem + at, n);
    return true;
  }
};

std::string dir;
bool write(const std::string& name, unsigned char control, const std::vector<unsigned char>& data) {
  std::FILE* f = std::fopen((dir + "/" + name).c_str(), "wb");
  return f != nullptr && std::fwrite(&control, 1, 1, f) == 1 &&
         std::fwrite(data.data(), 1, data.size(), f) == data.size() && std::fclose(f) == 0;
}

// A checkpoint file's bytes: envelope + content.
std::vector<unsigned char> envelope(const std::vector<unsigned char>& content, std::uint32_t generation) {
  std::vector<unsigned char> f(io::checkpoint_file_header_bytes + content.size());
  std::memcpy(f.data(), "TAFC", 4);
  io::detail::put32(f.data() + 4, 1);
  io::detail::put32(f.data() + 8, generation);
  io::detail::put32(f.data() + 12, static_cast<std::uint32_t>(content.size()));
  io::detail::put32(f.data() + 16, io::crc32(content.data(), content.size()));
  io::detail::put32(f.data() + 20, io::crc32(f.data(), 20));
  for (std::size_t i = 0; i < content.size(); ++i) f[io::checkpoint_file_header_bytes + i] = content[i];
  return f;
}

// The fuzzer's file input: u16 length of PATH, PATH, u16 length of PATH.tmp, PATH.tmp, PATH.prev.
std::vector<unsigned char> files(const std::vector<unsigned char>& a, const std::vector<unsigned char>& b,
                                 const std::vector<unsigned char>& c) {
  std::vector<unsigned char> d;
  for (const auto* f : {&a, &b}) {
    d.push_back(static_cast<unsigned char>(f->size()));
    d.push_back(static_cast<unsigned char>(f->size() >> 8));
    d.insert(d.end(), f->begin(), f->end());
  }
  d.insert(d.end(), c.begin(), c.end());
  return d;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_checkpoint_corpus DIR\n");
    return 2;
  }
  dir = argv[1];
  static Net net;
  ta::Rng rng(9);
  net.init(rng);
  bool ok = true;

  // Flash regions (control bit 0 clear; bit 1 refreshes the CRCs; bits 2-7: reads fail from 8p on).
  static RamFlash flash;
  io::CheckpointRegion<RamFlash> region(flash, slot);
  const auto mem = [] { return std::vector<unsigned char>(flash.mem, flash.mem + sizeof flash.mem); };
  flash.erase(0, sizeof flash.mem);
  ok = ok && write("flash_blank", 0, mem());
  ok = ok && region.save(net, 1) == io::WireStatus::ok;
  ok = ok && write("flash_one", 0, mem()) && write("flash_one_refresh", 2, mem());
  net.parameters()[0] += 0.25f;
  ok = ok && region.save(net, 2) == io::WireStatus::ok;
  ok = ok && write("flash_two", 0, mem()) && write("flash_two_refresh", 2, mem());
  ok = ok && write("flash_two_read_error", static_cast<unsigned char>(40 << 2), mem());
  {  // both slots valid with the same sequence number (a forged region): newest() and load() must agree
    std::vector<unsigned char> tie = mem();
    unsigned char* r1 = tie.data() + slot;
    io::detail::put32(r1 + 4, io::detail::get32(tie.data() + 4));
    io::detail::put32(r1 + 12, io::crc32(r1, 12));
    ok = ok && write("flash_equal_sequences", 0, tie);
    io::detail::put32(r1 + 4, 0xFFFFFFFFu);  // a newest sequence save() cannot increment
    io::detail::put32(r1 + 12, io::crc32(r1, 12));
    ok = ok && write("flash_last_sequence", 0, tie);
  }
  flash.program_budget = 100;  // the third save torn in its message
  ok = ok && region.save(net, 3) == io::WireStatus::storage_error;
  flash.program_budget = ~std::size_t{0};
  ok = ok && write("flash_torn", 0, mem()) && write("flash_torn_refresh", 2, mem());

  // Checkpoint files of server states (control bit 0 set; bit 1 refreshes FNV, lengths and CRCs;
  // p bits 0-2: which files exist, bits 3-5: the load buffer's capacity).
  Server server(net, ta::LinearDecayLR{1.0f, 0.0f, 10});
  std::vector<unsigned char> state[3];
  for (auto& s : state) {
    s.resize(Server::state_bytes);
    ok = ok && server.save(s.data(), s.size()) == ta::Status::ok;
    const float z[Net::param_count] = {0.5f};
    ok = ok && server.add_delta(ta::Span<const float>(z, Net::param_count)) == ta::Status::ok &&
         server.end_round() == ta::Status::ok;
  }
  const auto g = [&](int i, std::uint32_t gen) { return envelope(state[i], gen); };
  const auto c = [](unsigned p, bool refresh) { return static_cast<unsigned char>(1u | (refresh ? 2u : 0u) | p << 2); };
  ok = ok && write("files_three", c(7, false), files(g(2, 3), g(1, 2), g(0, 1)));
  ok = ok && write("files_three_refresh", c(7, true), files(g(2, 3), g(1, 2), g(0, 1)));
  ok = ok && write("files_path_only", c(1, false), files(g(1, 2), {}, {}));
  ok = ok && write("files_prev_newest", c(7, false), files(g(0, 1), {}, g(2, 9)));
  ok = ok && write("files_tmp_newest_refresh", c(3, true), files(g(1, 2), g(2, 3), {}));
  ok = ok && write("files_exact_capacity", c(1 | 5u << 3, false), files(g(1, 2), {}, {}));
  ok = ok && write("files_small_capacity", c(7 | 4u << 3, false), files(g(2, 3), g(1, 2), envelope({1, 2, 3}, 4)));
  ok = ok && write("files_plain_content", c(5, false), files(envelope({7, 7, 7, 7}, 1), {}, envelope({}, 2)));
  if (!ok) std::fprintf(stderr, "make_checkpoint_corpus: cannot make the corpus in %s\n", dir.c_str());
  return ok ? 0 : 1;
}
