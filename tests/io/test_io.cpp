// Parameters in and out (io/parameters.hpp): the model signature names the
// layout, a blob round-trips bit for bit, and every malformed or foreign
// blob is refused with the network left as it was.
#include <tinyadapt/tinyadapt.hpp>

#include <cstring>

#include "support/test.hpp"

namespace ta = tinyadapt;
namespace io = tinyadapt::io;

using W1 = ta::Sequential<ta::Input<1>, ta::Dense<64>, ta::Tanh, ta::Dense<64>, ta::Tanh, ta::Dense<1>>;
using W3 = ta::Sequential<ta::Input<28, 28, 1>, ta::Conv2D<8, 3>, ta::ReLU, ta::MaxPool2D<2>, ta::Conv2D<16, 3>,
                          ta::ReLU, ta::MaxPool2D<2>, ta::Flatten, ta::Dense<10>>;

// The signature is a compile-time constant, the same on every compiler and
// target (this file also runs on the Cortex-M4), and the same as the one
// tools/torch_weights.py computes (tests/io/check_roundtrip.py).
constexpr std::uint64_t w3_signature = io::model_signature<W3>();
static_assert(w3_signature == 0x83bd4db594b37ab3ull, "the W3 signature changed: saved parameters would not load");
// Layer type, order, shape and hyper-parameters all count; freezing does not.
static_assert(io::model_signature<W1>() !=
                  io::model_signature<ta::Sequential<ta::Input<1>, ta::Dense<64>, ta::Sigmoid, ta::Dense<64>, ta::Tanh,
                                                     ta::Dense<1>>>(),
              "activation kind");
static_assert(io::model_signature<W1>() !=
                  io::model_signature<ta::Sequential<ta::Input<1>, ta::Dense<32>, ta::Tanh, ta::Dense<64>, ta::Tanh,
                                                     ta::Dense<1>>>(),
              "layer width");
static_assert(io::model_signature<ta::Sequential<ta::Input<64>, ta::Dense<32>, ta::ReLU, ta::Dense<10>>>() !=
                  io::model_signature<ta::Sequential<ta::Input<64>, ta::Dense<32>, ta::LeakyReLU<1, 10>, ta::Dense<10>>>(),
              "slope");
static_assert(w3_signature != io::model_signature<ta::Sequential<ta::Input<28, 28, 1>, ta::Conv2D<8, 3>, ta::ReLU,
                                                                 ta::MaxPool2D<2>, ta::Conv2D<16, 3, 1, ta::Padding::same>,
                                                                 ta::ReLU, ta::MaxPool2D<2>, ta::Flatten, ta::Dense<10>>>(),
              "padding");
static_assert(w3_signature == io::model_signature<ta::Sequential<ta::Input<28, 28, 1>, ta::Frozen<ta::Conv2D<8, 3>>,
                                                                 ta::ReLU, ta::MaxPool2D<2>, ta::Conv2D<16, 3>, ta::ReLU,
                                                                 ta::MaxPool2D<2>, ta::Flatten, ta::Dense<10>>>(),
              "Frozen keeps the layout");
static_assert(io::parameter_bytes<W3>() == 32 + 4 * 5258, "header + float32 payload");

