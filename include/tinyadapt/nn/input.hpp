// How every entry point takes a sample: a float array or Tensor of the
// network's input size (checked at compile time), or a pointer to that many
// floats (the caller's promise: data read from flash or a radio buffer).
#pragma once
#include <type_traits>

namespace tinyadapt {
namespace detail {

template <class T, class = void>
struct is_float_tensor : std::false_type {};
template <class T>
struct is_float_tensor<T, std::void_t<typename T::shape, typename T::value_type>>
    : std::bool_constant<std::is_same_v<std::remove_cv_t<typename T::value_type>, float>> {};

// One function, not overloads: an array argument would make a pointer overload
// and an array overload ambiguous.
template <class Net, class In>
const float* input_data(const In& x) noexcept {
  if constexpr (std::is_array_v<In>) {
    static_assert(std::is_same_v<std::remove_cv_t<std::remove_extent_t<In>>, float>, "the input must be floats");
    static_assert(std::extent_v<In> == Net::input_size, "the input array does not match the network's input size");
    return x;
  } else if constexpr (std::is_pointer_v<In>) {
    static_assert(std::is_same_v<std::remove_cv_t<std::remove_pointer_t<In>>, float>, "the input must be floats");
    return x;
  } else {
    static_assert(is_float_tensor<In>::value, "the input must be a float array, pointer, Tensor or TensorView");
    if constexpr (is_float_tensor<In>::value) {
      static_assert(In::shape::size == Net::input_size, "the input tensor does not match the network's input size");
      return x.data();
    } else {
      return nullptr;
    }
  }
}

}  // namespace detail
}  // namespace tinyadapt
