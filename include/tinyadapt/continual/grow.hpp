// Model size adaption for a learner: the growable layers (nn/growable_*.hpp),
// growth by a run-time layer index or by one step of several layers at once
// (all or nothing), the active widths, and the growth policies.
//
//   using Net = Sequential<Input<64>, GrowableDense<32, 8>, ReLU, Dense<10>>;
//   const std::size_t step[Net::layer_count] = {8, 0, 0};  // hidden 8 -> 32 by 8
//   ThresholdGrowth policy{0.9f};
//   if (policy.decide(metrics).grow) grow_all(net, step, rng);  // function preserved
#pragma once
#include <cstddef>
#include <utility>

#include "../core/rng.hpp"
#include "../core/status.hpp"
#include "../nn/growable_conv2d.hpp"
#include "../nn/growable_dense.hpp"
#include "../nn/sequential.hpp"
#include "growth_policy.hpp"

namespace tinyadapt {

namespace detail {
template <class Net, std::size_t I>
std::size_t room_of(const Net& net) noexcept {
  if constexpr (grows_of<typename Net::template layer<I>>()) return Net::template max_width<I> - net.template active_width<I>();
  else return 0;
}
template <class Net, std::size_t I>
Status grow_if_growable(Net& net, std::size_t n, Rng& rng, Init scheme) noexcept {
  if constexpr (grows_of<typename Net::template layer<I>>()) return net.template grow<I>(n, rng, scheme);
  else return n == 0 ? Status::ok : Status::capacity_exceeded;
}
template <class Net, std::size_t... I>
void rooms(const Net& net, std::size_t (&out)[Net::layer_count], std::index_sequence<I...>) noexcept {
  ((out[I] = room_of<Net, I>(net)), ...);
}
template <class Net, std::size_t... I>
Status grow_each(Net& net, const std::size_t (&n)[Net::layer_count], Rng& rng, Init scheme,
                 std::index_sequence<I...>) noexcept {
  Status st = Status::ok;
  ((st = st == Status::ok ? grow_if_growable<Net, I>(net, n[I], rng, scheme) : st), ...);
  return st;
}
template <class Net, std::size_t... I>
void widths(const Net& net, std::size_t (&out)[Net::layer_count], std::index_sequence<I...>) noexcept {
  ((out[I] = net.template active_width<I>()), ...);
}
}  // namespace detail

// Units (channels) each layer can still add: 0 for layers that cannot grow.
template <class Net>
void growth_room(const Net& net, std::size_t (&room)[Net::layer_count]) noexcept {
  detail::rooms(net, room, std::make_index_sequence<Net::layer_count>{});
}

// Active output channels of every layer (see Sequential::active_width).
template <class Net>
void active_widths(const Net& net, std::size_t (&width)[Net::layer_count]) noexcept {
  detail::widths(net, width, std::make_index_sequence<Net::layer_count>{});
}

// Whether grow_all(net, step, ...) would be accepted.
template <class Net>
bool can_grow(const Net& net, const std::size_t (&step)[Net::layer_count]) noexcept {
  std::size_t room[Net::layer_count];
  growth_room(net, room);
  bool any = false;
  for (std::size_t i = 0; i < Net::layer_count; ++i) {
    if (step[i] > room[i]) return false;
    any = any || step[i] > 0;
  }
  return any;
}

// Grows layer i of step[i] units for every i, all or nothing: refused with
// capacity_exceeded (nothing changed) when any layer lacks the room or cannot
// grow; not_initialised for a network never initialised.
template <class Net>
Status grow_all(Net& net, const std::size_t (&step)[Net::layer_count], Rng& rng,
                Init scheme = Init::torch_default) noexcept {
  if (!net.initialised()) return Status::not_initialised;
  std::size_t room[Net::layer_count];
  growth_room(net, room);
  for (std::size_t i = 0; i < Net::layer_count; ++i)
    if (step[i] > room[i]) return Status::capacity_exceeded;
  return detail::grow_each(net, step, rng, scheme, std::make_index_sequence<Net::layer_count>{});
}

// Layer `layer` (a run-time index) grown by n units.
template <class Net>
Status grow(Net& net, std::size_t layer, std::size_t n, Rng& rng, Init scheme = Init::torch_default) noexcept {
  std::size_t step[Net::layer_count] = {};
  if (layer >= Net::layer_count) return Status::capacity_exceeded;
  step[layer] = n;
  return grow_all(net, step, rng, scheme);
}

// Inference multiply-accumulates of the active network (the learner's cost hook).
template <class In, class... Specs>
double active_macs(const Sequential<In, Specs...>& net) noexcept {
  return static_cast<double>(net.inference_flops() / 2);
}

}  // namespace tinyadapt
