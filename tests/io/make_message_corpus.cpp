// Writes the seed corpus of the message fuzzer (tests/fuzz/fuzz_message.cpp)
// into a folder: valid messages of its model in every kind and encoding,
// each with a control byte (CRCs kept / recomputed, a chunk size) in front,
// and a flash checkpoint region with two checkpoints.
//   make_message_corpus tests/fuzz/message_corpus
#include <tinyadapt/io/encoder.hpp>
#include <tinyadapt/io/flash_checkpoint.hpp>
#include <tinyadapt/io/model_message.hpp>
#include <tinyadapt/tinyadapt.hpp>

#include <cstdio>
#include <string>

namespace ta = tinyadapt;
namespace io = tinyadapt::io;

using Net = ta::Sequential<ta::Input<4, 4, 1>, ta::Conv2D<2, 3>, ta::ReLU, ta::Flatten, ta::Dense<3>>;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_message_corpus DIR\n");
    return 2;
  }
  static Net net;
  ta::Rng rng(5);
  net.init(rng);
  const struct {
    io::PayloadKind kind;
    io::Encoding encoding;
    const char* name;
  } seeds[] = {{io::PayloadKind::theta, io::Encoding::float32, "theta_float32"},
               {io::PayloadKind::phi, io::Encoding::int8_layer, "phi_int8"},
               {io::PayloadKind::delta, io::Encoding::sparse, "delta_sparse"},
               {io::PayloadKind::delta, io::Encoding::fp16, "delta_fp16"},
               {io::PayloadKind::theta, io::Encoding::fp16, "theta_fp16"},
               {io::PayloadKind::delta, io::Encoding::int8_layer, "delta_int8"}};
  int i = 0;
  for (const auto& s : seeds) {
    io::MessageInfo info = io::info_for<Net>(s.kind, s.encoding, 7, 3, s.kind == io::PayloadKind::theta ? 0u : 5u);
    info.sparse_entries = 9;
    unsigned char msg[1 + io::max_message_bytes<Net>()];
    std::size_t written = 0;
    if (io::encode_message(info, net.parameters(), io::groups_of<Net>(), msg + 1, sizeof msg - 1, &written) !=
        io::WireStatus::ok)
      return 1;
    for (const unsigned char control : {static_cast<unsigned char>(2 * (i % 64)), static_cast<unsigned char>(1 + 14 * i)}) {
      msg[0] = control;
      const std::string path = std::string(argv[1]) + "/" + s.name + ((control & 1) != 0 ? "_crc_refreshed" : "");
      std::FILE* f = std::fopen(path.c_str(), "wb");
      if (f == nullptr || std::fwrite(msg, 1, written + 1, f) != written + 1 || std::fclose(f) != 0) return 2;
    }
    ++i;
  }
  // Two checkpoints in a region (the fuzzer reads its input as flash too).
  constexpr std::size_t slot = io::checkpoint_slot_bytes<Net>();
  struct RamFlash {
    unsigned char mem[2 * slot];
    bool erase(std::size_t at, std::size_t n) {
      for (std::size_t k = 0; k < n; ++k) mem[at + k] = 0xFF;
      return true;
    }
    bool program(std::size_t at, const unsigned char* p, std::size_t n) {
      for (std::size_t k = 0; k < n; ++k) mem[at + k] &= p[k];
      return true;
    }
    bool read(std::size_t at, unsigned char* p, std::size_t n) {
      for (std::size_t k = 0; k < n; ++k) p[k] = mem[at + k];
      return true;
    }
  };
  static RamFlash flash;
  io::CheckpointRegion<RamFlash> region(flash, slot);
  if (region.save(net, 1) != io::WireStatus::ok || region.save(net, 2) != io::WireStatus::ok) return 1;
  const std::string path = std::string(argv[1]) + "/checkpoint_region";
  std::FILE* f = std::fopen(path.c_str(), "wb");
  const unsigned char control = 0;
  if (f == nullptr || std::fwrite(&control, 1, 1, f) != 1 || std::fwrite(flash.mem, 1, sizeof flash.mem, f) != sizeof flash.mem ||
      std::fclose(f) != 0)
    return 2;
  return 0;
}
