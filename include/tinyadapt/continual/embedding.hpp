// The embedding network of distribution matching: the model without its
// classifier (the last layer), as its own Sequential type sharing the layer
// types, so it is initialised (init(rng), the model's default init) and run
// like any network.
#pragma once
#include <cstddef>
#include <tuple>
#include <utility>

#include "../nn/sequential.hpp"

namespace tinyadapt {

template <class Net>
struct embedding_of {
  static_assert(sizeof(Net) == 0, "embedding_of needs a Sequential<Input<...>, Layers...> network");
};

template <class In, class... Specs>
struct embedding_of<Sequential<In, Specs...>> {
  static_assert(sizeof...(Specs) >= 2, "the embedding drops the classifier: the network needs at least two layers");

 private:
  using specs = std::tuple<Specs...>;
  template <std::size_t... I>
  static auto drop_last(std::index_sequence<I...>) -> Sequential<In, std::tuple_element_t<I, specs>...>;

 public:
  using type = decltype(drop_last(std::make_index_sequence<sizeof...(Specs) - 1>{}));
};

// Sequential<In, L1, ..., Ln> without Ln.
template <class Net>
using Embedding = typename embedding_of<Net>::type;

}  // namespace tinyadapt
