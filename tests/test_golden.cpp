// Forward, backward and optimizer steps against values computed by PyTorch
// (tests/golden/make_golden.py), for networks covering every layer type.
#include <tinyadapt/tinyadapt.hpp>

#include "golden/golden_data.hpp"
#include "support/test.hpp"

namespace ta = tinyadapt;
using testsupport::rel_error;

namespace {

constexpr float tol = 1e-5f;
// The input gradient goes through every layer's backward pass. For W3 its
// float32 rounding error reaches ~2.5e-7 of the tensor's largest entry when
// a*b+c is contracted to a fused multiply-add (arm-none-eabi-g++ default;
// 7.5e-6 relative without), which is 2.5e-5 relative to the 1% floor of
// rel_error.
constexpr float tol_input_grad = 5e-5f;

template <class Net, class Loss, std::size_t P, std::size_t I, std::size_t O>
void check_case(const float (&params)[P], const float (&input)[I], typename Loss::target_type target,
                const float (&output)[O], float loss, const float (&input_grad)[I], const float (&param_grad)[P],
                const float (&after_sgd)[P], float lr, const float (&after_momentum)[P], const float (&after_adam)[P]) {
  static_assert(Net::param_count == P && Net::input_size == I && Net::output_size == O, "golden case shape");
  static Net net;
  auto load = [&] {
    for (std::size_t i = 0; i < P; ++i) net.parameters()[i] = params[i];
  };
  load();

  // Forward and loss.
  const float* y = net.forward(input);
  CHECK(rel_error(y, output, O) < tol);
  const float l = Loss::value_and_grad(y, target, net.output_grad(), O);
  CHECK(std::fabs(l - loss) <= tol * std::fabs(loss));

  // Backward: parameter gradient (accumulated, not applied) and input gradient.
  static ta::GradientAccumulator<Net> acc;
  acc.clear();
  float dx[I];
  net.backward(input, acc, dx);
  CHECK(rel_error(acc.gradient(), param_grad, P) < tol);
  CHECK(rel_error(dx, input_grad, I) < tol_input_grad);

  // One plain SGD step, fused into backward.
  ta::SGD<Net> sgd(lr);
  CHECK(ta::train_step<Loss>(net, sgd, input, target).ok());
  CHECK(rel_error(net.parameters().data(), after_sgd, P) < tol);

  // The same step through the accumulator.
  load();
  acc.clear();
  CHECK(acc.template add<Loss>(net, input, target).ok());
  CHECK(acc.apply(net, sgd) == ta::Status::ok);
  CHECK(rel_error(net.parameters().data(), after_sgd, P) < tol);

  // Three steps of Nesterov momentum with weight decay, and of Adam.
  load();
  static ta::SGDMomentum<Net> mom(0.05f, 0.9f, true, 0.01f);
  for (int s = 0; s < 3; ++s) CHECK(ta::train_step<Loss>(net, mom, input, target).ok());
  CHECK(rel_error(net.parameters().data(), after_momentum, P) < tol);

  load();
  static ta::Adam<Net> adam(0.01f);
  for (int s = 0; s < 3; ++s) CHECK(ta::train_step<Loss>(net, adam, input, target).ok());
  CHECK(rel_error(net.parameters().data(), after_adam, P) < tol);
}

#define GOLDEN_CASE(ns, Net, Loss, target)                                                                    \
  check_case<Net, Loss>(golden::ns::params, golden::ns::input, target, golden::ns::output, golden::ns::loss, \
                        golden::ns::input_grad, golden::ns::param_grad, golden::ns::params_after_sgd,       \
                        golden::ns::sgd_lr, golden::ns::momentum_params_after_3, golden::ns::adam_params_after_3)

}  // namespace

TEST_CASE("golden: dense, tanh, sigmoid, leaky relu, relu, softmax, MSE") {
  using Net = ta::Sequential<ta::Input<6>, ta::Dense<5>, ta::Tanh, ta::Dense<4>, ta::Sigmoid, ta::Dense<4>,
                             ta::LeakyReLU<>, ta::Dense<3>, ta::ReLU, ta::Dense<3>, ta::Softmax>;
  GOLDEN_CASE(dense, Net, ta::MSE, golden::dense::target);
}

TEST_CASE("golden: conv2d same, max pool, depthwise, avg pool, flatten, cross-entropy") {
  using Net = ta::Sequential<ta::Input<9, 9, 2>, ta::Conv2D<4, 3, 1, ta::Padding::same>, ta::ReLU, ta::MaxPool2D<2>,
                             ta::DepthwiseConv2D<3, 1, ta::Padding::same>, ta::LeakyReLU<>, ta::AvgPool2D<2>,
                             ta::Flatten, ta::Dense<5>>;
  GOLDEN_CASE(conv, Net, ta::SoftmaxCrossEntropy, golden::conv::label);
}

TEST_CASE("golden: strided conv2d, global average pool, sigmoid, BCE") {
  using Net = ta::Sequential<ta::Input<10, 10, 1>, ta::Conv2D<3, 3, 2>, ta::Tanh, ta::GlobalAvgPool, ta::Dense<2>,
                             ta::Sigmoid>;
  GOLDEN_CASE(strided, Net, ta::BinaryCrossEntropy, golden::strided::target);
}

TEST_CASE("golden: conv1d") {
  using Net = ta::Sequential<ta::Input<12, 2>, ta::Conv1D<3, 3>, ta::ReLU, ta::Flatten, ta::Dense<4>>;
  GOLDEN_CASE(conv1d, Net, ta::MSE, golden::conv1d::target);
}

TEST_CASE("golden: W3 reference image network") {
  using Net = ta::Sequential<ta::Input<28, 28, 1>, ta::Conv2D<8, 3>, ta::ReLU, ta::MaxPool2D<2>, ta::Conv2D<16, 3>,
                             ta::ReLU, ta::MaxPool2D<2>, ta::Flatten, ta::Dense<10>>;
  GOLDEN_CASE(w3, Net, ta::SoftmaxCrossEntropy, golden::w3::label);
}
