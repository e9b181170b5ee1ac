// What the model-size-adaption tests share: the networks (an MLP, two
// growable layers in a row, the W3-like CNN, a growing head, and the fixed
// networks of their widths), the active part of a growable layer's
// parameters, and the check that growth preserves the function. Tests run on
// the host and on the Cortex-M4 (networks are static: the target's stack is small).
#pragma once
#include <tinyadapt/continual/grow.hpp>
#include <tinyadapt/tinyadapt.hpp>

#include <cmath>
#include <cstring>

#include "support/test.hpp"

#if defined(TINYADAPT_ON_TARGET)
#include "board.hpp"
#endif

namespace ta = tinyadapt;

namespace {

using Mlp = ta::Sequential<ta::Input<64>, ta::GrowableDense<64, 8>, ta::ReLU, ta::Dense<10>>;
template <std::size_t H>
using MlpFixed = ta::Sequential<ta::Input<64>, ta::Dense<H>, ta::ReLU, ta::Dense<10>>;
// Two growable layers in a row, a Tanh (which keeps its output) between.
using Deep = ta::Sequential<ta::Input<16>, ta::GrowableDense<32, 4>, ta::Tanh, ta::GrowableDense<16, 4>, ta::ReLU,
                            ta::Dense<3>>;
using Cnn = ta::Sequential<ta::Input<28, 28, 1>, ta::GrowableConv2D<8, 3, 2>, ta::ReLU, ta::MaxPool2D<2>,
                           ta::GrowableConv2D<16, 3, 4>, ta::ReLU, ta::MaxPool2D<2>, ta::Flatten, ta::Dense<10>>;
template <std::size_t A, std::size_t B>
using CnnFixed = ta::Sequential<ta::Input<28, 28, 1>, ta::Conv2D<A, 3>, ta::ReLU, ta::MaxPool2D<2>, ta::Conv2D<B, 3>,
                                ta::ReLU, ta::MaxPool2D<2>, ta::Flatten, ta::Dense<10>>;
using Heads = ta::Sequential<ta::Input<64>, ta::GrowableDense<32, 8>, ta::ReLU, ta::GrowableHead<10, 2>>;

// The layer behind a growable one reads its active inputs only.
static_assert(std::is_same_v<Mlp::layer<2>, ta::GrowableDenseLayer<64, 10, 10, 64, 8, ta::OutputWidth::fixed>>);
static_assert(std::is_same_v<Cnn::layer<7>, ta::GrowableDenseLayer<400, 10, 10, 16, 4, ta::OutputWidth::fixed>>);
static_assert(Cnn::width_plan.consumer[0] == 3 && Cnn::width_plan.consumer[3] == 7 && Cnn::width_plan.source[7] == 3);
// Fixed networks bind exactly as before and carry no widths.
static_assert(std::is_same_v<MlpFixed<8>::layer<0>, ta::DenseLayer<64, 8>>);
static_assert(MlpFixed<8>::memory().widths == 0 && CnnFixed<8, 16>::memory().widths == 0);
// Memory for the maximum, known at compile time, equal to sizeof.
static_assert(Mlp::memory().total() == sizeof(Mlp) && Mlp::memory().widths > 0);
static_assert(Cnn::memory().total() == sizeof(Cnn) && Heads::memory().total() == sizeof(Heads));
static_assert(Cnn::param_count == CnnFixed<8, 16>::param_count && Cnn::memory().parameters == CnnFixed<8, 16>::memory().parameters);

// Host x86 runs the portable kernels, which are what the block loops do row by
// row: results are then bit-identical to the small fixed network; target
// kernels sum in another order.
const bool exact_kernels = std::strcmp(ta::kernels::variant, "portable") == 0;

bool same_bits(const float* a, const float* b, std::size_t n) { return std::memcmp(a, b, n * sizeof(float)) == 0; }
// tol < 0: bit-identical on every target (what only the random draws decide).
bool close(const float* a, const float* b, std::size_t n, float tol) {
  return exact_kernels || tol < 0.0f ? same_bits(a, b, n) : testsupport::rel_error(a, b, n) <= tol;
}
// Sums grouped otherwise (a flattened map's channels): equal up to rounding.
bool near(const float* a, const float* b, std::size_t n, float tol) {
  return tol < 0.0f ? same_bits(a, b, n) : testsupport::rel_error(a, b, n) <= tol;
}

// Active part of a growable layer's parameters, packed as the fixed layer of
// the active widths stores them. Dense: W[out][in], inputs in groups of G.
template <class L>
std::size_t extract(const float* p, std::size_t out_w, std::size_t in_w, float* small) {
  constexpr std::size_t wc = L::weight_count, maxw = L::max_width, G = L::input_group;
  std::size_t k = 0;
  if constexpr (L::input_shape::rank == 1) {
    constexpr std::size_t In = L::input_shape::size;
    for (std::size_t r = 0; r < out_w; ++r)
      for (std::size_t g = 0; g < In; g += G)
        for (std::size_t c = 0; c < in_w; ++c) small[k++] = p[r * In + g + c];
  } else {  // conv: W[tap][c][f]
    constexpr std::size_t taps = wc / (G * maxw);
    for (std::size_t t = 0; t < taps; ++t)
      for (std::size_t c = 0; c < in_w; ++c)
        for (std::size_t f = 0; f < out_w; ++f) small[k++] = p[(t * G + c) * maxw + f];
  }
  for (std::size_t r = 0; r < out_w; ++r) small[k++] = p[wc + r];
  return k;
}

// Which parameters of a network are active (a mask over the flat buffer).
template <class Net, std::size_t I = 0>
void active_mask(const Net& net, bool* mask) {
  if constexpr (I < Net::layer_count) {
    using L = typename Net::template layer<I>;
    bool* m = mask + Net::plan.param_off[I];
    constexpr std::size_t n = L::weight_count + L::bias_count;
    if constexpr (ta::detail::has_run_time_width<L>::value) {
      constexpr std::size_t wc = L::weight_count, maxw = L::max_width, G = L::input_group;
      std::size_t in_w = G;
      if constexpr (I > 0) in_w = net.template active_width<I - 1>();
      const std::size_t out_w = net.template active_width<I>();
      for (std::size_t k = 0; k < n; ++k) m[k] = false;
      if constexpr (L::input_shape::rank == 1) {
        constexpr std::size_t In = L::input_shape::size;
        for (std::size_t r = 0; r < out_w; ++r)
          for (std::size_t g = 0; g < In; g += G)
            for (std::size_t c = 0; c < in_w; ++c) m[r * In + g + c] = true;
      } else {
        constexpr std::size_t taps = wc / (G * maxw);
        for (std::size_t t = 0; t < taps; ++t)
          for (std::size_t c = 0; c < in_w; ++c)
            for (std::size_t f = 0; f < out_w; ++f) m[(t * G + c) * maxw + f] = true;
      }
      for (std::size_t r = 0; r < out_w; ++r) m[wc + r] = true;
    } else {
      for (std::size_t k = 0; k < n; ++k) m[k] = true;
    }
    active_mask<Net, I + 1>(net, mask);
  }
}

template <class Net>
void random_sample(ta::Rng& rng, float* x, float scale = 1.0f) {
  for (std::size_t i = 0; i < Net::input_size; ++i) x[i] = scale * rng.uniform(0.0f, 1.0f);
}

// Packed active parameters of layer I of a growable net against the fixed net's layer J.
float g_small[1024];

template <std::size_t I, std::size_t J, class G, class F>
bool layer_matches(G& g, F& f, std::size_t in_w, float tol, bool grouped = false) {
  float* small = g_small;
  const std::size_t n = extract<typename G::template layer<I>>(g.template layer_parameters<I>().data(),
                                                               g.template active_width<I>(), in_w, small);
  REQUIRE(n == f.template layer_parameters<J>().size());
  return grouped ? near(small, f.template layer_parameters<J>().data(), n, tol)
                 : close(small, f.template layer_parameters<J>().data(), n, tol);
}

constexpr std::size_t max_params = Cnn::param_count > Mlp::param_count ? Cnn::param_count : Mlp::param_count;
bool g_mask[max_params];

float g_x[784];

// The runs that optimizers visit (net.layer_grad(i).active, for_each_active)
// are exactly the active parameters: each active one once, no other.
unsigned char g_visits[max_params];
template <class Net>
bool runs_are_the_active_part(const Net& net) {
  active_mask(net, g_mask);
  for (std::size_t k = 0; k < Net::param_count; ++k) g_visits[k] = 0;
  for (std::size_t i = 0; i < Net::layer_count; ++i) {
    if (!Net::plan.is_trainable[i]) continue;
    const ta::LayerGrad g = net.layer_grad(i, 0.0f);
    if (g.offset != Net::plan.trainable_off[i] || g.count != Net::plan.layer_params[i]) return false;
    bool inside = true;
    ta::for_each_active(g, [&](std::size_t o, std::size_t n) {
      inside = inside && o + n <= g.count;
      for (std::size_t k = 0; inside && k < n; ++k) ++g_visits[Net::plan.param_off[i] + o + k];
    });
    if (!inside) return false;
  }
  for (std::size_t k = 0; k < Net::param_count; ++k)
    if (g_visits[k] != (g_mask[k] ? 1 : 0)) return false;
  return true;
}

// Trains g and f on the same stream; both must stay the same network.
template <class G, class F, class OptG, class OptF>
void train_both(G& g, F& f, OptG& og, OptF& of, std::size_t steps, std::uint64_t seed, bool grouped = false) {
  ta::Rng data(seed);
  for (std::size_t s = 0; s < steps; ++s) {
    random_sample<G>(data, g_x);
    const unsigned label = data.below(10) % G::output_size;
    const ta::StepResult a = ta::train_step<ta::SoftmaxCrossEntropy>(g, og, static_cast<const float*>(g_x), label);
    const ta::StepResult b = ta::train_step<ta::SoftmaxCrossEntropy>(f, of, static_cast<const float*>(g_x), label);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK((exact_kernels && !grouped ? a.loss == b.loss
                                     : std::fabs(a.loss - b.loss) <= 1e-4f * (1.0f + std::fabs(b.loss))));
  }
}

// Grows `net` (a copy kept in `before`) by step<I> and checks function
// preservation: outputs and loss bit-identical, one SGD step identical on
// every parameter that was active before, and the new units learning.
template <class Net, class GrowFn>
void check_growth_preserves(Net& net, Net& before, GrowFn&& grow, std::uint64_t seed) {
  before = net;
  active_mask(before, g_mask);
  ta::Rng rng(seed);
  REQUIRE(grow(net, rng) == ta::Status::ok);
  ta::Rng data(seed + 1);
  for (int s = 0; s < 3; ++s) {
    random_sample<Net>(data, g_x);
    CHECK(same_bits(net.forward(g_x), before.forward(g_x), Net::output_size));
  }
  const unsigned label = data.below(Net::output_size);
  ta::SGD<Net> a(0.05f), b(0.05f);
  const ta::StepResult ra = ta::train_step<ta::SoftmaxCrossEntropy>(net, a, static_cast<const float*>(g_x), label);
  const ta::StepResult rb = ta::train_step<ta::SoftmaxCrossEntropy>(before, b, static_cast<const float*>(g_x), label);
  REQUIRE(ra.ok());
  REQUIRE(rb.ok());
  CHECK(ra.loss == rb.loss);
  const auto pa = net.parameters();
  const auto pb = before.parameters();
  bool old_same = true;
  for (std::size_t i = 0; i < Net::param_count; ++i)
    if (g_mask[i]) old_same = old_same && std::memcmp(&pa[i], &pb[i], sizeof(float)) == 0;
  CHECK(old_same);
  // The new units learned their outgoing weights: now they change the output.
  CHECK_FALSE(same_bits(net.forward(g_x), before.forward(g_x), Net::output_size));
}
#if defined(TINYADAPT_ON_TARGET)
// Executed instructions of one SGD step (after an uncounted one) at the
// network's current widths, printed with its training FLOPs.
template <class Net>
std::uint32_t step_instructions(Net& net, const char* name) {
  static ta::SGD<Net> sgd(0.01f);
  ta::Rng data(2);
  random_sample<Net>(data, g_x);
  REQUIRE(ta::train_step<ta::SoftmaxCrossEntropy>(net, sgd, static_cast<const float*>(g_x), 1u).ok());
  ta::StepResult r;
  const std::uint32_t n = board::count_instructions(
      [&] { r = ta::train_step<ta::SoftmaxCrossEntropy>(net, sgd, static_cast<const float*>(g_x), 1u); });
  CHECK(r.ok());
  board::print(name);
  board::print(": SGD step ");
  board::print_uint(n);
  board::print(" instructions, training FLOPs ");
  board::print_uint(static_cast<std::uint32_t>(net.training_flops()));
  board::print(", inference FLOPs ");
  board::print_uint(static_cast<std::uint32_t>(net.inference_flops()));
  board::print("\n");
  return n;
}
#endif

}  // namespace
