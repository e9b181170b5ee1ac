// The C++ half of the PyTorch round trip (check_torch_roundtrip.py): loads the
// parameters converted by tools/torch_weights.py from the generated C array
// and from the .bin file, runs the network on the cases PyTorch ran, checks
// the outputs, refuses the blob for another model, and saves the parameters
// back for the Python half to convert into a state_dict.
//
//   roundtrip <model.bin> <cases.bin> <saved.bin>
//   cases.bin: uint32 count, then per case the input (H x W x C) and PyTorch's
//   output, float32 little-endian.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include <tinyadapt/tinyadapt.hpp>

#include "roundtrip_params.h"  // generated: roundtrip_params[], roundtrip_params_size

namespace ta = tinyadapt;
namespace io = tinyadapt::io;

// "input 10 10 2; conv2d 4 3; relu; maxpool2d 2; conv2d 6 3 same; tanh; flatten; dense 8; sigmoid; dense 3"
using Net = ta::Sequential<ta::Input<10, 10, 2>, ta::Conv2D<4, 3>, ta::ReLU, ta::MaxPool2D<2>,
                           ta::Conv2D<6, 3, 1, ta::Padding::same>, ta::Tanh, ta::Flatten, ta::Dense<8>, ta::Sigmoid,
                           ta::Dense<3>>;
// The same parameter count, another layout.
using Other = ta::Sequential<ta::Input<10, 10, 2>, ta::Conv2D<4, 3>, ta::ReLU, ta::AvgPool2D<2>,
                             ta::Conv2D<6, 3, 1, ta::Padding::same>, ta::Tanh, ta::Flatten, ta::Dense<8>, ta::Sigmoid,
                             ta::Dense<3>>;

static Net net, from_file;
static Other other;

static bool read_file(const char* path, std::vector<unsigned char>& out) {
  std::FILE* f = std::fopen(path, "rb");
  if (f == nullptr) return false;
  unsigned char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.insert(out.end(), buf, buf + n);
  const bool ok = std::ferror(f) == 0;
  std::fclose(f);
  return ok;
}

static int fail(const char* what) {
  std::printf("FAIL: %s\n", what);
  return 1;
}

int main(int argc, char** argv) {
  if (argc != 4) return fail("usage: roundtrip <model.bin> <cases.bin> <saved.bin>");
  io::ParamStatus s = io::load_parameters(net, roundtrip_params, roundtrip_params_size);
  std::printf("load from the C array: %s\n", io::to_string(s));
  if (s != io::ParamStatus::ok) return 1;

  std::vector<unsigned char> bin, cases;
  if (!read_file(argv[1], bin) || !read_file(argv[2], cases)) return fail("cannot read the input files");
  s = io::load_parameters(from_file, bin.data(), bin.size());
  std::printf("load from %s: %s\n", argv[1], io::to_string(s));
  if (s != io::ParamStatus::ok) return 1;
  if (std::memcmp(net.parameters().data(), from_file.parameters().data(), sizeof(float) * Net::param_count) != 0)
    return fail("the C array and the file hold other parameters");

  s = io::load_parameters(other, bin.data(), bin.size());
  std::printf("load into another model: %s\n", io::to_string(s));
  if (s != io::ParamStatus::signature_mismatch) return fail("a blob of another model was not refused");

  std::uint32_t count = 0;
  std::memcpy(&count, cases.data(), 4);
  const std::size_t per_case = Net::input_size + Net::output_size;
  if (cases.size() != 4 + 4 * per_case * count || count == 0) return fail("cases.bin has the wrong size");
  float worst = 0.0f;
  for (std::uint32_t k = 0; k < count; ++k) {
    float x[Net::input_size], want[Net::output_size];
    std::memcpy(x, cases.data() + 4 + 4 * per_case * k, sizeof x);
    std::memcpy(want, cases.data() + 4 + 4 * per_case * k + sizeof x, sizeof want);
    const float* y = net.forward(x);
    // Relative to each output, with a floor of 1% of the case's largest
    // (float32 sums in another order differ by a few ulp; a layout error by
    // the size of the outputs themselves).
    float scale = 0.0f;
    for (float v : want) scale = std::fmax(scale, std::fabs(v));
    for (std::size_t i = 0; i < Net::output_size; ++i) {
      const float e = std::fabs(y[i] - want[i]) / std::fmax(std::fabs(want[i]), 0.01f * scale);
      worst = std::fmax(worst, e);
    }
  }
  std::printf("%u cases, largest relative output error against PyTorch %.3g (limit 1e-4)\n", count,
              static_cast<double>(worst));
  if (!(worst < 1e-4f)) return fail("outputs differ from PyTorch");

  static unsigned char saved[io::parameter_bytes<Net>()];
  std::size_t written = 0;
  if (io::save_parameters(net, saved, sizeof saved, &written) != io::ParamStatus::ok) return fail("save");
  std::FILE* f = std::fopen(argv[3], "wb");
  if (f == nullptr || std::fwrite(saved, 1, written, f) != written || std::fclose(f) != 0) return fail("write");
  std::printf("saved %zu bytes to %s\n", written, argv[3]);
  return 0;
}
