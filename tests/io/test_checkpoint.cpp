// Two-slot flash checkpoints (io/flash_checkpoint.hpp): a power cut at every
// byte of a save, and every single-byte corruption or truncation of the newest
// slot, leave the previous checkpoint loadable; a region with no valid slot
// is refused with the network bit-identical. Host and Cortex-M4.
#include <tinyadapt/io/flash_checkpoint.hpp>
#include <tinyadapt/tinyadapt.hpp>

#include <cstring>

#include "support/test.hpp"

namespace ta = tinyadapt;
namespace io = tinyadapt::io;

namespace {

using Net = ta::Sequential<ta::Input<4, 4, 1>, ta::Conv2D<2, 3>, ta::ReLU, ta::Flatten, ta::Dense<3>>;
constexpr std::size_t slot = io::checkpoint_slot_bytes<Net>();

// NOR-flash-like: erase sets 0xFF, programming only clears bits. A power cut
// after `budget` erased or programmed bytes: the rest of the writes never happen.
struct FakeFlash {
  unsigned char mem[2 * slot];
  std::size_t budget = ~std::size_t{0}, used = 0;
  bool fail_reads = false;
  bool erase(std::size_t at, std::size_t n) {
    for (std::size_t i = 0; i < n && used < budget; ++i, ++used) mem[at + i] = 0xFF;
    return true;
  }
  bool program(std::size_t at, const unsigned char* p, std::size_t n) {
    for (std::size_t i = 0; i < n && used < budget; ++i, ++used) mem[at + i] &= p[i];
    return true;
  }
  bool read(std::size_t at, unsigned char* p, std::size_t n) {
    if (fail_reads) return false;
    std::memcpy(p, mem + at, n);
    return true;
  }
};

FakeFlash flash, saved_flash;
Net a, b, probe;

bool same(const Net& x, const Net& y) {
  return std::memcmp(x.parameters().data(), y.parameters().data(), sizeof(float) * Net::param_count) == 0;
}

// Region with checkpoint 1 (a, round 10) and checkpoint 2 (b, round 11).
void two_checkpoints() {
  ta::Rng ra(1), rb(2);
  a.init(ra);
  b.init(rb);
  std::memset(flash.mem, 0xFF, sizeof flash.mem);
  flash.budget = ~std::size_t{0};
  io::CheckpointRegion<FakeFlash> r(flash, slot);
  REQUIRE(r.save(a, 10) == io::WireStatus::ok);
  REQUIRE(r.save(b, 11) == io::WireStatus::ok);
  saved_flash = flash;
}

// Loads into probe (pre-set to a pattern); the sequence loaded, 0 if refused (probe then unchanged).
std::uint32_t load_probe(FakeFlash& f, bool& unchanged_if_refused) {
  for (std::size_t i = 0; i < Net::param_count; ++i) probe.parameters()[i] = 0.125f * static_cast<float>(i);
  static Net pattern;
  pattern = probe;
  io::CheckpointRegion<FakeFlash> r(f, slot);
  io::CheckpointInfo c;
  const io::WireStatus s = r.load(probe, &c);
  unchanged_if_refused = s == io::WireStatus::ok || same(probe, pattern);
  return s == io::WireStatus::ok ? c.sequence : 0;
}

}  // namespace

TEST_CASE("flash checkpoint: save, load newest, alternate slots") {
  two_checkpoints();
  io::CheckpointRegion<FakeFlash> r(flash, slot);
  CHECK(r.newest<Net>().sequence == 2u);
  CHECK(r.newest<Net>().round == 11u);
  CHECK(r.newest<Net>().slot == 1u);
  bool ok = false;
  CHECK(load_probe(flash, ok) == 2u);
  CHECK(same(probe, b));
  REQUIRE(r.save(a, 12) == io::WireStatus::ok);  // into slot 0, over checkpoint 1
  CHECK(r.newest<Net>().slot == 0u);
  CHECK(load_probe(flash, ok) == 3u);
  CHECK(same(probe, a));
  io::CheckpointRegion<FakeFlash> small(flash, slot - 1);
  CHECK(small.save(a, 13) == io::WireStatus::buffer_too_small);
  using Other = ta::Sequential<ta::Input<4, 4, 1>, ta::Conv2D<2, 3>, ta::Tanh, ta::Flatten, ta::Dense<3>>;
  static Other other;
  CHECK(r.load(other) == io::WireStatus::no_checkpoint);  // another model's checkpoints
}

