// Sequential<Input<...>, Layers...>: a network is a type.
//
// Every shape is deduced at compile time and all memory lives inside the
// object: one float arena holding, in order,
//   parameters | saved activations | two work areas | backward state
// Parameters of all layers form one contiguous buffer (layer after layer,
// weights then bias), so optimizers, Reptile, checkpoints and the wire format
// work on one flat span.
//
// Activation plan (computed at compile time): each layer output is a buffer;
// in-place layers (activations, Flatten) reuse their input buffer. A buffer that
// backward reads (a Dense/Conv input, a Sigmoid output) gets its own slot; all
// others, and every backward delta, alternate between two work areas, so the
// activation memory is about the two largest neighbouring tensors plus what
// backward keeps.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <utility>

#include "../core/rng.hpp"
#include "../core/span.hpp"
#include "../core/status.hpp"
#include "../core/tensor.hpp"
#include "../kernels/kernels.hpp"
#include "../optim/update_guard.hpp"
#include "layer.hpp"
#include "memory.hpp"

namespace tinyadapt {

namespace detail {

template <class In, class... Specs>
struct bind_all {
  using type = std::tuple<>;
};
template <class In, class S, class... Rest>
struct bind_all<In, S, Rest...> {
  using layer = typename S::template bind<In>;
  static_assert(std::is_same_v<typename layer::input_shape, In>, "internal: layer bound to the wrong input shape");
  using type = decltype(std::tuple_cat(std::declval<std::tuple<layer>>(),
                                       std::declval<typename bind_all<typename layer::output_shape, Rest...>::type>()));
};

struct LayerFacts {
  std::size_t in = 0, out = 0, params = 0, state = 0;
  bool in_place = false, keeps_in = false, keeps_out = false, trainable = false;
  float gain = 1.0f;  // backward gain of a parameter-free layer
};
template <class L>
constexpr float gain_of() {
  if constexpr (L::weight_count + L::bias_count == 0) return L::backward_gain;
  else return -1.0f;  // depends on the weights: unknown at compile time
}
template <class L>
constexpr LayerFacts facts_of() {
  return {L::input_shape::size, L::output_shape::size, L::weight_count + L::bias_count, L::state_bytes,
          L::in_place,          L::keeps_input,         L::keeps_output,                 L::trainable,
          gain_of<L>()};
}

constexpr std::size_t round4(std::size_t n) { return (n + 3) / 4 * 4; }

template <std::size_t N>
struct Plan {
  // Buffers: 0 is the caller's input, then one per non-in-place layer output.
  std::size_t in_buf[N] = {}, out_buf[N] = {};
  std::size_t buf_size[N + 1] = {};
  bool saved[N + 1] = {};
  std::size_t saved_off[N + 1] = {};
  std::size_t param_off[N] = {}, trainable_off[N] = {}, state_off[N] = {};
  bool trainable_before[N] = {}, is_trainable[N] = {};
  std::size_t layer_params[N] = {};
  std::size_t params = 0, trainable = 0, max_layer_trainable = 0, state_bytes = 0;
  std::size_t saved_floats = 0, area_floats[2] = {0, 0};
  std::size_t macs = 0;
  // Guarded backward (see backward()): the lowest two trainable layers, whether
  // the lowest one's gradient can be bounded from the second one's input delta
  // (only parameter-free layers between them), and the deferred layers above,
  // whose output deltas are kept until every layer has been checked.
  std::size_t first = N, second = N;
  bool lookahead = false;
  float lookahead_gain = 1.0f;
  bool deferred[N] = {};
  std::size_t defer_off[N] = {};
  std::size_t defer_floats = 0;
};

template <std::size_t N>
constexpr Plan<N> make_plan(const LayerFacts (&f)[N]) {
  Plan<N> p{};
  bool pinned[N + 1] = {};  // a buffer whose current value some layer's backward reads
  std::size_t nbuf = 1;
  p.buf_size[0] = f[0].in;
  for (std::size_t i = 0; i < N; ++i) {
    p.in_buf[i] = i == 0 ? 0 : p.out_buf[i - 1];
    const bool inplace = f[i].in_place && i > 0 && !pinned[p.in_buf[i]];
    p.out_buf[i] = inplace ? p.in_buf[i] : nbuf++;
    p.buf_size[p.out_buf[i]] = f[i].out;
    if (f[i].keeps_in) p.saved[p.in_buf[i]] = true;
    if (f[i].keeps_out) p.saved[p.out_buf[i]] = pinned[p.out_buf[i]] = true;
    p.param_off[i] = p.params;
    p.layer_params[i] = f[i].params;
    p.is_trainable[i] = f[i].trainable && f[i].params > 0;
    p.params += f[i].params;
    p.trainable_off[i] = p.trainable;
    p.trainable_before[i] = p.trainable > 0;
    if (f[i].trainable) {
      p.trainable += f[i].params;
      if (f[i].params > p.max_layer_trainable) p.max_layer_trainable = f[i].params;
    }
    p.state_off[i] = p.state_bytes;
    p.state_bytes += round4(f[i].state);
  }
  for (std::size_t i = 0; i < N; ++i) {
    if (!p.is_trainable[i]) continue;
    if (p.first == N) p.first = i;
    else if (p.second == N) p.second = i;
  }
  if (p.second != N) {
    p.lookahead = true;
    for (std::size_t i = p.first + 1; i < p.second; ++i) {
      if (f[i].gain < 0.0f) p.lookahead = false;
      else p.lookahead_gain *= f[i].gain;
    }
  }
  for (std::size_t i = 0; i < N; ++i) {
    p.deferred[i] = p.is_trainable[i] && i != p.first && !(i == p.second && p.lookahead);
    if (p.deferred[i]) {
      p.defer_off[i] = p.defer_floats;
      p.defer_floats += round4(f[i].out);
    }
  }
  p.saved[0] = false;  // the caller keeps its input alive for backward
  for (std::size_t b = 1; b < nbuf; ++b) {
    if (p.saved[b]) {
      p.saved_off[b] = p.saved_floats;
      p.saved_floats += round4(p.buf_size[b]);
    }
    // Deltas of every buffer live in the work areas; so do unsaved forward values.
    std::size_t& area = p.area_floats[b % 2];
    if (round4(p.buf_size[b]) > area) area = round4(p.buf_size[b]);
  }
  return p;
}

}  // namespace detail

template <class In, class... Specs>
class Sequential : private detail::bind_all<In, Specs...>::type {
  static_assert(detail::is_shape<In>::value, "the first argument of Sequential must be Input<...> (a Shape)");
  static_assert(sizeof...(Specs) > 0, "a Sequential network needs at least one layer");

