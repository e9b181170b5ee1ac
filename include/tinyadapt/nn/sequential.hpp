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

// Binding: C and A describe the input's run-time width (C channels, A active
// at first; 0 when every input is always active). Behind a layer with a
// run-time width the next layers bind through bind_behind_growable
// (nn/growable.hpp); a network without one binds exactly as always.
template <class S, class In, std::size_t C, std::size_t A>
struct bind_layer {
  using type = typename bind_behind_growable<S, In, C, A>::type;
};
template <class S, class In>
struct bind_layer<S, In, 0, 0> {
  using type = typename S::template bind<In>;
};
template <class S, class = void>
struct must_be_last : std::false_type {};
template <class S>
struct must_be_last<S, std::void_t<decltype(S::must_be_last)>> : std::bool_constant<S::must_be_last> {};

// The run-time width of a layer's output: its own if it grows, none if its
// outputs are fixed, else (a channel-wise layer) its input's.
template <class L, std::size_t C, std::size_t A>
constexpr std::size_t channels_after(bool initial) {
  if constexpr (has_run_time_width<L>::value) {
    if constexpr (L::grows) return initial ? L::initial_width : L::max_width;
    else return 0;
  } else {
    return initial ? A : C;
  }
}

template <class In, std::size_t C, std::size_t A, class... Specs>
struct bind_all {
  using type = std::tuple<>;
};
template <class In, std::size_t C, std::size_t A, class S, class... Rest>
struct bind_all<In, C, A, S, Rest...> {
  static_assert(!must_be_last<S>::value || sizeof...(Rest) == 0, "a GrowableHead must be the network's last layer");
  using layer = typename bind_layer<S, In, C, A>::type;
  static_assert(std::is_same_v<typename layer::input_shape, In>, "internal: layer bound to the wrong input shape");
  using type = decltype(std::tuple_cat(
      std::declval<std::tuple<layer>>(),
      std::declval<typename bind_all<typename layer::output_shape, channels_after<layer, C, A>(false),
                                     channels_after<layer, C, A>(true), Rest...>::type>()));
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

// Where each part of the arena starts (floats), and the report of its bytes.
struct ArenaLayout {
  std::size_t saved = 0, area0 = 0, area1 = 0, defer = 0, state = 0, flags = 0, floats = 0;
};
template <std::size_t N>
constexpr ArenaLayout arena_layout(const Plan<N>& p) {
  ArenaLayout a;
  a.saved = round4(p.params);
  a.area0 = a.saved + p.saved_floats;
  a.area1 = a.area0 + p.area_floats[0];
  a.defer = a.area1 + p.area_floats[1];
  a.state = a.defer + p.defer_floats;
  a.flags = a.state + (p.state_bytes + 3) / 4;
  a.floats = round4(a.flags + 1);
  return a;
}
constexpr MemoryReport arena_memory(const ArenaLayout& a) {
  MemoryReport r;
  r.parameters = a.saved * sizeof(float);
  r.activations = (a.state - a.saved) * sizeof(float);  // deferred deltas included
  r.backward_state = (a.floats - a.state) * sizeof(float);  // and the initialised flag
  return r;
}

// Which layer's run-time width each layer's input follows (N: none), and
// which layer reads a growable layer's channels (N: none, e.g. the last).
template <std::size_t N>
struct WidthPlan {
  std::size_t source[N] = {}, consumer[N] = {};
};
template <std::size_t N>
constexpr WidthPlan<N> make_width_plan(const bool (&rtw)[N], const bool (&grows)[N], const bool (&params)[N]) {
  WidthPlan<N> w{};
  std::size_t cur = N;
  for (std::size_t i = 0; i < N; ++i) {
    w.source[i] = cur;
    w.consumer[i] = N;
    if (rtw[i]) cur = grows[i] ? i : N;
    else if (params[i]) cur = N;
  }
  for (std::size_t i = 0; i < N; ++i)
    if (rtw[i] && w.source[i] != N && w.consumer[w.source[i]] == N) w.consumer[w.source[i]] = i;
  return w;
}
template <class L, class = void>
struct has_channel_loops : std::false_type {};
template <class L>
struct has_channel_loops<L, std::void_t<decltype(&L::forward_channels), decltype(&L::backward_channels)>>
    : std::true_type {};
template <class L>
constexpr bool grows_of() {
  if constexpr (has_run_time_width<L>::value) return L::grows;
  else return false;
}

}  // namespace detail

