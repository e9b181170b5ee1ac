// int8 inference on the Cortex-M4 (kernels/int8.hpp, quant/):
//  - the DSP kernels equal the portable ones bit for bit on random data, at
//    the shapes of W2 and W3 and at odd ones (remainder rows, looped Dense,
//    padded and strided Conv2D, channel counts not a multiple of 4);
//  - the int8 W2 and W3 follow their float networks on random inputs;
//  - refusals on the target too: no forward before quantize(), a refused
//    quantize() leaves the Int8Network bit for bit, a refused sample the
//    calibrator's statistics;
//  - what int8 inference costs: executed instructions per MAC of every Dense
//    and Conv2D of W2 and W3 (printed), the kernels alone and the networks.
// Built twice: the _portable build (TINYADAPT_KERNELS_PORTABLE) runs the int8
// networks on the portable kernels, so its numbers are the baseline.
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <tinyadapt/quant/quantize.hpp>
#include <tinyadapt/tinyadapt.hpp>
#include <utility>

#include "board.hpp"
#include "harness.hpp"

namespace {

namespace ta = tinyadapt;
namespace k8 = ta::kernels::int8;
using std::size_t;

alignas(8) uint32_t g_packed[4096];
alignas(8) uint32_t g_scratch[2048];
alignas(8) int8_t g_x[6144];
alignas(8) int8_t g_yp[6144];
alignas(8) int8_t g_ym[6144];

ta::Rng rng(2025);

int8_t random_int8() { return static_cast<int8_t>(static_cast<int32_t>(rng.below(256)) - 128); }

// Random packed layer: weights in [-127, 127] (0 at padding taps, as the
// quantiser stores them); start values and multipliers scaled to the row
// length so that outputs land both inside the int8 range and in saturation.
// real(t) tells the real taps.
template <class P, class Real>
void fill_packed(Real real) {
  size_t taps = 0;
  for (size_t t = 0; t < P::taps; ++t) taps += real(t) ? 1 : 0;
  // A random dot product has a spread of about sqrt(taps) * 127 * 128 / 3.
  const float spread = sqrtf(static_cast<float>(taps)) * 5419.0f;
  const uint32_t m0 = static_cast<uint32_t>(16777216.0f * 100.0f / spread);
  for (size_t r = 0; r < P::rows; ++r) {
    int32_t even = 0;
    for (size_t g = 0; g < P::groups; ++g) {
      int w[4];
      for (size_t k = 0; k < 4; ++k) w[k] = real(4 * g + k) ? static_cast<int>(rng.below(255)) - 127 : 0;
      even += w[0] + w[2];
      g_packed[P::weight_word(r, g)] = k8::encode_group(w[0], w[1], w[2], w[3]);
    }
    const int32_t k = static_cast<int32_t>(rng.below(static_cast<uint32_t>(spread))) - static_cast<int32_t>(spread / 2);
    g_packed[P::init_word(r)] = static_cast<uint32_t>(256 * k - 127 * even);
    g_packed[P::mult_word(r)] = m0 / 2 + rng.below(m0 + 1);
  }
}

// Random mono3x3 channels (16-bit weights, see kernels/int8.hpp), scaled
// like fill_packed so that outputs land inside the int8 range and in saturation.
void fill_mono3x3(size_t channels) {
  namespace m3 = k8::mono3x3;
  for (size_t f = 0; f < channels; ++f) {
    int32_t w[3][3];
    const int32_t range = 1 + static_cast<int32_t>(rng.below(m3::max_weight));  // small and large weights
    for (auto& row : w)
      for (int32_t& v : row) v = static_cast<int32_t>(rng.below(2 * static_cast<uint32_t>(range) + 1)) - range;
    const int32_t start = static_cast<int32_t>(rng.below(1u << 24)) - (1 << 23);
    m3::store(g_packed + f * m3::words_per_channel, start, w);
  }
}

void fill_input(size_t n) {
  for (size_t i = 0; i < n + 4; ++i) g_x[i] = random_int8();
}

// Compares n outputs; counts those that did not saturate in `inside` (the
// tests require some: equal saturated outputs prove little).
bool same_outputs(size_t n, size_t& inside) {
  bool same = true;
  for (size_t i = 0; i < n; ++i) {
    same = same && g_yp[i] == g_ym[i];
    inside += g_yp[i] > -128 && g_yp[i] < 127 ? 1 : 0;
  }
  return same;
}

void clear_outputs(size_t n) {
  for (size_t i = 0; i < n + 8; ++i) g_yp[i] = 11, g_ym[i] = 13;
}

void print_ratio(uint32_t num, uint32_t den) { board::print_float(static_cast<float>(num) / static_cast<float>(den), 3); }

#if defined(TINYADAPT_INT8_DSP)
template <size_t In, size_t Out>
bool dense_equal(int trials) {
  using P = k8::Packing<Out, In, 4>;
  static_assert(P::words <= sizeof(g_packed) / 4 && In + 8 <= sizeof(g_x), "test buffers too small");
  bool ok = true;
  size_t inside = 0;
  for (int t = 0; t < trials; ++t) {
    fill_packed<P>([](size_t tap) { return tap < In; });
    fill_input(In);
    clear_outputs(Out);
    k8::portable::dense<In, Out>(g_x, g_packed, g_yp, g_scratch);
    k8::cortex_m4::dense<In, Out>(g_x, g_packed, g_ym, g_scratch);
    ok = ok && same_outputs(Out, inside) && g_ym[Out] == 13;
  }
  return ok && inside > 0;
}

template <size_t H, size_t W, size_t C, size_t F, size_t K, size_t S, ta::Padding Pad>
using Geo = k8::ConvGeometry<H, W, C, F, K, K, S, S, ta::detail::conv_pad_before(H, K, S, Pad),
                             ta::detail::conv_pad_before(W, K, S, Pad), ta::detail::conv_out(H, K, S, Pad),
                             ta::detail::conv_out(W, K, S, Pad)>;

template <class G>
bool conv_equal(int trials) {
  using P = typename G::packing;
  constexpr size_t in = G::h * G::w * G::c, out = G::oh * G::ow * G::f;
  static_assert(P::words <= sizeof(g_packed) / 4 && in + 8 <= sizeof(g_x) && out + 8 <= sizeof(g_yp),
                "test buffers too small");
  static_assert(k8::cortex_m4::conv2d_scratch_bytes<G> <= sizeof(g_scratch), "test scratch too small");
  bool ok = true;
  size_t inside = 0;
  for (int t = 0; t < trials; ++t) {
    if constexpr (G::mono3x3)
      fill_mono3x3(G::f);
    else
      fill_packed<P>([](size_t tap) { return tap % G::lr < G::row_taps; });
    fill_input(in);
    clear_outputs(out);
    const int8_t zp = random_int8();
    k8::portable::conv2d<G>(g_x, zp, g_packed, g_yp, g_scratch);
    k8::cortex_m4::conv2d<G>(g_x, zp, g_packed, g_ym, g_scratch);
    ok = ok && same_outputs(out, inside) && g_ym[out] == 13;
  }
  return ok && inside > 0;
}

template <size_t H, size_t W, size_t C, size_t K, size_t S>
bool pool_equal() {
  constexpr size_t out = ((H - K) / S + 1) * ((W - K) / S + 1) * C;
  fill_input(H * W * C);
  clear_outputs(out);
  k8::portable::max_pool2d<H, W, C, K, S>(g_x, g_yp);
  k8::cortex_m4::max_pool2d<H, W, C, K, S>(g_x, g_ym);
  bool ok = g_ym[out] == 13;
  for (size_t i = 0; i < out; ++i) ok = ok && g_yp[i] == g_ym[i];
  return ok;
}
#endif

using W1 = ta::Sequential<ta::Input<1>, ta::Dense<64>, ta::Tanh, ta::Dense<64>, ta::Tanh, ta::Dense<1>>;
using W2 = ta::Sequential<ta::Input<64>, ta::Dense<32>, ta::ReLU, ta::Dense<10>>;
using W3 = ta::Sequential<ta::Input<28, 28, 1>, ta::Conv2D<8, 3>, ta::ReLU, ta::MaxPool2D<2>, ta::Conv2D<16, 3>,
                          ta::ReLU, ta::MaxPool2D<2>, ta::Flatten, ta::Dense<10>>;

W1 w1;
W2 w2;
W3 w3;
ta::Int8Network<W1> q1;
ta::Int8Network<W2> q2;
ta::Int8Network<W3> q3;
alignas(8) float g_in[28 * 28];
float g_out[10], g_outq[10];

void random_image() {
  for (float& v : g_in) v = rng.uniform(0.0f, 1.0f);
}

// A float network with random weights, calibrated on `calibration` random inputs.
template <class Net>
bool prepare(Net& net, ta::Int8Network<Net>& q, ta::Init init, int calibration) {
  static ta::quant::Calibrator<Net> cal;
  ta::Rng wr(5);
  net.init(wr, init);
  for (int i = 0; i < calibration; ++i) {
    random_image();
    if (cal.observe(net, g_in) != ta::quant::QuantStatus::ok) return false;
  }
  return ta::quant::quantize(net, cal, q) == ta::quant::QuantStatus::ok;
}

// Largest |int8 - float| output over random inputs, in output quantisation
// steps (the calibrated output range is 255 steps).
template <class Net>
float worst_error_in_steps(Net& net, ta::Int8Network<Net>& q, int samples) {
  float worst = 0.0f;
  for (int s = 0; s < samples; ++s) {
    random_image();
    const float* y = net.forward(g_in);
    for (size_t i = 0; i < Net::output_size; ++i) g_out[i] = y[i];
    if (q.forward(g_in, g_outq) != ta::quant::QuantStatus::ok) return 1e9f;
    for (size_t i = 0; i < Net::output_size; ++i) {
      const float d = g_out[i] > g_outq[i] ? g_out[i] - g_outq[i] : g_outq[i] - g_out[i];
      worst = d > worst ? d : worst;
    }
  }
  return worst / q.output_quant().scale;
}

// Instructions of a whole int8 forward: int8 input to int8 output
// (forward_int8) and float input to float output (forward, quantisation and
// dequantisation included).
alignas(4) int8_t g_xq[28 * 28];

template <class Q>
void report_forward(Q& q, const char* name) {
  random_image();
  for (size_t i = 0; i < Q::input_size; ++i) g_xq[i] = q.input_quant().quantize(g_in[i]);
  const uint32_t run = board::count_instructions([&] { (void)q.forward_int8(g_xq); });
  const uint32_t full = board::count_instructions([&] { (void)q.forward(g_in, g_outq); });
  board::print(name);
  board::print(" int8 forward: ");
  board::print_uint(run);
  board::print(" instructions (");
  print_ratio(run, static_cast<uint32_t>(Q::macs));
  board::print(" per MAC); from float input to float output ");
  board::print_uint(full);
  board::print("\n");
}

template <class Net>
void print_memory(const char* name) {
  constexpr ta::MemoryReport m = ta::Int8Network<Net>::memory();
  board::print(name);
  board::print_uint(static_cast<uint32_t>(m.parameters));
  board::print(" / ");
  board::print_uint(static_cast<uint32_t>(m.activations));
  board::print(" / ");
  board::print_uint(static_cast<uint32_t>(m.scratch));
}

// Instructions of each layer of q (run one after another, as run() does),
// per MAC for Dense and Conv2D.
template <class Q, size_t... I>
void profile_layers(Q& q, const char* name, float* per_mac, std::index_sequence<I...>) {
  (
      [&] {
        const uint32_t n = board::count_instructions([&] { q.template run_layer<I>(); });
        per_mac[I] = static_cast<float>(n) / static_cast<float>(Q::template layer<I>::macs > 0 ? Q::template layer<I>::macs : 1);
        constexpr size_t macs = Q::template layer<I>::macs;
        board::print(name);
        board::print(" layer ");
        board::print_uint(static_cast<uint32_t>(I));
        board::print(": ");
        board::print_uint(n);
        board::print(" instructions");
        if (macs > 0) {
          board::print(", ");
          board::print_uint(static_cast<uint32_t>(macs));
          board::print(" MACs, ");
          print_ratio(n, static_cast<uint32_t>(macs));
          board::print(" per MAC");
        }
        board::print("\n");
      }(),
      ...);
}

}  // namespace