 public:
  using layers = typename detail::bind_all<In, Specs...>::type;
  static constexpr std::size_t layer_count = sizeof...(Specs);
  template <std::size_t I>
  using layer = std::tuple_element_t<I, layers>;
  using input_shape = In;
  using output_shape = typename layer<layer_count - 1>::output_shape;
  static constexpr std::size_t input_size = In::size;
  static constexpr std::size_t output_size = output_shape::size;

 private:
  template <std::size_t... I>
  static constexpr auto plan_of(std::index_sequence<I...>) {
    constexpr detail::LayerFacts f[] = {detail::facts_of<layer<I>>()...};
    return detail::make_plan(f);
  }
  template <std::size_t... I>
  static constexpr std::size_t macs_of(std::index_sequence<I...>) {
    return (layer<I>::macs + ...);
  }
  using seq = std::make_index_sequence<layer_count>;

 public:
  static constexpr detail::Plan<layer_count> plan = plan_of(seq{});
  static constexpr std::size_t param_count = plan.params;
  static constexpr std::size_t trainable_count = plan.trainable;
  // Largest trainable parameter slice of one layer: the gradient memory needed
  // when each layer's update is applied as soon as its gradient is known.
  static constexpr std::size_t max_layer_trainable = plan.max_layer_trainable;
  static constexpr std::size_t macs = macs_of(seq{});  // forward multiply-accumulates per sample

 private:
  static constexpr std::size_t off_saved = detail::round4(param_count);
  static constexpr std::size_t off_area0 = off_saved + plan.saved_floats;
  static constexpr std::size_t off_area1 = off_area0 + plan.area_floats[0];
  static constexpr std::size_t off_defer = off_area1 + plan.area_floats[1];
  static constexpr std::size_t off_state = off_defer + plan.defer_floats;
  static constexpr std::size_t off_flags = off_state + (plan.state_bytes + 3) / 4;
  static constexpr std::size_t arena_floats = detail::round4(off_flags + 1);

 public:
  // Bytes this object occupies, by role (sizeof(Sequential) equals the sum).
  static constexpr MemoryReport memory() noexcept {
    MemoryReport r;
    r.parameters = off_saved * sizeof(float);
    r.activations = (off_state - off_saved) * sizeof(float);  // deferred deltas included
    r.backward_state = (arena_floats - off_state) * sizeof(float);  // and the initialised flag
    return r;
  }

  // Write access to the parameters counts as setting them: the network is
  // then initialised (training refuses a network that never was).
  Span<float> parameters() noexcept {
    mark_initialised();
    return Span<float>(arena_, param_count);
  }
  Span<const float> parameters() const noexcept { return Span<const float>(arena_, param_count); }
  template <std::size_t I>
  Span<float> layer_parameters() noexcept {
    mark_initialised();
    return Span<float>(arena_ + plan.param_off[I], layer<I>::weight_count + layer<I>::bias_count);
  }

