// Int8Network<Net>: the int8 inference twin of a float Sequential type.
//
// The layer list is Net's, each layer replaced at compile time by its int8
// form: Dense and Conv2D keep int8 weights with one scale per output unit /
// channel, an int32 start value (bias and zero points folded in) and a
// fixed-point multiplier (kernels/int8.hpp describes the packed format);
// ReLU, MaxPool2D and Flatten run on int8 values directly; Tanh, Sigmoid and
// LeakyReLU look their output up in a 256-entry table. Activations are int8
// with one (scale, zero point) per tensor. A ReLU right after a Dense or
// Conv2D costs nothing: that layer's output uses the post-ReLU range (zero
// point -128) and saturation does the clamping.
//
// Everything lives inside the object, sized at compile time: packed
// parameters, two activation buffers and one scratch area for the kernels.
// Fill it with quant::quantize() (quantize.hpp) from a trained float network:
//
//   static ta::Int8Network<W2> q;
//   ta::quant::quantize(net, calibrator, q);          // see quantize.hpp
//   ta::quant::QuantStatus s = q.forward(x, y);       // float in, float out
//   s = q.forward_int8(xq);                           // int8 in, int8 out: q.output()
//   std::size_t cls = q.argmax();
//
// Before a successful quantize() every forward returns not_quantized and runs
// nothing (the parameters are zeros, not a model).
//
// Supported layers: Dense, Conv2D (any stride, valid/same padding), ReLU,
// LeakyReLU, Tanh, Sigmoid, MaxPool2D, Flatten. Others stop the build with a
// static_assert.
#pragma once
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "../core/finite.hpp"
#include "../core/span.hpp"
#include "../kernels/int8.hpp"
#include "../nn/activations.hpp"
#include "../nn/conv2d.hpp"
#include "../nn/dense.hpp"
#include "../nn/flatten.hpp"
#include "../nn/max_pool2d.hpp"
#include "../nn/memory.hpp"
#include "../nn/sequential.hpp"
#include "status.hpp"

namespace tinyadapt {

namespace quant {

// Quantisation of one int8 tensor: real = scale * (q - zero_point).
struct TensorQuant {
  float scale = 1.0f;
  std::int32_t zero_point = 0;

  // Round to nearest (halves up), saturated to int8. Clamped before the
  // cast, so the cast is always defined (NaN gives -128; forward() refuses it
  // before). inv_scale is finite: scales are normal floats (quantize.hpp).
  std::int8_t quantize(float v) const noexcept { return quantize(v, 1.0f / scale); }
  std::int8_t quantize(float v, float inv_scale) const noexcept {
    float t = v * inv_scale + (static_cast<float>(zero_point) + 128.5f);  // q + 128.5
    t = t > 0.0f ? t : 0.0f;
    t = t < 255.0f ? t : 255.0f;
    return static_cast<std::int8_t>(static_cast<int>(t) - 128);
  }
  float dequantize(std::int8_t q) const noexcept { return scale * static_cast<float>(q - zero_point); }
};

// Int8 layers. Each provides input_shape, output_shape, weighted, in_place,
// param_words, scratch_bytes, macs and
//   static void forward(const uint32_t* p, int8_t* x, int8_t* y, const TensorQuant& in, void* scratch);
// Layers with weights also describe their rows for the quantiser: rows, taps
// (packed, padded), packing, weight(p, row, tap) (0 for padding taps) and
// bias(p, row), reading the float layer's parameters p; mono3x3 tells the
// Conv2D layers stored in that format instead (kernel_weight(p, f, ky, kx)).

template <std::size_t In, std::size_t Out>
struct QDense {
  using input_shape = Shape<In>;
  using output_shape = Shape<Out>;
  using packing = kernels::int8::Packing<Out, In, 4>;
  static constexpr bool weighted = true;
  static constexpr bool mono3x3 = false;
  static constexpr bool in_place = false;
  static constexpr std::size_t rows = Out;
  static constexpr std::size_t taps = packing::taps;
  static constexpr std::size_t param_words = packing::words;
  static constexpr std::size_t scratch_bytes = kernels::int8::dense_scratch_bytes<In, Out>;
  static constexpr std::size_t macs = In * Out;

  static float weight(const float* p, std::size_t row, std::size_t tap) noexcept {
    return tap < In ? p[row * In + tap] : 0.0f;
  }
  static float bias(const float* p, std::size_t row) noexcept { return p[Out * In + row]; }