#if defined(TINYADAPT_INT8_DSP)
TEST_CASE("int8 Dense: Cortex-M4 kernel equals the portable one bit for bit") {
  CHECK(dense_equal<64, 32>(20));   // W2 first layer (4-row blocks)
  CHECK(dense_equal<32, 10>(20));   // W2 output (a 2-row block at the end)
  CHECK(dense_equal<400, 10>(5));   // W3 output (looped: more than 64 groups)
  CHECK(dense_equal<13, 7>(20));    // inputs not a multiple of 4, a 3-row block
  CHECK(dense_equal<3, 1>(20));     // one group, one row
  CHECK(dense_equal<301, 5>(5));    // looped with leftover groups, a 1-row block
  CHECK(dense_equal<256, 4>(5));    // the largest fully unrolled case
}

TEST_CASE("int8 Conv2D: Cortex-M4 kernel equals the portable one bit for bit") {
  CHECK((conv_equal<Geo<28, 28, 1, 8, 3, 1, ta::Padding::valid>>(3)));   // W3 conv 1 (mono3x3)
  CHECK((conv_equal<Geo<9, 29, 1, 3, 3, 1, ta::Padding::valid>>(5)));    // mono3x3, a row of 27 (4 sixes + 3)
  CHECK((conv_equal<Geo<6, 7, 1, 1, 3, 1, ta::Padding::valid>>(5)));     // mono3x3, W % 4 == 3, one channel
  CHECK((conv_equal<Geo<5, 9, 1, 2, 3, 1, ta::Padding::valid>>(5)));     // mono3x3, W % 4 == 1: entry-wise preparation
  CHECK((conv_equal<Geo<7, 6, 1, 5, 3, 1, ta::Padding::same>>(5)));      // mono3x3, padded
  CHECK((conv_equal<Geo<3, 70, 1, 2, 3, 1, ta::Padding::valid>>(3)));    // mono3x3, rows too long to unroll: portable
  CHECK((conv_equal<Geo<13, 13, 8, 16, 3, 1, ta::Padding::valid>>(3)));  // W3 conv 2
  CHECK((conv_equal<Geo<9, 9, 3, 5, 3, 2, ta::Padding::same>>(5)));      // strided, padded, 3 channels
  CHECK((conv_equal<Geo<8, 7, 4, 3, 3, 1, ta::Padding::same>>(5)));      // padded, odd channel count
  CHECK((conv_equal<Geo<6, 6, 12, 2, 2, 2, ta::Padding::valid>>(5)));    // even kernel, stride 2
  CHECK((conv_equal<Geo<5, 5, 2, 1, 5, 1, ta::Padding::valid>>(5)));     // one output pixel, one channel
  CHECK((conv_equal<Geo<7, 40, 1, 4, 2, 1, ta::Padding::valid>>(3)));    // weights in registers, 2 groups, long rows
  CHECK((conv_equal<Geo<6, 5, 3, 6, 1, 2, ta::Padding::valid>>(5)));     // 1x1, stride 2, one group
}