template <class In, class... Specs>
class Sequential : private detail::bind_all<In, 0, 0, Specs...>::type {
  static_assert(detail::is_shape<In>::value, "the first argument of Sequential must be Input<...> (a Shape)");
  static_assert(sizeof...(Specs) > 0, "a Sequential network needs at least one layer");

 public:
  using layers = typename detail::bind_all<In, 0, 0, Specs...>::type;
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
  template <std::size_t... I>
  static constexpr auto width_plan_of(std::index_sequence<I...>) {
    constexpr bool rtw[] = {detail::has_run_time_width<layer<I>>::value...};
    constexpr bool grows[] = {detail::grows_of<layer<I>>()...};
    constexpr bool params[] = {(layer<I>::weight_count + layer<I>::bias_count > 0)...};
    return detail::make_width_plan(rtw, grows, params);
  }
  using seq = std::make_index_sequence<layer_count>;
  template <std::size_t I>
  static constexpr bool run_time_width = detail::has_run_time_width<layer<I>>::value;
  // Width fields: where layer I's pair starts (the run-time layers before it, twice).
  template <std::size_t... I>
  static constexpr std::size_t width_fields_of(std::index_sequence<I...>) {
    return 2 * (std::size_t{0} + ... + std::size_t{run_time_width<I>});
  }
  template <std::size_t I>
  static constexpr std::size_t width_field = width_fields_of(std::make_index_sequence<I>{});

 public:
  static constexpr detail::Plan<layer_count> plan = plan_of(seq{});
  static constexpr detail::WidthPlan<layer_count> width_plan = width_plan_of(seq{});
  static constexpr std::size_t param_count = plan.params;
  static constexpr std::size_t trainable_count = plan.trainable;
  // Largest trainable parameter slice of one layer: the gradient memory needed
  // when each layer's update is applied as soon as its gradient is known.
  static constexpr std::size_t max_layer_trainable = plan.max_layer_trainable;
  static constexpr std::size_t macs = macs_of(seq{});  // forward multiply-accumulates per sample

 private:
  static constexpr detail::ArenaLayout layout = detail::arena_layout(plan);
  static constexpr std::size_t off_saved = layout.saved;
  static constexpr std::size_t off_area0 = layout.area0;
  static constexpr std::size_t off_area1 = layout.area1;
  static constexpr std::size_t off_defer = layout.defer;
  static constexpr std::size_t off_state = layout.state;
  static constexpr std::size_t off_flags = layout.flags;
  static constexpr std::size_t arena_floats = layout.floats;