  static void forward(const std::uint32_t* p, std::int8_t* x, std::int8_t* y, const TensorQuant&,
                      void* scratch) noexcept {
    kernels::int8::dense<In, Out>(x, p, y, scratch);
  }
};

template <std::size_t H, std::size_t W, std::size_t C, std::size_t F, std::size_t K, std::size_t S, Padding P>
struct QConv2D {
  using float_layer = Conv2DLayer<H, W, C, F, K, S, P>;
  using input_shape = typename float_layer::input_shape;
  using output_shape = typename float_layer::output_shape;
  using geometry = kernels::int8::ConvGeometry<H, W, C, F, K, K, S, S, float_layer::PT, float_layer::PL,
                                               float_layer::OH, float_layer::OW>;
  using packing = typename geometry::packing;
  static constexpr bool weighted = true;
  // One input channel, 3x3, stride 1: mono3x3 format (kernels/int8.hpp).
  static constexpr bool mono3x3 = geometry::mono3x3;
  static constexpr bool in_place = false;
  static constexpr std::size_t rows = F;
  static constexpr std::size_t taps = packing::taps;
  static constexpr std::size_t param_words =
      mono3x3 ? F * kernels::int8::mono3x3::words_per_channel : packing::words;
  static constexpr std::size_t scratch_bytes = kernels::int8::conv2d_scratch_bytes<geometry>;
  static constexpr std::size_t macs = geometry::macs;

  // Packed tap t: kernel row t / lr, (kx, c) from t % lr; float weights are [kh][kw][c][f].
  static float weight(const float* p, std::size_t f, std::size_t tap) noexcept {
    const std::size_t ky = tap / geometry::lr, j = tap % geometry::lr;
    if (j >= geometry::row_taps) return 0.0f;
    return kernel_weight(p, f, ky, j / C, j % C);
  }
  static float bias(const float* p, std::size_t f) noexcept { return p[K * K * C * F + f]; }
  // Weight at kernel position (ky, kx), channel c, of output channel f.
  static float kernel_weight(const float* p, std::size_t f, std::size_t ky, std::size_t kx,
                             std::size_t c = 0) noexcept {
    return p[((ky * K + kx) * C + c) * F + f];
  }

  static void forward(const std::uint32_t* p, std::int8_t* x, std::int8_t* y, const TensorQuant& in,
                      void* scratch) noexcept {
    kernels::int8::conv2d<geometry>(x, static_cast<std::int8_t>(in.zero_point), p, y, scratch);
  }
};

template <std::size_t H, std::size_t W, std::size_t C, std::size_t K, std::size_t S>
struct QMaxPool2D {
  using float_layer = MaxPool2DLayer<H, W, C, K, S>;
  using input_shape = typename float_layer::input_shape;
  using output_shape = typename float_layer::output_shape;
  static constexpr bool weighted = false;
  static constexpr bool in_place = false;
  static constexpr std::size_t param_words = 0;
  static constexpr std::size_t scratch_bytes = 0;
  static constexpr std::size_t macs = 0;

  static void forward(const std::uint32_t*, std::int8_t* x, std::int8_t* y, const TensorQuant&, void*) noexcept {
    kernels::int8::max_pool2d<H, W, C, K, S>(x, y);
  }
};

// ReLU: max(x, zero point) in place; nothing to do when the zero point is
// -128 (always the case right after a Dense or Conv2D).
template <class In>
struct QReLU {
  using input_shape = In;
  using output_shape = In;
  static constexpr bool weighted = false;
  static constexpr bool in_place = true;
  static constexpr std::size_t param_words = 0;
  static constexpr std::size_t scratch_bytes = 0;
  static constexpr std::size_t macs = 0;

  static void forward(const std::uint32_t*, std::int8_t* x, std::int8_t*, const TensorQuant& in, void*) noexcept {
    if (in.zero_point > -128) kernels::int8::relu(x, In::size, static_cast<std::int8_t>(in.zero_point));
  }
};

// Any other element-wise activation (Tanh, Sigmoid, LeakyReLU): a table of
// its 256 possible outputs, filled by the quantiser from the calibrated input
// and output ranges (64 words of parameters); Fn::f is the float function.
template <class In, class Fn>
struct QLookup {
  using input_shape = In;
  using output_shape = In;
  using function = Fn;
  static constexpr bool weighted = false;
  static constexpr bool in_place = true;
  static constexpr std::size_t param_words = 256 / 4;
  static constexpr std::size_t scratch_bytes = 0;
  static constexpr std::size_t macs = 0;

  static void forward(const std::uint32_t* p, std::int8_t* x, std::int8_t*, const TensorQuant&, void*) noexcept {
    const auto* table = reinterpret_cast<const unsigned char*>(p);  // indexed by the input's byte
    for (std::size_t i = 0; i < In::size; ++i) x[i] = static_cast<std::int8_t>(table[static_cast<unsigned char>(x[i])]);
  }
};

template <class In>
struct QFlatten {
  using input_shape = In;
  using output_shape = Shape<In::size>;
  static constexpr bool weighted = false;
  static constexpr bool in_place = true;
  static constexpr std::size_t param_words = 0;
  static constexpr std::size_t scratch_bytes = 0;
  static constexpr std::size_t macs = 0;