TEST_CASE("int8 MaxPool2D: Cortex-M4 kernel equals the portable one") {
  CHECK((pool_equal<26, 26, 8, 2, 2>()));
  CHECK((pool_equal<11, 11, 16, 2, 2>()));
  CHECK((pool_equal<7, 7, 4, 3, 2>()));
  CHECK((pool_equal<6, 6, 3, 2, 2>()));
}
#endif

TEST_CASE("int8 W1, W2 and W3 follow the float networks on random inputs") {
  REQUIRE(prepare(w1, q1, ta::Init::torch_default, 200));
  REQUIRE(prepare(w2, q2, ta::Init::torch_default, 200));
  REQUIRE(prepare(w3, q3, ta::Init::glorot_uniform, 64));
  const float e1 = worst_error_in_steps(w1, q1, 50);
  const float e2 = worst_error_in_steps(w2, q2, 50);
  const float e3 = worst_error_in_steps(w3, q3, 10);
  board::print("int8 vs float, worst output error in output steps: W1 ");
  board::print_float(e1, 2);
  board::print(", W2 ");
  board::print_float(e2, 2);
  board::print(", W3 ");
  board::print_float(e3, 2);
  board::print("\n");
  // Rounding in every layer adds up: allow 5% of the output range.
  CHECK(e1 < 12.75f);
  CHECK(e2 < 12.75f);
  CHECK(e3 < 12.75f);
}