 public:
  // Bytes this object occupies, by role (sizeof(Sequential) equals the sum).
  static constexpr MemoryReport memory() noexcept {
    MemoryReport r = detail::arena_memory(layout);
    r.widths = sizeof(Sequential) - sizeof(arena_);  // the growable layers' active widths (0 without any)
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

  // ---- Model size adaption (layers with a run-time width, nn/growable*.hpp).
  // Growth preserves the function: the n new units of layer I get fresh
  // incoming weights and bias (scheme, from rng) and zero outgoing weights
  // (the next Dense/Conv2D's weights from them), so every output is
  // bit-identical. Parameters are laid out for the maximum: no offset moves,
  // and a never-active parameter has zero gradient, so optimizer state for
  // new units is zero. Refused, with nothing changed: beyond the maximum
  // (capacity_exceeded), a network never initialised (not_initialised).
  template <std::size_t I>
  Status grow(std::size_t n, Rng& rng, Init scheme = Init::torch_default) noexcept {
    static_assert(I < layer_count, "grow<I>: the network has no layer I");
    static_assert(detail::grows_of<layer<I>>(), "grow<I>: layer I is not growable (GrowableDense, GrowableConv2D, GrowableHead)");
    if (!initialised()) return Status::not_initialised;
    if (n > layer<I>::max_width - get<I>().width()) return Status::capacity_exceeded;
    if (n == 0) return Status::ok;
    constexpr std::size_t J = width_plan.consumer[I];
    if constexpr (J < layer_count) get_mut<J>().add_inputs(arena_ + plan.param_off[J], n);
    get_mut<I>().add_units(arena_ + plan.param_off[I], n, rng, scheme);
    return Status::ok;
  }
  // The active widths as data, to save and restore a grown network with its
  // parameters (io/parameters.hpp): two values per layer with a run-time
  // width, in layer order, its active outputs and its active input channels.
  static constexpr std::size_t width_fields = width_fields_of(seq{});
  void get_widths(std::uint32_t* w) const noexcept { get_widths_of(w, seq{}); }
  // Checks w as get_widths() writes it: every width within its layer's
  // initial and maximum, a fixed one at its value, and every layer's inputs
  // as wide as the layer they read. size_mismatch if not.
  static Status check_widths(const std::uint32_t* w) noexcept { return check_widths_of(w, seq{}); }
  // Sets the widths after check_widths(w) == ok (otherwise nothing changes).
  // The parameters are not touched: restore them together.
  Status set_widths(const std::uint32_t* w) noexcept {
    const Status s = check_widths(w);
    if (s == Status::ok) set_widths_of(w, seq{});
    return s;
  }

  // Active channels (units, filters) of layer I's output; a layer without
  // parameters passes on the width of the growable layer below it.
  template <std::size_t I>
  std::size_t active_width() const noexcept {
    if constexpr (run_time_width<I>) return get<I>().width();
    else if constexpr (width_plan.source[I] < layer_count) return get<width_plan.source[I]>().width();
    else return max_width<I>;
  }
  template <std::size_t I>
  static constexpr std::size_t max_width = layer<I>::output_shape::dim(layer<I>::output_shape::rank - 1);

  // Cost of the active network per sample (FLOPs = 2 x MACs of the dense and
  // convolution layers): inference, and a training step (forward, input
  // gradients of the layers above the first trainable one, weight gradients).
  std::size_t inference_flops() const noexcept { return 2 * sum_active(seq{}, [](auto, std::size_t m) { return m; }); }
  // The inference FLOPs after growing each layer I by add[I] units (0 for
  // layers that cannot grow; add within growth_room), from the widths alone:
  // a policy prices a growth without a scratch copy of the network.
  std::size_t inference_flops_grown(const std::size_t (&add)[layer_count]) const noexcept {
    layers grown = static_cast<const layers&>(*this);
    grow_widths(grown, add, seq{});
    return 2 * macs_of(grown, seq{});
  }
  std::size_t training_flops() const noexcept {
    return 2 * sum_active(seq{}, [](auto i, std::size_t m) {
             constexpr std::size_t I = decltype(i)::value;
             return m * (1 + (plan.is_trainable[I] ? 1 : 0) + (plan.trainable_before[I] ? 1 : 0));
           });
  }
  std::size_t active_param_count() const noexcept { return active_params(seq{}); }
  // Layer i's gradient description for a sink (offset, count, active runs):
  // what backward() hands to optimizers, for code that steps from a stored
  // gradient (GradientAccumulator).
  LayerGrad layer_grad(std::size_t i, float norm) const noexcept { return layer_grad_at(i, norm, seq{}); }
  // What a fixed network of the active widths would occupy (its memory()):
  // the RAM a device built at these widths would need. This object keeps
  // memory() for the maximum.
  MemoryReport active_memory() const noexcept { return active_memory_of(seq{}); }

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
    LayerGrad g{I, plan.trainable_off[I], layer<I>::weight_count + layer<I>::bias_count, norm};
    if constexpr (run_time_width<I>) g.active = get<I>().active_runs();
    return g;
  }
  template <std::size_t... I>
  void get_widths_of(std::uint32_t* w, std::index_sequence<I...>) const noexcept {
    (get_width<I>(w), ...);
  }
  template <std::size_t I>
  void get_width(std::uint32_t* w) const noexcept {
    if constexpr (run_time_width<I>) {
      w[width_field<I>] = static_cast<std::uint32_t>(get<I>().width());
      w[width_field<I> + 1] = static_cast<std::uint32_t>(get<I>().input_width());
    }
  }
  template <std::size_t I>
  static bool width_ok(const std::uint32_t* w) noexcept {
    if constexpr (run_time_width<I>) {
      using L = layer<I>;
      const std::uint32_t out = w[width_field<I>], in = w[width_field<I> + 1];
      const bool out_ok = L::grows ? out >= L::initial_width && out <= L::max_width : out == L::initial_width;
      constexpr std::size_t src = width_plan.source[I];
      if constexpr (src < layer_count) return out_ok && in == w[width_field<src>];
      else return out_ok && in == L::initial_input_width;
    } else {
      return true;
    }
  }
  template <std::size_t... I>
  static Status check_widths_of(const std::uint32_t* w, std::index_sequence<I...>) noexcept {
    if constexpr (width_fields == 0) return Status::ok;
    else return (width_ok<I>(w) && ...) ? Status::ok : Status::size_mismatch;
  }
  template <std::size_t... I>
  void set_widths_of(const std::uint32_t* w, std::index_sequence<I...>) noexcept {
    (set_width<I>(w), ...);
  }
  template <std::size_t I>
  void set_width(const std::uint32_t* w) noexcept {
    if constexpr (run_time_width<I>) get_mut<I>().set_widths(w[width_field<I>], w[width_field<I> + 1]);
  }

