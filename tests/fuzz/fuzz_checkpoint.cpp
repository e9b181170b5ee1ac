// libFuzzer target for the checkpoint loaders:
//
// Flash (io/flash_checkpoint.hpp, CheckpointRegion): the input is the
// two-slot region (slot 0 from its first byte; bytes past the input read as
// erased flash), optionally with reads failing from a given offset on.
//   - newest() and load() agree: load() is ok exactly when newest() names a
//     slot, and then loads that slot (sequence, slot, round); the network is
//     then N finite values equal to decode_message of that slot's message;
//   - a refusal is no_checkpoint and leaves the network bit-identical;
//   - save() into a RAM copy of the region: ok (whatever the sequences, a
//     forged 0xFFFFFFFF included), and then newest() is the new checkpoint
//     (the next sequence), load() gives the saved network bit for bit and the
//     other slot's bytes are untouched.
//
// Files (io/checkpoint_file.hpp) and meta::Server state: the input is split
// into up to three files PATH, PATH.tmp, PATH.prev in a private temporary
// folder.
//   - load_checkpoint_file agrees with an independent check of the envelope
//     (magic, version, header CRC, length, capacity, content CRC): ok with the
//     newest valid generation (the first file on a tie), its source, size and
//     content bytes, or no_checkpoint when no file is valid;
//   - the loaded content into meta::Server::load: refused leaves the server's
//     saved state bit-identical; accepted gives a finite θ, save() writes the
//     same state bytes back, and a round (a zero Δ, end_round) keeps θ finite
//     whatever the loaded schedule.
//
// Input: one control byte, then the data. Bit 0: 0 flash, 1 files. Bit 1:
// recompute the CRCs (flash: each slot's record CRC and its message's header
// and trailer CRCs; files: the server state's FNV-1a, each envelope's length,
// content CRC and header CRC), so mutations reach the checks behind them.
// Bits 2-7 (p): flash: reads of offsets >= 8p fail (p = 0: no read errors);
// files: bits 0-2 of p say which of the three files exist, bits 3-5 pick the
// capacity of the load buffer. Files: the two bytes after the control byte
// are the length of PATH, the next two that of PATH.tmp (each cut to what is
// left), PATH.prev has the rest. The seeds (tests/fuzz/checkpoint_corpus/)
// are written by tests/io/make_checkpoint_corpus.cpp.
#include <tinyadapt/io/checkpoint_file.hpp>
#include <tinyadapt/io/decoder.hpp>
#include <tinyadapt/io/flash_checkpoint.hpp>
#include <tinyadapt/io/model_message.hpp>
#include <tinyadapt/meta/server.hpp>
#include <tinyadapt/tinyadapt.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <unistd.h>

namespace ta = tinyadapt;
namespace io = tinyadapt::io;