TEST_CASE("int8 refusals leave networks and calibrators unchanged") {
  static W2 net;
  static ta::quant::Calibrator<W2> cal;
  static ta::Int8Network<W2> q;
  static unsigned char before[sizeof q];
  namespace tq = ta::quant;
  CHECK(q.forward(g_in) == tq::QuantStatus::not_quantized);
  CHECK(q.forward_int8(g_xq) == tq::QuantStatus::not_quantized);
  ta::Rng wr(6);
  net.init(wr);
  for (int i = 0; i < 20; ++i) {
    random_image();
    REQUIRE(cal.observe(net, g_in) == tq::QuantStatus::ok);
  }
  // One outlier sample: the percentile ranges leave it out.
  for (float& v : g_in) v *= 1e6f;
  REQUIRE(cal.observe(net, g_in) == tq::QuantStatus::ok);
  // A NaN sample: refused, statistics unchanged.
  const tq::Calibrator<W2>::Statistics stats = cal.statistics();
  g_in[7] = NAN;
  CHECK(cal.observe(net, g_in) == tq::QuantStatus::non_finite_sample);
  CHECK(memcmp(&stats, &cal.statistics(), sizeof stats) == 0);
  REQUIRE(tq::quantize(net, cal, q, tq::QuantOptions{95.0f}) == tq::QuantStatus::ok);
  CHECK(q.input_quant().scale < 1.0f / 250.0f);  // the normal inputs are in [0, 1)
  // A bias no scale represents, then a NaN weight: refused, q bit for bit as it was.
  memcpy(before, &q, sizeof q);
  net.parameters()[64 * 32] = 3e38f;
  CHECK(tq::quantize(net, cal, q) == tq::QuantStatus::accumulator_range);
  net.parameters()[3] = NAN;
  CHECK(tq::quantize(net, cal, q) == tq::QuantStatus::non_finite_parameters);
  CHECK(memcmp(before, &q, sizeof q) == 0);
  g_in[7] = 0.5f;
  CHECK(q.forward(g_in) == tq::QuantStatus::ok);
}

