// Model signature: a 64-bit hash, computed at compile time, of what the flat
// parameter buffer of a network means — the element type and, layer after
// layer, its kind, its hyper-parameters (kernel, stride, padding, slope),
// its input and output shapes and its weight and bias counts.
//
// Two networks with the same signature lay out their parameters the same
// way, so parameters saved from one can be loaded into the other; any
// change of layer type, order, shape or dtype changes the signature.
// Frozen<Layer> has the signature of Layer (freezing changes training, not
// the parameters).
//
// The hash is FNV-1a (64 bit) over a byte description that is the same on
// every compiler and target (integers little-endian, 4 bytes each), version
// tagged so that a later wire format can keep or extend it:
//
//   "tinyadapt.model.v1", dtype code, dtype bytes, layer count, then per layer:
//   kind code, hyper-parameter count, hyper-parameters,
//   input rank, input dims, output rank, output dims, weight count, bias count
//
// tools/torch_weights.py computes the same hash from a model description.
// No heap, no exceptions, no RTTI, no iostream.
#pragma once
#include <cstddef>
#include <cstdint>
#include <utility>

#include "../nn/activations.hpp"
#include "../nn/avg_pool2d.hpp"
#include "../nn/conv1d.hpp"
#include "../nn/conv2d.hpp"
#include "../nn/dense.hpp"
#include "../nn/depthwise_conv2d.hpp"
#include "../nn/flatten.hpp"
#include "../nn/frozen.hpp"
#include "../nn/global_avg_pool.hpp"
#include "../nn/max_pool2d.hpp"
#include "../nn/softmax.hpp"