  template <std::size_t... I>
  LayerGrad layer_grad_at(std::size_t i, float norm, std::index_sequence<I...>) const noexcept {
    LayerGrad g;
    ((I == i ? (void)(g = layer_grad<I>(norm)) : (void)0), ...);
    return g;
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
  template <std::size_t I>
  layer<I>& get_mut() noexcept {
    return std::get<I>(static_cast<layers&>(*this));
  }
  // Layer I's multiply-accumulates at the widths its layer objects hold (this
  // network's, or a copy grown in width only: inference_flops_grown).
  template <std::size_t I>
  static std::size_t active_macs_of(const layers& l) noexcept {
    if constexpr (run_time_width<I>) return std::get<I>(l).active_macs();
    else return layer<I>::macs;
  }
  template <std::size_t I>
  std::size_t active_macs() const noexcept {
    return active_macs_of<I>(*this);
  }
  template <std::size_t... I>
  static void grow_widths(layers& l, const std::size_t (&add)[layer_count], std::index_sequence<I...>) noexcept {
    (grow_width<I>(l, add[I]), ...);
  }
  template <std::size_t I>
  static void grow_width(layers& l, std::size_t n) noexcept {  // as grow<I> changes the widths
    if constexpr (detail::grows_of<layer<I>>()) {
      auto& g = std::get<I>(l);
      g.set_widths(g.width() + n, g.input_width());
      constexpr std::size_t J = width_plan.consumer[I];
      if constexpr (J < layer_count) std::get<J>(l).set_widths(std::get<J>(l).width(), std::get<J>(l).input_width() + n);
    }
  }
  template <std::size_t... I>
  static std::size_t macs_of(const layers& l, std::index_sequence<I...>) noexcept {
    return (std::size_t{0} + ... + active_macs_of<I>(l));
  }
  template <std::size_t... I, class Fn>
  std::size_t sum_active(std::index_sequence<I...>, Fn&& f) const noexcept {
    return (std::size_t{0} + ... + f(std::integral_constant<std::size_t, I>{}, active_macs<I>()));
  }
  template <std::size_t... I>
  std::size_t active_params(std::index_sequence<I...>) const noexcept {
    return (std::size_t{0} + ... + active_params_of<I>());
  }
  // Active channels of layer I's output and how many it has (1 of 1: all).
  template <std::size_t I>
  void width_fraction(std::size_t& active, std::size_t& channels) const noexcept {
    if constexpr (run_time_width<I>) {
      active = get<I>().width();
      channels = layer<I>::max_width;
    } else if constexpr (width_plan.source[I] < layer_count) {
      active = get<width_plan.source[I]>().width();
      channels = layer<width_plan.source[I]>::max_width;
    } else {
      active = channels = 1;
    }
  }
  // Layer I as the fixed layer of the active widths would describe itself.
  template <std::size_t I>
  detail::LayerFacts active_facts() const noexcept {
    detail::LayerFacts f = detail::facts_of<layer<I>>();
    std::size_t a = 1, c = 1;
    if constexpr (I > 0) width_fraction<I - 1>(a, c);
    f.in = f.in / c * a;
    width_fraction<I>(a, c);
    f.out = f.out / c * a;
    f.state = (f.state * a + c - 1) / c;
    f.params = active_params_of<I>();
    return f;
  }
  template <std::size_t... I>
  MemoryReport active_memory_of(std::index_sequence<I...>) const noexcept {
    const detail::LayerFacts f[] = {active_facts<I>()...};
    return detail::arena_memory(detail::arena_layout(detail::make_plan(f)));
  }
  template <std::size_t I>
  std::size_t active_params_of() const noexcept {
    if constexpr (run_time_width<I>) return get<I>().active_params();
    else return layer<I>::weight_count + layer<I>::bias_count;
  }

  template <std::size_t... I>
  void init_layers(Rng& rng, Init scheme, std::index_sequence<I...>) noexcept {
    (init_layer<I>(rng, scheme), ...);
  }
  // A layer with a run-time width starts again at its initial width.
  template <std::size_t I>
  void init_layer(Rng& rng, Init scheme) noexcept {
    if constexpr (run_time_width<I>) {
      get_mut<I>().reset_widths();
      get_mut<I>().init_active(arena_ + plan.param_off[I], rng, scheme);
    } else {
      detail::init_params(arena_ + plan.param_off[I], layer<I>::weight_count, layer<I>::bias_count, layer<I>::fan_in,
                          layer<I>::fan_out, rng, scheme);
    }
  }

  // A parameter-free layer behind a growable one (width_plan.source) that
  // can loop over the active channels alone (forward_channels).
  template <std::size_t I>
  static constexpr bool follows_width = []() {
    if constexpr (run_time_width<I> || width_plan.source[I] >= layer_count) return false;
    else return detail::has_channel_loops<layer<I>>::value;
  }();

  template <std::size_t I>
  void forward_layer(const float* x) noexcept {
    const float* p = arena_ + plan.param_off[I];
    const float* in = I == 0 ? x : value_ptr(plan.in_buf[I]);
    if constexpr (follows_width<I>) get<I>().forward_channels(p, in, value_ptr(plan.out_buf[I]), state_ptr(I), active_width<I>());
    else get<I>().forward(p, in, value_ptr(plan.out_buf[I]), state_ptr(I));
  }
  template <std::size_t... I>
  void forward_layers(const float* x, std::index_sequence<I...>) noexcept {
    (forward_layer<I>(x), ...);
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

  // |x|^2 and |dy|^2 of layer I for the gradient bound: over the active part
  // of a layer with a run-time width (exact: nothing else enters its gradient).
  template <std::size_t I>
  float input_sq(const float* in, float x_sq) noexcept {
    if constexpr (run_time_width<I>) return I == 0 && x_sq >= 0.0f ? x_sq : get<I>().in_sq(in);
    else return I == 0 && x_sq >= 0.0f ? x_sq : kernels::dot(in, in, layer<I>::input_shape::size);
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
    if constexpr (follows_width<I>) {
      get<I>().backward_channels(p, in, value_ptr(plan.out_buf[I]), state_ptr(I), dy, dx, active_width<I>());
      return true;
    } else if constexpr (!L::trainable || !Sink::updates_weights) {
      get<I>().backward(p, in, value_ptr(plan.out_buf[I]), state_ptr(I), dy, dx, nullptr, 0.0f);
      return true;
    } else {
      constexpr std::size_t out_n = L::output_shape::size;
      float norm = norms[I];  // the lowest layer was bounded and accepted from above
      if constexpr (!(I == plan.first && plan.lookahead)) {
        if constexpr (run_time_width<I>) norm = grad_norm<L>(get<I>().out_sq(dy), input_sq<I>(in, x_sq));
        else norm = grad_norm<L>(kernels::dot(dy, dy, out_n), input_sq<I>(in, x_sq));
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
        const float bound = grad_norm<layer<F>>(gain_sq * input_sq<I>(dx, -1.0f), input_sq<F>(input_of(F, x), x_sq));
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