TEST_CASE("flash checkpoint: sequences are serial numbers; a save after 0xFFFFFFFF, forged or not, is the newest") {
  CHECK(io::later_sequence(2, 1));
  CHECK(io::later_sequence(1, 0xFFFFFFFFu));  // next_sequence skips 0
  CHECK(io::next_sequence(0xFFFFFFFFu) == 1u);
  CHECK_FALSE(io::later_sequence(1, 2));
  CHECK_FALSE(io::later_sequence(5, 5));
  CHECK_FALSE(io::later_sequence(0x80000001u, 1));  // 2^31 apart: a tie, either way
  CHECK_FALSE(io::later_sequence(1, 0x80000001u));
  // slot's record rewritten to sequence seq, with a valid record CRC (what a forger could do).
  auto forge = [](std::size_t slot_index, std::uint32_t seq) {
    unsigned char* record = flash.mem + slot_index * slot;
    io::detail::put32(record + 4, seq);
    io::detail::put32(record + 12, io::crc32(record, 12));
  };
  io::CheckpointRegion<FakeFlash> r(flash, slot);
  bool ok = false;
  two_checkpoints();
  forge(1, 0xFFFFFFFFu);  // next to sequence 1 it is the older one (1 comes after it)
  CHECK(r.newest<Net>().slot == 0u);
  CHECK(load_probe(flash, ok) == 1u);
  forge(0, 0xFFFFFFFEu);  // now it is the newest
  CHECK(r.newest<Net>().sequence == 0xFFFFFFFFu);
  CHECK(load_probe(flash, ok) == 0xFFFFFFFFu);
  CHECK(same(probe, b));
  REQUIRE(r.save(a, 20) == io::WireStatus::ok);  // over slot 0, sequence 1
  CHECK(r.newest<Net>().slot == 0u);
  CHECK(load_probe(flash, ok) == 1u);
  CHECK(same(probe, a));
  REQUIRE(r.save(b, 21) == io::WireStatus::ok);  // and on: slot 1, sequence 2
  CHECK(load_probe(flash, ok) == 2u);
  CHECK(same(probe, b));
  // Slots 2^31 apart tie: slot 0 is the newest, and a save goes on from it.
  two_checkpoints();
  forge(0, 7);
  forge(1, 7 + 0x80000000u);
  CHECK(r.newest<Net>().slot == 0u);
  CHECK(load_probe(flash, ok) == 7u);
  CHECK(same(probe, a));
  REQUIRE(r.save(b, 22) == io::WireStatus::ok);
  CHECK(r.newest<Net>().sequence == 8u);
  CHECK(r.newest<Net>().slot == 1u);
}

TEST_CASE("flash checkpoint: a power cut at every byte of a save leaves the old or the new one") {
  two_checkpoints();
  ta::Rng rc(3);
  static Net c;
  c.init(rc);
  // Bytes a whole save erases and programs: slot erase + message + record.
  const std::size_t total = slot + (slot - io::checkpoint_record_bytes) + io::checkpoint_record_bytes;
  std::size_t old_loaded = 0, new_loaded = 0, other = 0, touched = 0;
  for (std::size_t cut = 0; cut <= total; ++cut) {
    flash = saved_flash;
    flash.budget = cut, flash.used = 0;
    io::CheckpointRegion<FakeFlash> r(flash, slot);
    r.save(c, 12);
    flash.budget = ~std::size_t{0};  // power back
    bool ok = false;
    const std::uint32_t seq = load_probe(flash, ok);
    touched += !ok;
    if (seq == 2 && same(probe, b)) ++old_loaded;
    else if (seq == 3 && same(probe, c)) ++new_loaded;
    else ++other;
  }
  CHECK(other == 0);
  CHECK(touched == 0);
  CHECK(new_loaded == 1);  // only when the record's last byte was written
  CHECK(old_loaded == total);
}

TEST_CASE("flash checkpoint: every corruption and truncation of the newest slot falls back to the previous one") {
  two_checkpoints();
  std::size_t fell_back = 0, wrong = 0;
  // Slot 1 holds checkpoint 2: flip every byte, and erase its tail from every position (a torn write).
  for (std::size_t at = 0; at < slot; ++at) {
    for (int how = 0; how < 2; ++how) {
      flash = saved_flash;
      if (how == 0) flash.mem[slot + at] ^= 0x01;
      else std::memset(flash.mem + slot + at, 0xFF, slot - at);
      bool ok = false;
      const std::uint32_t seq = load_probe(flash, ok);
      if (seq == 1 && same(probe, a) && ok) ++fell_back;
      else ++wrong;
    }
  }
  CHECK(wrong == 0);
  CHECK(fell_back == 2 * slot);
  // Both slots broken: refused, the network unchanged.
  flash = saved_flash;
  flash.mem[100] ^= 0x80;
  flash.mem[slot + 100] ^= 0x80;
  bool unchanged = false;
  CHECK(load_probe(flash, unchanged) == 0u);
  CHECK(unchanged);
  flash = saved_flash;
  flash.fail_reads = true;
  CHECK(load_probe(flash, unchanged) == 0u);
  CHECK(unchanged);
  std::memset(flash.mem, 0xFF, sizeof flash.mem);  // blank flash
  flash.fail_reads = false;
  CHECK(load_probe(flash, unchanged) == 0u);
  CHECK(unchanged);
}