namespace {

// The model of the message fuzzer's corpus (47 parameters: a 256-byte slot).
using Net = ta::Sequential<ta::Input<4, 4, 1>, ta::Conv2D<2, 3>, ta::ReLU, ta::Flatten, ta::Dense<3>>;
constexpr std::size_t N = Net::param_count;
constexpr std::size_t slot = io::checkpoint_slot_bytes<Net>();
constexpr std::size_t region = 2 * slot;
using Server = ta::meta::Server<Net>;

unsigned long long runs = 0, flash_loaded = 0, files_loaded = 0, server_loaded = 0, saves_after_wrap = 0;
void print_counters() {
  std::fprintf(stderr,
               "fuzz_checkpoint: %llu inputs; flash checkpoints loaded %llu (saves past sequence 0xFFFFFFFF %llu); checkpoint files "
               "loaded %llu, of them server states accepted %llu\n",
               runs, flash_loaded, saves_after_wrap, files_loaded, server_loaded);
}

[[noreturn]] void broken(const char* what, io::WireStatus s) {
  std::fprintf(stderr, "fuzz_checkpoint: %s (status: %s)\n", what, io::to_string(s));
  __builtin_trap();
}

void fill_pattern(float* v, float shift = 0.0f) {
  for (std::size_t i = 0; i < N; ++i) v[i] = static_cast<float>(i) * 0.5f - 3.0f + shift;
}

// Flash over a RAM copy: erase to 0xFF, program as NOR flash (bits only
// cleared), reads of offsets >= fail_from fail.
struct RamFlash {
  unsigned char mem[region];
  std::size_t fail_from = region;
  bool erase(std::size_t at, std::size_t n) {
    if (at + n > region) return false;
    std::memset(mem + at, 0xFF, n);
    return true;
  }
  bool program(std::size_t at, const unsigned char* p, std::size_t n) {
    if (at + n > region) return false;
    for (std::size_t k = 0; k < n; ++k) mem[at + k] &= p[k];
    return true;
  }
  bool read(std::size_t at, unsigned char* p, std::size_t n) {
    if (at + n > region || at + n > fail_from) return false;
    std::memcpy(p, mem + at, n);
    return true;
  }
};

void refresh_slot_crcs(unsigned char* s) {
  io::detail::put32(s + 12, io::crc32(s, 12));
  unsigned char* m = s + io::checkpoint_record_bytes;
  const std::uint32_t bytes = io::detail::get32(s + 8);
  if (bytes < io::message_header_bytes + io::message_trailer_bytes || bytes > slot - io::checkpoint_record_bytes)
    return;
  io::detail::put32(m + 44, io::crc32(m, 44));
  io::detail::put32(m + bytes - 4, io::crc32(m, bytes - 4));
}

void fuzz_flash(const std::uint8_t* data, std::size_t n, bool refresh, unsigned p) {
  static RamFlash flash;
  std::memset(flash.mem, 0xFF, region);
  std::memcpy(flash.mem, data, n < region ? n : region);
  if (refresh)
    for (std::size_t s = 0; s < 2; ++s) refresh_slot_crcs(flash.mem + s * slot);
  flash.fail_from = p == 0 ? region : 8 * p;

  io::CheckpointRegion<RamFlash> r(flash, slot);
  const io::CheckpointInfo newest = r.newest<Net>();
  static Net net;
  float pattern[N];
  fill_pattern(pattern);
  fill_pattern(net.parameters().data());
  io::CheckpointInfo loaded;
  const io::WireStatus s = r.load(net, &loaded);
  if (newest.sequence == 0) {
    if (s != io::WireStatus::no_checkpoint) broken("load() without a valid slot did not say no_checkpoint", s);
    if (std::memcmp(net.parameters().data(), pattern, sizeof pattern) != 0)
      broken("a refused checkpoint region changed the network", s);
  } else {
    if (s != io::WireStatus::ok) broken("load() refused the slot newest() names", s);
    if (loaded.sequence != newest.sequence || loaded.slot != newest.slot || loaded.round != newest.round)
      broken("load() loaded another checkpoint than newest() names", s);
    if (!ta::all_finite(net.parameters().data(), N)) broken("a checkpoint loaded non-finite values", s);
    float expect[N];
    const unsigned char* m = flash.mem + newest.slot * slot + io::checkpoint_record_bytes;
    const io::WireStatus d = io::decode_message(m, io::detail::get32(m - io::checkpoint_record_bytes + 8),
                                                io::expect_for<Net>(io::kind_bit(io::PayloadKind::theta)),
                                                ta::Span<float>(expect, N));
    if (d != io::WireStatus::ok || std::memcmp(expect, net.parameters().data(), sizeof expect) != 0)
      broken("the loaded network is not the slot's message", d);
    ++flash_loaded;
  }

  // save() into the region as it is (reads working), then load.
  flash.fail_from = region;
  const io::CheckpointInfo before = r.newest<Net>();
  fill_pattern(net.parameters().data(), 100.0f);
  if (before.sequence != 0 && r.load(net) != io::WireStatus::ok) broken("the newest checkpoint does not load", s);
  if (before.sequence == 0xFFFFFFFFu) ++saves_after_wrap;
  unsigned char kept[slot];
  const std::size_t other = before.sequence == 0 ? 1 : before.slot;  // the slot save() must not touch
  std::memcpy(kept, flash.mem + other * slot, slot);
  static Net fresh;
  fill_pattern(fresh.parameters().data(), 1.0f);
  io::CheckpointInfo saved;
  const io::WireStatus w = r.save(fresh, 77, &saved);
  if (std::memcmp(kept, flash.mem + other * slot, slot) != 0) broken("save() wrote into the checkpoint it keeps", w);
  fill_pattern(net.parameters().data(), 200.0f);
  if (w == io::WireStatus::ok) {
    const io::CheckpointInfo now = r.newest<Net>();
    if (now.sequence != io::next_sequence(before.sequence) || now.sequence != saved.sequence || now.slot != saved.slot ||
        now.round != 77)
      broken("after save() newest() is not the saved checkpoint", w);
    io::CheckpointInfo got;
    if (r.load(net, &got) != io::WireStatus::ok || got.sequence != saved.sequence ||
        std::memcmp(net.parameters().data(), fresh.parameters().data(), sizeof(float) * N) != 0)
      broken("the saved checkpoint does not load bit for bit", w);
  } else {
    broken("save() refused on working flash", w);
  }
}

// ---------------------------------------------------------------------------

char dir[64], paths[3][128];

void write_file(int i, const unsigned char* p, std::size_t n) {
  std::FILE* f = std::fopen(paths[i], "wb");
  if (f == nullptr || (n > 0 && std::fwrite(p, 1, n, f) != n) || std::fclose(f) != 0) {
    std::fprintf(stderr, "fuzz_checkpoint: cannot write %s\n", paths[i]);
    std::abort();
  }
}

// The envelope checked without the library: content size, or -1.
long long valid_envelope(const unsigned char* f, std::size_t n, std::size_t capacity, std::uint32_t& generation) {
  if (n < io::checkpoint_file_header_bytes || std::memcmp(f, "TAFC", 4) != 0 || io::detail::get32(f + 4) != 1 ||
      io::crc32(f, 20) != io::detail::get32(f + 20))
    return -1;
  const std::uint32_t c = io::detail::get32(f + 12);
  if (c > capacity || n != io::checkpoint_file_header_bytes + c || io::crc32(f + 24, c) != io::detail::get32(f + 16))
    return -1;
  generation = io::detail::get32(f + 8);
  return c;
}

void fuzz_files(const std::uint8_t* data, std::size_t n, bool refresh, unsigned p) {
  static unsigned char file[3][8192];
  std::size_t len[3] = {0, 0, 0};
  std::size_t at = 0;
  for (int i = 0; i < 2; ++i) {
    std::size_t want = at + 2 <= n ? (data[at] | static_cast<std::size_t>(data[at + 1]) << 8) : 0;
    at = at + 2 <= n ? at + 2 : n;
    len[i] = want < n - at ? want : n - at;
    len[i] = len[i] < sizeof file[i] ? len[i] : sizeof file[i];
    std::memcpy(file[i], data + at, len[i]);
    at += len[i];
  }
  len[2] = n - at < sizeof file[2] ? n - at : sizeof file[2];
  std::memcpy(file[2], data + at, len[2]);
  static const std::size_t capacities[8] = {4096, 0, 20, 100, Server::state_bytes - 1, Server::state_bytes,
                                            Server::state_bytes + 1, 1024};
  const std::size_t capacity = capacities[(p >> 3) & 7u];
  for (int i = 0; i < 3; ++i) {
    unsigned char* f = file[i];
    if (refresh && len[i] >= io::checkpoint_file_header_bytes) {
      const std::size_t c = len[i] - io::checkpoint_file_header_bytes;
      if (c >= Server::state_bytes)
        io::detail::put32(f + 24 + Server::state_bytes - 4, io::detail::fnv1a32(f + 24, Server::state_bytes - 4));
      io::detail::put32(f + 12, static_cast<std::uint32_t>(c));
      io::detail::put32(f + 16, io::crc32(f + 24, c));
      io::detail::put32(f + 20, io::crc32(f, 20));
    }
    if ((p >> i) & 1u) write_file(i, f, len[i]);
    else unlink(paths[i]);
  }

  // The expected verdict.
  int best = -1;
  std::uint32_t best_gen = 0;
  long long best_bytes = -1;
  for (int i = 0; i < 3; ++i) {
    std::uint32_t g = 0;
    const long long c = ((p >> i) & 1u) ? valid_envelope(file[i], len[i], capacity, g) : -1;
    if (c >= 0 && (best < 0 || g > best_gen)) best = i, best_gen = g, best_bytes = c;
  }
  static unsigned char out[4096];
  io::FileCheckpoint got;
  const io::WireStatus s = io::load_checkpoint_file(paths[0], out, capacity, &got);
  if (best < 0) {
    if (s != io::WireStatus::no_checkpoint) broken("load_checkpoint_file accepted no valid file", s);
    return;
  }
  if (s != io::WireStatus::ok || got.source != best || got.generation != best_gen ||
      static_cast<long long>(got.bytes) != best_bytes ||
      std::memcmp(out, file[best] + io::checkpoint_file_header_bytes, got.bytes) != 0)
    broken("load_checkpoint_file did not load the newest valid file", s);
  ++files_loaded;

  // The content as a server's state.
  static Net init;
  fill_pattern(init.parameters().data());
  static Server server(init, ta::LinearDecayLR{1.0f, 0.0f, 10});
  server = Server(init, ta::LinearDecayLR{1.0f, 0.0f, 10});
  static unsigned char state[Server::state_bytes], again[Server::state_bytes];
  if (server.save(state, sizeof state) != ta::Status::ok) broken("save() of a fresh server failed", s);
  const ta::Status l = server.load(out, got.bytes);
  if (server.save(again, sizeof again) != ta::Status::ok) broken("save() after load() failed", s);
  if (l != ta::Status::ok) {
    if (std::memcmp(state, again, sizeof state) != 0) broken("a refused server state changed the server", s);
    return;
  }
  ++server_loaded;
  if (std::memcmp(out, again, sizeof again) != 0) broken("an accepted server state does not save back to its bytes", s);
  if (!ta::all_finite(server.theta().data(), N)) broken("an accepted server state has a non-finite theta", s);
  static const float zero[N] = {};
  (void)server.epsilon();
  if (server.add_delta(ta::Span<const float>(zero, N)) != ta::Status::ok) broken("a zero delta was refused", s);
  (void)server.end_round();
  if (!ta::all_finite(server.theta().data(), N)) broken("a round after a loaded state made theta non-finite", s);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::atexit(print_counters);
  // In memory (tmpfs) where there is one: the file half of the inputs is then not disk-bound.
  std::snprintf(dir, sizeof dir, "/dev/shm/fuzz_checkpoint.XXXXXX");
  if (mkdtemp(dir) == nullptr) std::snprintf(dir, sizeof dir, "/tmp/fuzz_checkpoint.XXXXXX");
  if (dir[1] == 't' && mkdtemp(dir) == nullptr) {
    std::fprintf(stderr, "fuzz_checkpoint: cannot make a temporary folder\n");
    std::abort();
  }
  std::snprintf(paths[0], sizeof paths[0], "%s/ckpt", dir);
  std::snprintf(paths[1], sizeof paths[1], "%s/ckpt.tmp", dir);
  std::snprintf(paths[2], sizeof paths[2], "%s/ckpt.prev", dir);
  std::atexit([] {
    for (const char* p : paths) unlink(p);
    rmdir(dir);
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1 || size > 3 * 8192) return 0;
  ++runs;
  const unsigned control = data[0];
  if ((control & 1u) == 0) fuzz_flash(data + 1, size - 1, (control & 2u) != 0, control >> 2);
  else fuzz_files(data + 1, size - 1, (control & 2u) != 0, control >> 2);
  return 0;
}