  void init(Rng& rng, Init scheme = Init::torch_default) noexcept {
    init_layers(rng, scheme, seq{});
    mark_initialised();
  }
  bool initialised() const noexcept {
    std::uint32_t flag = 0;
    std::memcpy(&flag, arena_ + off_flags, sizeof flag);
    return flag == initialised_flag;
  }

  // Runs the network on one sample; returns the output (valid until the next call).
  const float* forward(const float* x) noexcept {
    forward_layers(x, seq{});
    return value_ptr(plan.out_buf[layer_count - 1]);
  }
  template <class S>
  const float* forward(const Tensor<S>& x) noexcept {
    static_assert(S::size == input_size, "the input tensor does not match the network's input size");
    return forward(x.data());
  }
  const float* output() const noexcept { return value_ptr(plan.out_buf[layer_count - 1]); }

  // Where a loss writes dLoss/dOutput before backward().
  float* output_grad() noexcept { return delta_ptr(plan.out_buf[layer_count - 1]); }

  // Back-propagates output_grad() through the network after forward(x) with the
  // same x. For each trainable layer the sink provides where its weight gradient
  // goes (see optim/): a gradient slice, or the weights themselves for fused SGD.
  // input_grad, when given, receives dLoss/dx (dataset distillation asks for it).
  //
  // All or nothing: every trainable layer's gradient norm bound is offered to
  // sink.accept() before the first write. Going down, a layer's update is
  // written right after its input delta is taken, so the layers above the
  // lowest two keep their output delta (plan.deferred) and are written last;
  // the lowest layer is checked, and clipped, by a bound of its delta taken
  // through the parameter-free layers between (plan.lookahead). Returns
  // non_finite_gradient, with nothing written, if the sink refuses a layer.
  // x_sq, when known (>= 0), is |x|^2: the step has it from checking x.
  template <class Sink>
  Status backward(const float* x, Sink& sink, float* input_grad = nullptr, float x_sq = -1.0f) noexcept {
    float norms[layer_count] = {};
    if (!backward_layers(x, sink, input_grad, norms, x_sq, seq{})) return Status::non_finite_gradient;
    if constexpr (Sink::updates_weights) commit_deferred(sink, norms, seq{});
    return Status::ok;
  }

 private:
  static constexpr std::uint32_t initialised_flag = 0x54414e49u;  // "INAT"
  void mark_initialised() noexcept { std::memcpy(arena_ + off_flags, &initialised_flag, sizeof initialised_flag); }
  float* defer_ptr(std::size_t i) noexcept { return arena_ + off_defer + plan.defer_off[i]; }
  const float* input_of(std::size_t i, const float* x) noexcept { return i == 0 ? x : value_ptr(plan.in_buf[i]); }

  // Bound of a trainable layer's gradient norm from |dy|^2 and |x|^2.
  template <class L>
  static float grad_norm(float dy_sq, float x_sq) noexcept {
    return std::sqrt(dy_sq * (L::grad_norm_input_factor * x_sq + L::grad_norm_bias_factor));
  }
  template <std::size_t I>
  LayerGrad layer_grad(float norm) const noexcept {
    return {I, plan.trainable_off[I], layer<I>::weight_count + layer<I>::bias_count, norm};
  }
  float* value_ptr(std::size_t b) noexcept {
    return plan.saved[b] ? arena_ + off_saved + plan.saved_off[b] : arena_ + (b % 2 ? off_area1 : off_area0);
  }
  const float* value_ptr(std::size_t b) const noexcept { return const_cast<Sequential*>(this)->value_ptr(b); }
  float* delta_ptr(std::size_t b) noexcept { return arena_ + (b % 2 ? off_area1 : off_area0); }
  unsigned char* state_ptr(std::size_t i) noexcept {
    return reinterpret_cast<unsigned char*>(arena_ + off_state) + plan.state_off[i];
  }
  template <std::size_t I>
  const layer<I>& get() const noexcept {
    return std::get<I>(static_cast<const layers&>(*this));
  }

  template <std::size_t... I>
  void init_layers(Rng& rng, Init scheme, std::index_sequence<I...>) noexcept {
    (detail::init_params(arena_ + plan.param_off[I], layer<I>::weight_count, layer<I>::bias_count, layer<I>::fan_in,
                         layer<I>::fan_out, rng, scheme),
     ...);
  }