namespace tinyadapt {
namespace io {

// Element types of a parameter buffer (the code is part of the signature).
enum class DType : std::uint8_t { float32 = 1 };

// Layer kinds (the code is part of the signature: never renumber).
enum class LayerKind : std::uint8_t {
  unknown = 0,  // a layer this header does not know: hashed by shapes and counts only
  dense = 1,
  conv2d = 2,
  conv1d = 3,
  depthwise_conv2d = 4,
  max_pool2d = 5,
  avg_pool2d = 6,
  global_avg_pool = 7,
  flatten = 8,
  leaky_relu = 9,  // ReLU is LeakyReLU with slope 0/1
  sigmoid = 10,
  tanh = 11,
  softmax = 12,
};

// FNV-1a, 64 bit.
class SignatureHash {
 public:
  constexpr void byte(std::uint8_t b) noexcept {
    h_ ^= b;
    h_ *= 0x100000001b3ull;
  }
  constexpr void u32(std::uint64_t v) noexcept {  // as 4 bytes, little-endian
    for (int i = 0; i < 4; ++i) byte(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  constexpr void text(const char* s) noexcept {
    while (*s != '\0') byte(static_cast<std::uint8_t>(*s++));
  }
  constexpr std::uint64_t value() const noexcept { return h_; }

 private:
  std::uint64_t h_ = 0xcbf29ce484222325ull;
};

// What a layer adds besides its shapes and counts: kind and hyper-parameters.
template <class L>
struct LayerSignature {
  static constexpr LayerKind kind = LayerKind::unknown;
  static constexpr std::size_t hyper_count = 0;
  static constexpr std::uint32_t hyper[1] = {0};
};

namespace detail {
template <LayerKind K, std::uint32_t... H>
struct KindOf {
  static constexpr LayerKind kind = K;
  static constexpr std::size_t hyper_count = sizeof...(H);
  static constexpr std::uint32_t hyper[sizeof...(H) + 1] = {H..., 0};
};
constexpr std::uint32_t pad_code(Padding p) noexcept { return p == Padding::same ? 1u : 0u; }
}  // namespace detail

template <std::size_t In, std::size_t Out>
struct LayerSignature<DenseLayer<In, Out>> : detail::KindOf<LayerKind::dense> {};
template <std::size_t H, std::size_t W, std::size_t C, std::size_t F, std::size_t K, std::size_t S, Padding P>
struct LayerSignature<Conv2DLayer<H, W, C, F, K, S, P>>
    : detail::KindOf<LayerKind::conv2d, K, S, detail::pad_code(P)> {};
template <std::size_t L, std::size_t C, std::size_t F, std::size_t K, std::size_t S, Padding P>
struct LayerSignature<Conv1DLayer<L, C, F, K, S, P>>
    : detail::KindOf<LayerKind::conv1d, K, S, detail::pad_code(P)> {};
template <std::size_t H, std::size_t W, std::size_t C, std::size_t K, std::size_t S, Padding P>
struct LayerSignature<DepthwiseConv2DLayer<H, W, C, K, S, P>>
    : detail::KindOf<LayerKind::depthwise_conv2d, K, S, detail::pad_code(P)> {};
template <std::size_t H, std::size_t W, std::size_t C, std::size_t K, std::size_t S>
struct LayerSignature<MaxPool2DLayer<H, W, C, K, S>> : detail::KindOf<LayerKind::max_pool2d, K, S> {};
template <std::size_t H, std::size_t W, std::size_t C, std::size_t K, std::size_t S>
struct LayerSignature<AvgPool2DLayer<H, W, C, K, S>> : detail::KindOf<LayerKind::avg_pool2d, K, S> {};
template <std::size_t Pixels, std::size_t C, class InShape>
struct LayerSignature<GlobalAvgPoolLayer<Pixels, C, InShape>> : detail::KindOf<LayerKind::global_avg_pool> {};
template <class In>
struct LayerSignature<FlattenLayer<In>> : detail::KindOf<LayerKind::flatten> {};
template <class In, std::size_t Num, std::size_t Den>
struct LayerSignature<PiecewiseLinearLayer<In, Num, Den>> : detail::KindOf<LayerKind::leaky_relu, Num, Den> {};
template <class In>
struct LayerSignature<OutputActivationLayer<In, tinyadapt::detail::SigmoidFn>> : detail::KindOf<LayerKind::sigmoid> {};
template <class In>
struct LayerSignature<OutputActivationLayer<In, tinyadapt::detail::TanhFn>> : detail::KindOf<LayerKind::tanh> {};
template <class In>
struct LayerSignature<SoftmaxLayer<In>> : detail::KindOf<LayerKind::softmax> {};
template <class L>
struct LayerSignature<FrozenLayer<L>> : LayerSignature<L> {};

namespace detail {
template <class S>
constexpr void hash_shape(SignatureHash& h) noexcept {
  h.u32(S::rank);
  for (std::size_t i = 0; i < S::rank; ++i) h.u32(S::dims[i]);
}

template <class L>
constexpr void hash_layer(SignatureHash& h) noexcept {
  using Sig = LayerSignature<L>;
  h.u32(static_cast<std::uint32_t>(Sig::kind));
  h.u32(Sig::hyper_count);
  for (std::size_t i = 0; i < Sig::hyper_count; ++i) h.u32(Sig::hyper[i]);
  hash_shape<typename L::input_shape>(h);
  hash_shape<typename L::output_shape>(h);
  h.u32(L::weight_count);
  h.u32(L::bias_count);
}

template <class Net, std::size_t... I>
constexpr std::uint64_t model_signature_of(std::index_sequence<I...>) noexcept {
  SignatureHash h;
  h.text("tinyadapt.model.v1");
  h.u32(static_cast<std::uint32_t>(DType::float32));
  h.u32(sizeof(float));
  h.u32(Net::layer_count);
  (hash_layer<typename Net::template layer<I>>(h), ...);
  return h.value();
}
}  // namespace detail

// The signature of a Sequential network (float32 parameters).
template <class Net>
constexpr std::uint64_t model_signature() noexcept {
  static_assert(sizeof(float) == 4, "the parameter formats assume 4-byte IEEE 754 floats");
  return detail::model_signature_of<Net>(std::make_index_sequence<Net::layer_count>{});
}

}  // namespace io
}  // namespace tinyadapt