TEST_CASE("int8 inference cost in executed instructions") {
  REQUIRE(board::icount_active());
  REQUIRE(q1.ready());
  REQUIRE(q2.ready());
  REQUIRE(q3.ready());
  board::print("int8 kernels: ");
  board::print(k8::variant);
  board::print("\n");

  random_image();
  REQUIRE(q1.forward(g_in) == ta::quant::QuantStatus::ok);
  float w1_per_mac[W1::layer_count];
  profile_layers(q1, "W1", w1_per_mac, std::make_index_sequence<W1::layer_count>{});
  report_forward(q1, "W1");

  random_image();
  REQUIRE(q2.forward(g_in) == ta::quant::QuantStatus::ok);
  float w2_per_mac[W2::layer_count];
  profile_layers(q2, "W2", w2_per_mac, std::make_index_sequence<W2::layer_count>{});
  report_forward(q2, "W2");

  random_image();
  REQUIRE(q3.forward(g_in) == ta::quant::QuantStatus::ok);
  float w3_per_mac[W3::layer_count];
  profile_layers(q3, "W3", w3_per_mac, std::make_index_sequence<W3::layer_count>{});
  report_forward(q3, "W3");

#if TINYADAPT_HAS_CORTEX_M4 && defined(__OPTIMIZE__)
  // Guards against regressions of the DSP kernels (measured: W2 0.98 and
  // 1.19, W3 0.97, 0.90 and 1.07 instructions per MAC).
  CHECK(w2_per_mac[0] <= 1.0f);
  CHECK(w2_per_mac[2] <= 1.25f);
  CHECK(w3_per_mac[0] <= 1.0f);
  CHECK(w3_per_mac[3] <= 1.0f);
  CHECK(w3_per_mac[7] <= 1.15f);
#endif

  board::print("int8 network memory (bytes, parameters / activations / scratch):");
  print_memory<W1>(" W1 ");
  print_memory<W2>(", W2 ");
  print_memory<W3>(", W3 ");
  board::print("\n");
}
