// tinyadapt_msg: inspect and verify wire messages (include/tinyadapt/io/message.hpp).
//
//   tinyadapt_msg [inspect|verify] [--signature HEX] [--quiet] FILE...
//       prints each file's header fields and "valid", or the reason it is
//       refused; exit 0 only if every file is a valid message ("verify" is
//       --quiet: one line per file). The tool does not know the model a
//       message was made for: it checks everything but the signature unless
//       --signature names the expected one.
//   tinyadapt_msg --make FILE [--kind theta|phi|delta] [--encoding float32|int8|sparse|fp16]
//              [--percent P] [--round R] [--device D] [--seed S]
//       writes a message of the P1 model (W1: 1-64-64-1, tanh) with values
//       drawn from the seed: sample files for tests and other implementations.
//   tinyadapt_msg --signature-of-w1
//       prints W1's model signature (hex).
//
// Exit status: 0 valid, 1 a file is not a valid message, 2 usage or I/O error.
#include <tinyadapt/io/decoder.hpp>
#include <tinyadapt/io/encoder.hpp>
#include <tinyadapt/io/model_message.hpp>
#include <tinyadapt/tinyadapt.hpp>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace ta = tinyadapt;
namespace io = tinyadapt::io;

namespace {

using W1 = ta::Sequential<ta::Input<1>, ta::Dense<64>, ta::Tanh, ta::Dense<64>, ta::Tanh, ta::Dense<1>>;

int usage() {
  std::fprintf(stderr,
               "usage: tinyadapt_msg [inspect|verify] [--signature HEX] [--quiet] FILE...\n"
               "       tinyadapt_msg --make FILE [--kind theta|phi|delta] [--encoding float32|int8|sparse|fp16]\n"
               "                  [--percent P] [--round R] [--device D] [--seed S]\n"
               "       tinyadapt_msg --signature-of-w1\n");
  return 2;
}

void print_header(const io::MessageHeader& h) {
  std::printf("  magic        TAWM\n  version      %u\n", static_cast<unsigned>(io::message_format_version));
  std::printf("  signature    0x%016" PRIx64 "\n", h.signature);
  std::printf("  round        %" PRIu32 "\n  device       %" PRIu32 "\n", h.round, h.device);
  std::printf("  kind         %s\n", io::to_string(h.kind));
  std::printf("  encoding     %s", io::to_string(h.encoding));
  if (h.encoding == io::Encoding::int8_layer) std::printf(" (%u layer groups)", static_cast<unsigned>(h.groups));
  std::printf("\n  elements     %" PRIu32 "\n  entries      %" PRIu32 "\n", h.elements, h.entries);
  std::printf("  samples      %" PRIu32 "\n  payload      %" PRIu32 " bytes\n", h.samples, h.payload_bytes);
  std::printf("  message      %" PRIu64 " bytes\n  header crc   0x%08" PRIx32 "\n", io::message_bytes(h),
              h.header_crc);
}

// 0 valid, 1 refused, 2 unreadable.
int verify(const char* path, const io::Expect& expect, bool quiet) {
  std::FILE* f = std::fopen(path, "rb");
  if (f == nullptr) {
    std::fprintf(stderr, "%s: cannot open: %s\n", path, std::strerror(errno));
    return 2;
  }
  io::StreamDecoder d(expect);  // no staging: checks only
  unsigned char chunk[4096];
  std::size_t n = 0;
  while ((n = std::fread(chunk, 1, sizeof chunk, f)) > 0)
    if (d.feed(chunk, n) != io::WireStatus::ok) break;
  const bool read_error = std::ferror(f) != 0;
  std::fclose(f);
  if (read_error) {
    std::fprintf(stderr, "%s: read error\n", path);
    return 2;
  }
  const io::WireStatus s = d.finish();
  if (s == io::WireStatus::ok) {
    std::printf("%s: valid\n", path);
    if (!quiet) {
      print_header(d.header());
      std::printf("  crc          0x%08" PRIx32 "%s\n", d.crc(),
                  expect.check_signature ? "" : "\n  (signature not checked: give --signature HEX)");
    }
    return 0;
  }
  std::printf("%s: invalid: %s (error %d, after %zu bytes)\n", path, io::to_string(s), static_cast<int>(s),
              d.consumed());
  if (!quiet && d.header_ready()) print_header(d.header());
  return 1;
}

bool parse_u64(const char* s, int base, std::uint64_t& v) {
  char* end = nullptr;
  errno = 0;
  v = std::strtoull(s, &end, base);
  return errno == 0 && end != s && *end == '\0' && s[0] != '-';
}

int make(const char* path, io::PayloadKind kind, io::Encoding encoding, float percent, std::uint32_t round,
         std::uint32_t device, std::uint64_t seed) {
  static W1 net;
  ta::Rng rng(seed);
  net.init(rng);
  std::vector<float> v(net.parameters().begin(), net.parameters().end());
  if (kind == io::PayloadKind::delta)
    for (float& x : v) x = 0.01f * (2.0f * rng.uniform() - 1.0f);
  io::MessageInfo info =
      io::info_for<W1>(kind, encoding, round, device, kind == io::PayloadKind::theta ? 0u : 10u);
  info.sparse_entries = io::sparse_entries_for(W1::param_count, percent);
  std::vector<unsigned char> out(io::max_message_bytes<W1>());
  std::size_t written = 0;
  const io::WireStatus s = io::encode_message(info, ta::Span<const float>(v.data(), v.size()), io::groups_of<W1>(),
                                              out.data(), out.size(), &written);
  if (s != io::WireStatus::ok) {
    std::fprintf(stderr, "tinyadapt_msg: cannot encode: %s\n", io::to_string(s));
    return 2;
  }
  std::FILE* f = std::fopen(path, "wb");
  if (f == nullptr || std::fwrite(out.data(), 1, written, f) != written || std::fclose(f) != 0) {
    std::fprintf(stderr, "%s: cannot write\n", path);
    return 2;
  }
  std::printf("%s: %zu bytes (%s %s)\n", path, written, io::to_string(kind), io::to_string(encoding));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  io::Expect expect;
  bool quiet = false;
  const char* make_path = nullptr;
  io::PayloadKind kind = io::PayloadKind::phi;
  io::Encoding encoding = io::Encoding::float32;
  float percent = 10.0f;
  std::uint64_t round = 0, device = 1, seed = 1;
  std::vector<const char*> files;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    std::uint64_t v = 0;
    if (i == 1 && (a == "inspect" || a == "verify")) {
      quiet = a == "verify";
    } else if (a == "--quiet") {
      quiet = true;
    } else if (a == "--signature-of-w1") {
      std::printf("%016" PRIx64 "\n", io::model_signature<W1>());
      return 0;
    } else if (a == "--signature" && has_value && parse_u64(argv[i + 1], 16, v)) {
      expect.check_signature = true;
      expect.signature = v;
      ++i;
    } else if (a == "--make" && has_value) {
      make_path = argv[++i];
    } else if (a == "--kind" && has_value) {
      const std::string k = argv[++i];
      if (k == "theta") kind = io::PayloadKind::theta;
      else if (k == "phi") kind = io::PayloadKind::phi;
      else if (k == "delta") kind = io::PayloadKind::delta;
      else return usage();
    } else if (a == "--encoding" && has_value) {
      const std::string e = argv[++i];
      if (e == "float32") encoding = io::Encoding::float32;
      else if (e == "int8") encoding = io::Encoding::int8_layer;
      else if (e == "sparse") encoding = io::Encoding::sparse;
      else if (e == "fp16") encoding = io::Encoding::fp16;
      else return usage();
    } else if (a == "--percent" && has_value) {
      percent = std::strtof(argv[++i], nullptr);
    } else if ((a == "--round" || a == "--device" || a == "--seed") && has_value && parse_u64(argv[i + 1], 10, v) &&
               (a == "--seed" || v <= 0xFFFFFFFFu)) {
      (a == "--round" ? round : a == "--device" ? device : seed) = v;
      ++i;
    } else if (!a.empty() && a[0] == '-') {
      return usage();
    } else {
      files.push_back(argv[i]);
    }
  }
  if (make_path != nullptr)
    return files.empty() ? make(make_path, kind, encoding, percent, static_cast<std::uint32_t>(round),
                                static_cast<std::uint32_t>(device), seed)
                         : usage();
  if (files.empty()) return usage();
  int worst = 0;
  for (const char* f : files) {
    const int r = verify(f, expect, quiet);
    worst = r > worst ? r : worst;
  }
  return worst;
}