namespace {

// Small enough for four copies in the Cortex-M4's RAM; every parameter kind.
using Net = ta::Sequential<ta::Input<8, 8, 1>, ta::Conv2D<4, 3>, ta::ReLU, ta::MaxPool2D<2>, ta::Flatten, ta::Dense<5>>;
Net a, b;
unsigned char blob[io::parameter_bytes<Net>()];
unsigned char copy[io::parameter_bytes<Net>()];

bool same_parameters(const Net& x, const Net& y) {
  return std::memcmp(x.parameters().data(), y.parameters().data(), sizeof(float) * Net::param_count) == 0;
}

void setup() {
  ta::Rng ra(1), rb(2);
  a.init(ra, ta::Init::glorot_uniform);
  b.init(rb, ta::Init::glorot_uniform);
  std::size_t written = 0;
  REQUIRE(io::save_parameters(a, blob, sizeof blob, &written) == io::ParamStatus::ok);
  REQUIRE(written == sizeof blob);
}

// Loading copy[0, size) into b is refused with `expected`, and b keeps its
// parameters.
void check_refused(io::ParamStatus expected, std::size_t size = sizeof copy) {
  static Net reference;
  ta::Rng rr(2);
  reference.init(rr, ta::Init::glorot_uniform);
  CHECK(same_parameters(b, reference));
  CHECK(io::load_parameters(b, copy, size) == expected);
  CHECK(same_parameters(b, reference));
}

}  // namespace

TEST_CASE("io: parameters round-trip bit for bit") {
  setup();
  CHECK_FALSE(same_parameters(a, b));
  CHECK(std::memcmp(blob, "TAPR", 4) == 0);
  CHECK(io::load_parameters(b, blob, sizeof blob) == io::ParamStatus::ok);
  CHECK(same_parameters(a, b));
  io::ParameterHeader h;
  REQUIRE(io::read_parameter_header(blob, sizeof blob, h) == io::ParamStatus::ok);
  CHECK(h.version == 1);
  CHECK(h.count == Net::param_count);
  CHECK(h.signature == io::model_signature<Net>());
}

TEST_CASE("io: a blob of another model is refused") {
  setup();
  using Other = ta::Sequential<ta::Input<8, 8, 1>, ta::Conv2D<4, 3>, ta::ReLU, ta::AvgPool2D<2>, ta::Flatten,
                               ta::Dense<5>>;
  static_assert(Other::param_count == Net::param_count, "same count, other model");
  static Other other;
  ta::Rng r(5);
  other.init(r);
  REQUIRE(io::save_parameters(other, copy, sizeof copy) == io::ParamStatus::ok);
  check_refused(io::ParamStatus::signature_mismatch);
}

TEST_CASE("io: malformed blobs are refused and change nothing") {
  setup();
  std::memcpy(copy, blob, sizeof blob);
  copy[40] ^= 0x01;  // one payload bit
  check_refused(io::ParamStatus::checksum_mismatch);

  std::memcpy(copy, blob, sizeof blob);
  copy[0] = 'X';
  check_refused(io::ParamStatus::bad_magic);

  std::memcpy(copy, blob, sizeof blob);
  copy[4] = 2;  // format version 2
  check_refused(io::ParamStatus::unsupported_version);

  std::memcpy(copy, blob, sizeof blob);
  copy[8] = 7;  // another dtype
  check_refused(io::ParamStatus::wrong_dtype);

  std::memcpy(copy, blob, sizeof blob);
  check_refused(io::ParamStatus::truncated, sizeof blob - 1);
  check_refused(io::ParamStatus::truncated, 31);

  // A NaN with a matching checksum: refused by the value check.
  std::memcpy(copy, blob, sizeof blob);
  const unsigned char nan_bits[4] = {0x00, 0x00, 0xc0, 0x7f};
  std::memcpy(copy + 32 + 4 * 100, nan_bits, 4);
  const std::uint32_t sum = io::detail::fnv1a32(copy + 32, 4 * Net::param_count);
  for (int i = 0; i < 4; ++i) copy[24 + i] = static_cast<unsigned char>(sum >> (8 * i));
  check_refused(io::ParamStatus::non_finite_value);
}

TEST_CASE("io: save refuses a buffer that is too small") {
  setup();
  std::size_t written = 1;
  CHECK(io::save_parameters(a, copy, sizeof copy - 1, &written) == io::ParamStatus::buffer_too_small);
  CHECK(written == 0);
  CHECK(std::strcmp(io::to_string(io::ParamStatus::signature_mismatch),
                    "parameters of another model (signature mismatch)") == 0);
}