  static void forward(const std::uint32_t*, std::int8_t*, std::int8_t*, const TensorQuant&, void*) noexcept {}
};

namespace detail {
template <class L>
inline constexpr bool unsupported_layer = false;

// LeakyReLU with slope Num / Den as a function for QLookup.
template <std::size_t Num, std::size_t Den>
struct LeakyFn {
  static float f(float x) noexcept { return x >= 0.0f ? x : x * static_cast<float>(Num) / static_cast<float>(Den); }
};

template <class L>
struct QLayerOf {
  static_assert(unsupported_layer<L>,
                "int8 conversion supports Dense, Conv2D, MaxPool2D, Flatten and element-wise activations only");
  using type = void;
};
template <std::size_t In, std::size_t Out>
struct QLayerOf<DenseLayer<In, Out>> {
  using type = QDense<In, Out>;
};
template <std::size_t H, std::size_t W, std::size_t C, std::size_t F, std::size_t K, std::size_t S, Padding P>
struct QLayerOf<Conv2DLayer<H, W, C, F, K, S, P>> {
  using type = QConv2D<H, W, C, F, K, S, P>;
};
template <std::size_t H, std::size_t W, std::size_t C, std::size_t K, std::size_t S>
struct QLayerOf<MaxPool2DLayer<H, W, C, K, S>> {
  using type = QMaxPool2D<H, W, C, K, S>;
};
template <class In, std::size_t Num, std::size_t Den>
struct QLayerOf<PiecewiseLinearLayer<In, Num, Den>> {
  using type = QLookup<In, LeakyFn<Num, Den>>;
};
template <class In>
struct QLayerOf<PiecewiseLinearLayer<In, 0, 1>> {
  using type = QReLU<In>;
};
template <class In, class Fn>
struct QLayerOf<OutputActivationLayer<In, Fn>> {
  using type = QLookup<In, Fn>;
};
template <class In>
struct QLayerOf<FlattenLayer<In>> {
  using type = QFlatten<In>;
};

template <class L>
inline constexpr bool is_relu = false;
template <class In>
inline constexpr bool is_relu<QReLU<In>> = true;
template <class L>
inline constexpr bool is_lookup = false;
template <class In, class Fn>
inline constexpr bool is_lookup<QLookup<In, Fn>> = true;

constexpr std::size_t max_of(std::size_t a, std::size_t b) noexcept { return a > b ? a : b; }
}  // namespace detail

struct Access;  // the quantiser's way in (quantize.hpp)

}  // namespace quant

template <class Net>
class Int8Network {
 public:
  using float_network = Net;
  static constexpr std::size_t layer_count = Net::layer_count;
  template <std::size_t I>
  using layer = typename quant::detail::QLayerOf<typename Net::template layer<I>>::type;
  using input_shape = typename Net::input_shape;
  using output_shape = typename Net::output_shape;
  static constexpr std::size_t input_size = Net::input_size;
  static constexpr std::size_t output_size = Net::output_size;
  // Tensor t: 0 is the input, t = I + 1 the output of layer I.
  static constexpr std::size_t tensor_count = layer_count + 1;

 private:
  using seq = std::make_index_sequence<layer_count>;

  struct Plan {
    std::size_t param_off[layer_count + 1] = {};
    std::size_t in_buf[layer_count] = {}, out_buf[layer_count] = {};
    std::size_t param_words = 0, scratch_bytes = 0, buffer_bytes = 0, macs = 0;
  };
  template <std::size_t... I>
  static constexpr Plan make_plan(std::index_sequence<I...>) {
    Plan p{};
    const std::size_t words[] = {layer<I>::param_words...};
    const bool in_place[] = {layer<I>::in_place...};
    const std::size_t scratch[] = {layer<I>::scratch_bytes...};
    const std::size_t out_size[] = {layer<I>::output_shape::size...};
    const std::size_t layer_macs[] = {layer<I>::macs...};
    std::size_t buf = 0;
    p.buffer_bytes = input_size;
    for (std::size_t i = 0; i < layer_count; ++i) {
      p.param_off[i] = p.param_words;
      p.param_words += words[i];
      p.in_buf[i] = buf;
      if (!in_place[i]) buf = 1 - buf;
      p.out_buf[i] = buf;
      p.scratch_bytes = quant::detail::max_of(p.scratch_bytes, scratch[i]);
      p.buffer_bytes = quant::detail::max_of(p.buffer_bytes, out_size[i]);
      p.macs += layer_macs[i];
    }
    p.param_off[layer_count] = p.param_words;
    return p;
  }

