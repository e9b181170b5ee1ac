// Finite-difference checks of every layer and loss: input and weight gradients
// from backward() against central differences of the loss.
#include <tinyadapt/tinyadapt.hpp>

#include "support/test.hpp"

namespace ta = tinyadapt;

namespace {

// Loss of the network for input x (forward only).
template <class Net, class Loss>
float loss_at(Net& net, const float* x, typename Loss::target_type t) {
  const float* y = net.forward(x);
  return Loss::value_and_grad(y, t, nullptr, Net::output_size);
}

// Worst relative error of analytic vs numeric gradients (input and all
// parameters), each relative to the gradient tensor's largest entry.
template <class Net, class Loss>
void check_net(typename Loss::target_type target, unsigned seed, float tol = 2e-2f) {
  static Net net;
  ta::Rng rng(seed);
  net.init(rng, ta::Init::glorot_uniform);
  for (auto& p : net.parameters()) p += rng.uniform(-0.1f, 0.1f);  // non-zero biases
  static float x[Net::input_size];
  for (auto& v : x) v = rng.uniform(-1.0f, 1.0f);

  static ta::GradientAccumulator<Net> acc;
  acc.clear();
  static float dx[Net::input_size];
  const float* y = net.forward(x);
  Loss::value_and_grad(y, target, net.output_grad(), Net::output_size);
  net.backward(x, acc, dx);

  const float h = 1e-2f;
  auto numeric = [&](float& v) {
    const float old = v;
    v = old + h;
    const float lp = loss_at<Net, Loss>(net, x, target);
    v = old - h;
    const float lm = loss_at<Net, Loss>(net, x, target);
    v = old;
    return (lp - lm) / (2 * h);
  };
  auto compare = [&](const float* analytic, float* values, std::size_t n) {
    const float scale = testsupport::max_abs(analytic, n) + 1e-6f;
    float worst = 0.0f;
    for (std::size_t i = 0; i < n; ++i) {
      const float e = std::fabs(numeric(values[i]) - analytic[i]) / scale;
      worst = e > worst ? e : worst;
    }
    return worst;
  };
  CHECK(compare(dx, x, Net::input_size) < tol);
  CHECK(compare(acc.gradient(), net.parameters().data(), Net::param_count) < tol);
}

}  // namespace

TEST_CASE("gradients: Dense with Tanh, Sigmoid, LeakyReLU and MSE") {
  using Net = ta::Sequential<ta::Input<5>, ta::Dense<6>, ta::Tanh, ta::Dense<4>, ta::Sigmoid, ta::Dense<3>,
                             ta::LeakyReLU<1, 10>, ta::Dense<2>>;
  const float t[] = {0.3f, -0.2f};
  check_net<Net, ta::MSE>(t, 1);
}

TEST_CASE("gradients: ReLU, Softmax output and cross-entropy") {
  using Net = ta::Sequential<ta::Input<7>, ta::Dense<8>, ta::ReLU, ta::Dense<4>>;
  check_net<Net, ta::SoftmaxCrossEntropy>(2u, 2);
  using Net2 = ta::Sequential<ta::Input<4>, ta::Dense<5>, ta::Tanh, ta::Dense<3>, ta::Softmax>;
  const float t[] = {0.2f, 0.5f, 0.3f};
  check_net<Net2, ta::MSE>(t, 3);
}

TEST_CASE("gradients: cross-entropy with the soft targets of knowledge distillation") {
  using Net = ta::Sequential<ta::Input<7>, ta::Dense<8>, ta::ReLU, ta::Dense<4>>;
  const float old[] = {2.0f, -1.0f, 0.5f, 3.0f};
  for (const float w : {0.5f, 1.0f, 3.0f}) check_net<Net, ta::LogitMatchCrossEntropy>({1u, old, w}, 4);
}

TEST_CASE("gradients: Conv2D valid/same/strided, MaxPool2D, AvgPool2D") {
  using Net = ta::Sequential<ta::Input<8, 7, 2>, ta::Conv2D<3, 3, 1, ta::Padding::same>, ta::Tanh, ta::MaxPool2D<2>,
                             ta::Conv2D<4, 2, 2, ta::Padding::same>, ta::Sigmoid, ta::AvgPool2D<2>, ta::Flatten,
                             ta::Dense<3>>;
  check_net<Net, ta::SoftmaxCrossEntropy>(1u, 4);
  using Net2 = ta::Sequential<ta::Input<9, 9, 1>, ta::Conv2D<2, 3, 2>, ta::Tanh, ta::Flatten, ta::Dense<2>>;
  const float t[] = {0.1f, -0.4f};
  check_net<Net2, ta::MSE>(t, 5);
}

TEST_CASE("gradients: DepthwiseConv2D and GlobalAvgPool") {
  using Net = ta::Sequential<ta::Input<6, 6, 3>, ta::DepthwiseConv2D<3, 1, ta::Padding::same>, ta::Tanh,
                             ta::DepthwiseConv2D<3, 2>, ta::GlobalAvgPool, ta::Dense<2>, ta::Sigmoid>;
  const float t[] = {1.0f, 0.0f};
  check_net<Net, ta::BinaryCrossEntropy>(t, 6);
}

TEST_CASE("gradients: Conv1D") {
  using Net = ta::Sequential<ta::Input<11, 2>, ta::Conv1D<3, 3, 1, ta::Padding::same>, ta::Tanh, ta::Conv1D<2, 3, 2>,
                             ta::Flatten, ta::Dense<2>>;
  const float t[] = {0.5f, 0.25f};
  check_net<Net, ta::MSE>(t, 7);
}