  template <std::size_t... I>
  void forward_layers(const float* x, std::index_sequence<I...>) noexcept {
    (get<I>().forward(arena_ + plan.param_off[I], I == 0 ? x : value_ptr(plan.in_buf[I]), value_ptr(plan.out_buf[I]),
                      state_ptr(I)),
     ...);
  }

  // Writes layer I's update from its output delta dy (the sink's gradient step).
  template <std::size_t I, class Sink>
  void commit(const float* x, Sink& sink, const float* dy, float* dx, float norm) noexcept {
    float* p = arena_ + plan.param_off[I];
    const LayerGrad g = layer_grad<I>(norm);
    float scale = 1.0f;
    float* dp = sink.weight_grad(p, g, scale);
    get<I>().backward(p, input_of(I, x), value_ptr(plan.out_buf[I]), state_ptr(I), dy, dx, dp, scale);
    sink.finish(p, g);
  }

  template <std::size_t I>
  float input_sq(const float* in, float x_sq) noexcept {
    return I == 0 && x_sq >= 0.0f ? x_sq : kernels::dot(in, in, layer<I>::input_shape::size);
  }

  // Layer I of the guarded backward; false when the sink refuses (nothing written).
  // Not inlined: with every layer inlined into one function GCC gave up
  // vectorising the rank-1 updates (W1 host step 3x slower).
  template <std::size_t I, class Sink>
  TINYADAPT_NOINLINE bool backward_layer(const float* x, Sink& sink, float* input_grad, float (&norms)[layer_count],
                      float x_sq) noexcept {
    using L = layer<I>;
    const bool want_dx = I == 0 ? input_grad != nullptr : (input_grad != nullptr || plan.trainable_before[I]);
    if (!want_dx && !L::trainable) return true;  // nothing below needs this layer's gradient
    float* p = arena_ + plan.param_off[I];
    const float* in = input_of(I, x);
    float* dy = delta_ptr(plan.out_buf[I]);
    float* dx = want_dx ? (I == 0 ? input_grad : delta_ptr(plan.in_buf[I])) : nullptr;
    if constexpr (!L::trainable || !Sink::updates_weights) {
      get<I>().backward(p, in, value_ptr(plan.out_buf[I]), state_ptr(I), dy, dx, nullptr, 0.0f);
      return true;
    } else {
      constexpr std::size_t in_n = L::input_shape::size, out_n = L::output_shape::size;
      float norm = norms[I];  // the lowest layer was bounded and accepted from above
      if constexpr (!(I == plan.first && plan.lookahead)) {
        norm = grad_norm<L>(kernels::dot(dy, dy, out_n), input_sq<I>(in, x_sq));
        if (!sink.accept(p, layer_grad<I>(norm))) return false;
        norms[I] = norm;
      }
      if constexpr (plan.deferred[I]) {
        get<I>().backward(p, in, value_ptr(plan.out_buf[I]), state_ptr(I), dy, dx, nullptr, 0.0f);  // old weights
        kernels::copy(defer_ptr(I), dy, out_n);
      } else if constexpr (I == plan.second && plan.lookahead) {
        get<I>().backward(p, in, value_ptr(plan.out_buf[I]), state_ptr(I), dy, dx, nullptr, 0.0f);
        constexpr std::size_t F = plan.first;
        const float gain_sq = plan.lookahead_gain * plan.lookahead_gain;
        const float bound = grad_norm<layer<F>>(gain_sq * kernels::dot(dx, dx, in_n), input_sq<F>(input_of(F, x), x_sq));
        if (!sink.accept(arena_ + plan.param_off[F], layer_grad<F>(bound))) return false;
        norms[F] = bound;
        commit<I>(x, sink, dy, nullptr, norm);
      } else {
        commit<I>(x, sink, dy, dx, norm);
      }
      return true;
    }
  }
  template <class Sink, std::size_t... I>
  bool backward_layers(const float* x, Sink& sink, float* input_grad, float (&norms)[layer_count], float x_sq,
                       std::index_sequence<I...>) noexcept {
    return (backward_layer<layer_count - 1 - I>(x, sink, input_grad, norms, x_sq) && ...);
  }
  template <std::size_t I, class Sink>
  void commit_if_deferred(Sink& sink, const float (&norms)[layer_count]) noexcept {
    if constexpr (plan.deferred[I]) commit<I>(nullptr, sink, defer_ptr(I), nullptr, norms[I]);
  }
  template <class Sink, std::size_t... I>
  void commit_deferred(Sink& sink, const float (&norms)[layer_count], std::index_sequence<I...>) noexcept {
    (commit_if_deferred<I>(sink, norms), ...);
  }

  alignas(16) float arena_[arena_floats] = {};
};

// Convenience: the memory report of a network type.
template <class Net>
inline constexpr MemoryReport memory_of = Net::memory();

}  // namespace tinyadapt