 public:
  static constexpr Plan plan = make_plan(seq{});
  static constexpr std::size_t param_words = plan.param_words;
  static constexpr std::size_t macs = plan.macs;
  // Activation buffers: the largest tensor, rounded up to whole words, plus
  // one word the kernels may read (never use) past a tensor's end.
  static constexpr std::size_t buffer_bytes = kernels::int8::round4(plan.buffer_bytes) + 4;

 private:
  static constexpr std::size_t param_storage = param_words > 0 ? param_words : 1;
  static constexpr std::size_t scratch_words = plan.scratch_bytes > 0 ? (plan.scratch_bytes + 3) / 4 : 1;

 public:
  // Bytes of this object by role.
  static constexpr MemoryReport memory() noexcept {
    MemoryReport r;
    r.parameters = param_storage * 4 + tensor_count * sizeof(quant::TensorQuant);
    r.activations = 2 * buffer_bytes;
    r.scratch = scratch_words * 4;
    return r;
  }

  // True once quantize() has filled the network.
  bool ready() const noexcept { return ready_; }

  // Float in, float out: quantises x, runs, and writes the dequantised output
  // to y if given. not_quantized or non_finite_input (one pass over x, before
  // anything is written) run nothing and leave y and output() as they were.
  quant::QuantStatus forward(const float* x, float* y = nullptr) noexcept {
    if (!ready_) return quant::QuantStatus::not_quantized;
    if (!all_finite(x, input_size)) return quant::QuantStatus::non_finite_input;
    const quant::TensorQuant& q = tq_[0];
    const float inv_scale = 1.0f / q.scale;
    std::int8_t* in = buf_[0];
    for (std::size_t i = 0; i < input_size; ++i) in[i] = q.quantize(x[i], inv_scale);
    run_layers(seq{});
    if (y)
      for (std::size_t i = 0; i < output_size; ++i) y[i] = output_value(i);
    return quant::QuantStatus::ok;
  }

  // Int8 in (quantised with input_quant()), int8 out at output().
  quant::QuantStatus forward_int8(const std::int8_t* xq) noexcept {
    for (std::size_t i = 0; i < input_size; ++i) buf_[0][i] = xq[i];
    return run();
  }

  // Runs on the int8 input written to input() (input_size values; the
  // buffers are reused, so write it again before every run); output at output().
  quant::QuantStatus run() noexcept {
    if (!ready_) return quant::QuantStatus::not_quantized;
    run_layers(seq{});
    return quant::QuantStatus::ok;
  }
  std::int8_t* input() noexcept { return buf_[0]; }

  // Runs layer I alone on the buffers as the previous layers left them
  // (for profiling: run_layer<0>(), run_layer<1>(), ... equals run(); no
  // readiness check, so call it only on a quantised network).
  template <std::size_t I>
  void run_layer() noexcept {
    layer<I>::forward(params_ + plan.param_off[I], buf_[plan.in_buf[I]], buf_[plan.out_buf[I]], tq_[I], scratch_);
  }

  const std::int8_t* output() const noexcept { return buf_[plan.out_buf[layer_count - 1]]; }
  float output_value(std::size_t i) const noexcept { return tq_[layer_count].dequantize(output()[i]); }
  // Index of the largest output (the first one on ties).
  std::size_t argmax() const noexcept {
    const std::int8_t* o = output();
    std::size_t best = 0;
    for (std::size_t i = 1; i < output_size; ++i)
      if (o[i] > o[best]) best = i;
    return best;
  }

  const quant::TensorQuant& tensor_quant(std::size_t t) const noexcept { return tq_[t]; }
  const quant::TensorQuant& input_quant() const noexcept { return tq_[0]; }
  const quant::TensorQuant& output_quant() const noexcept { return tq_[layer_count]; }

  // The packed parameters of all layers (for storing a converted network).
  Span<std::uint32_t> packed_parameters() noexcept { return Span<std::uint32_t>(params_, param_words); }
  Span<const std::uint32_t> packed_parameters() const noexcept {
    return Span<const std::uint32_t>(params_, param_words);
  }
  template <std::size_t I>
  const std::uint32_t* layer_parameters() const noexcept {
    return params_ + plan.param_off[I];
  }

 private:
  template <std::size_t... I>
  void run_layers(std::index_sequence<I...>) noexcept {
    (run_layer<I>(), ...);
  }

  friend struct quant::Access;

  alignas(8) std::uint32_t params_[param_storage] = {};
  alignas(8) std::uint32_t scratch_[scratch_words] = {};
  alignas(8) std::int8_t buf_[2][buffer_bytes] = {};
  quant::TensorQuant tq_[tensor_count] = {};
  bool ready_ = false;
};

}  // namespace tinyadapt
