// Host benchmarks: tinyadapt and libtorch on the reference networks.
//
//   W1  1 -> Dense 64 -> Tanh -> Dense 64 -> Tanh -> Dense 1          MSE
//   W2  64 -> Dense 32 -> ReLU -> Dense 10                             softmax CE
//   W3  28x28x1 -> Conv 8@3x3 -> ReLU -> MaxPool 2 -> Conv 16@3x3
//       -> ReLU -> MaxPool 2 -> Flatten -> Dense 10                    softmax CE
//
// Benchmarks (one row per implementation and network):
//   BM_train_step/<impl>/<net>  one online training step: batch 1, plain SGD
//                               with lr 0.01 (forward, loss, backward, update)
//   BM_inference/<impl>/<net>   one forward pass, batch 1
//   BM_train_step/tinyadapt/W3_grown_<c1>_<c2>  the same step of W3 built from
//                               growable convolutions (max 8 and 16 filters),
//                               grown to c1, c2 active; W3_<c1>_<c2> the fixed
//                               network of those widths (model size adaption's cost)
//
// Both sides run on one core: libtorch is set to one intra-op and one inter-op
// thread (torch::set_num_threads(1)), tinyadapt is single-threaded anyway.
// Inputs are fixed random samples, cycled through a pool of 64 so that the data
// changes from one iteration to the next; every implementation sees the same
// samples.
//
// Counters: MACs = multiply-accumulates per iteration, MACs/s = their rate.
// A training step counts the forward pass, the weight gradients (as many MACs
// as the forward pass) and the input gradients of every layer above the first.
#include <benchmark/benchmark.h>

#include <tinyadapt/tinyadapt.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#if TINYADAPT_BENCH_LIBTORCH
#include <torch/torch.h>
#endif

namespace ta = tinyadapt;

namespace {

constexpr float kLearningRate = 0.01f;
constexpr std::size_t kPool = 64;  // samples cycled through

using W1 = ta::Sequential<ta::Input<1>, ta::Dense<64>, ta::Tanh, ta::Dense<64>, ta::Tanh, ta::Dense<1>>;
using W2 = ta::Sequential<ta::Input<64>, ta::Dense<32>, ta::ReLU, ta::Dense<10>>;
using W3 = ta::Sequential<ta::Input<28, 28, 1>, ta::Conv2D<8, 3>, ta::ReLU, ta::MaxPool2D<2>, ta::Conv2D<16, 3>,
                          ta::ReLU, ta::MaxPool2D<2>, ta::Flatten, ta::Dense<10>>;

static_assert(W1::macs == 64 + 64 * 64 + 64, "W1 forward MACs");
static_assert(W2::macs == 64 * 32 + 32 * 10, "W2 forward MACs");
static_assert(W3::macs == 26 * 26 * 9 * 8 + 11 * 11 * 72 * 16 + 400 * 10, "W3 forward MACs");

// The fixed samples of one network: pool inputs, regression targets or labels.
struct Samples {
  std::size_t input_size = 0, target_size = 0;
  std::vector<float> x, t;
  std::vector<unsigned> label;
  const float* input(std::size_t i) const { return x.data() + i * input_size; }
  const float* target(std::size_t i) const { return t.data() + i * target_size; }
};

// Sine regression: x in [-pi, pi], target sin(x).
struct W1Spec {
  using Net = W1;
  using Loss = ta::MSE;
  static void prepare(Net&, ta::Rng&) {}  // as init() leaves it
  static constexpr const char* name = "W1";
  static constexpr std::size_t train_macs = 12608;  // 4,224 forward + 4,224 dW + 4,160 dx
  static Samples samples() {
    Samples s;
    s.input_size = 1;
    s.target_size = 1;
    ta::Rng rng(11);
    for (std::size_t i = 0; i < kPool; ++i) {
      const float x = rng.uniform(-3.14159265f, 3.14159265f);
      s.x.push_back(x);
      s.t.push_back(std::sin(x));
    }
    return s;
  }
  static ta::StepResult step(Net& net, ta::SGD<Net>& opt, const Samples& s, std::size_t i) {
    return ta::train_step<Loss>(net, opt, s.input(i), s.target(i));
  }
};

// Classification of 64 features in [0, 1) (digits 8x8) into 10 classes.
struct W2Spec {
  using Net = W2;
  using Loss = ta::SoftmaxCrossEntropy;
  static void prepare(Net&, ta::Rng&) {}  // as init() leaves it
  static constexpr const char* name = "W2";
  static constexpr std::size_t train_macs = 5056;  // 2,368 forward + 2,368 dW + 320 dx
  static Samples samples() { return images(64, 12); }
  static Samples images(std::size_t n, std::uint64_t seed) {
    Samples s;
    s.input_size = n;
    ta::Rng rng(seed);
    for (std::size_t i = 0; i < kPool * n; ++i) s.x.push_back(rng.uniform());
    for (std::size_t i = 0; i < kPool; ++i) s.label.push_back(rng.below(10));
    return s;
  }
  static ta::StepResult step(Net& net, ta::SGD<Net>& opt, const Samples& s, std::size_t i) {
    return ta::train_step<Loss>(net, opt, s.input(i), s.label[i]);
  }
};

// Classification of 28x28 images in [0, 1) (Fashion-MNIST) into 10 classes.
struct W3Spec {
  using Net = W3;
  using Loss = ta::SoftmaxCrossEntropy;
  static void prepare(Net&, ta::Rng&) {}  // as init() leaves it
  static constexpr const char* name = "W3";
  static constexpr std::size_t train_macs = 527520;  // 192,064 forward + 192,064 dW + 143,392 dx
  static Samples samples() { return W2Spec::images(28 * 28, 13); }
  static ta::StepResult step(Net& net, ta::SGD<Net>& opt, const Samples& s, std::size_t i) {
    return ta::train_step<Loss>(net, opt, s.input(i), s.label[i]);
  }
};

// W3 from growable convolutions at widths (C1, C2) of (8, 16), and the fixed
// network of those widths.
using W3Growable = ta::Sequential<ta::Input<28, 28, 1>, ta::GrowableConv2D<8, 3, 2>, ta::ReLU, ta::MaxPool2D<2>,
                                  ta::GrowableConv2D<16, 3, 4>, ta::ReLU, ta::MaxPool2D<2>, ta::Flatten, ta::Dense<10>>;
template <std::size_t C1, std::size_t C2, bool Grown>
struct W3WidthSpec : W3Spec {
  using Net = std::conditional_t<Grown, W3Growable,
                                 ta::Sequential<ta::Input<28, 28, 1>, ta::Conv2D<C1, 3>, ta::ReLU, ta::MaxPool2D<2>,
                                                ta::Conv2D<C2, 3>, ta::ReLU, ta::MaxPool2D<2>, ta::Flatten, ta::Dense<10>>>;
  static constexpr std::size_t conv2_macs = 11 * 11 * 9 * C1 * C2, head_macs = 25 * C2 * 10;
  static constexpr std::size_t train_macs = 2 * (26 * 26 * 9 * C1 + conv2_macs + head_macs) + conv2_macs + head_macs;
  static std::string name() {
    return std::string(Grown ? "W3_grown_" : "W3_") + std::to_string(C1) + "_" + std::to_string(C2);
  }
  static void prepare(Net& net, ta::Rng& rng) {
    if constexpr (Grown) {
      if (net.template grow<0>(C1 - 2, rng) != ta::Status::ok || net.template grow<3>(C2 - 4, rng) != ta::Status::ok)
        std::abort();
    }
  }
  static ta::StepResult step(Net& net, ta::SGD<Net>& opt, const Samples& s, std::size_t i) {
    return ta::train_step<Loss>(net, opt, s.input(i), s.label[i]);
  }
};
static_assert(W3WidthSpec<8, 16, false>::train_macs == W3Spec::train_macs, "W3 training MACs");

template <class Spec>
const Samples& samples_of() {
  static const Samples s = Spec::samples();
  return s;
}

void set_counters(benchmark::State& state, std::size_t macs) {
  const auto m = static_cast<double>(macs);
  state.counters["MACs"] = benchmark::Counter(m);
  state.counters["MACs/s"] = benchmark::Counter(m, benchmark::Counter::kIsIterationInvariantRate);
}

// ------------------------------------------------------------- tinyadapt ----

template <class Spec>
void ta_train_step(benchmark::State& state) {
  using Net = typename Spec::Net;
  const Samples& s = samples_of<Spec>();
  auto net = std::make_unique<Net>();  // W3 is 57 KB: keep it off the stack
  ta::Rng rng(1);
  net->init(rng);
  Spec::prepare(*net, rng);  // e.g. grow to the benchmarked widths
  ta::SGD<Net> opt(kLearningRate);
  std::size_t i = 0, failed = 0;
  for (auto _ : state) {
    const ta::StepResult r = Spec::step(*net, opt, s, i);
    failed += r.ok() ? 0u : 1u;
    benchmark::DoNotOptimize(r.loss);
    benchmark::ClobberMemory();  // the weight updates must happen every step
    i = (i + 1) % kPool;
  }
  if (failed) state.SkipWithError("a training step failed (non-finite loss)");
  set_counters(state, Spec::train_macs);
}

template <class Spec>
void ta_inference(benchmark::State& state) {
  using Net = typename Spec::Net;
  const Samples& s = samples_of<Spec>();
  auto net = std::make_unique<Net>();
  ta::Rng rng(1);
  net->init(rng);
  std::size_t i = 0;
  for (auto _ : state) {
    const float* y = net->forward(s.input(i));
    benchmark::DoNotOptimize(y);
    benchmark::ClobberMemory();  // the outputs count as read
    i = (i + 1) % kPool;
  }
  set_counters(state, Net::macs);
}

// -------------------------------------------------------------- libtorch ----

#if TINYADAPT_BENCH_LIBTORCH

namespace nn = torch::nn;

// The samples as batch-1 tensors, made once so that the timed loop only runs
// the network.
struct TorchSamples {
  std::vector<torch::Tensor> x, target;
};

template <class Spec>
TorchSamples torch_samples(std::vector<int64_t> input_shape) {
  const Samples& s = samples_of<Spec>();
  const auto opts = torch::TensorOptions().dtype(torch::kFloat32);
  TorchSamples t;
  for (std::size_t i = 0; i < kPool; ++i) {
    t.x.push_back(torch::from_blob(const_cast<float*>(s.input(i)), input_shape, opts).clone());
    if (s.target_size)
      t.target.push_back(torch::from_blob(const_cast<float*>(s.target(i)),
                                          {1, static_cast<int64_t>(s.target_size)}, opts)
                             .clone());
    else
      t.target.push_back(torch::full({1}, static_cast<int64_t>(s.label[i]), torch::kInt64));
  }
  return t;
}

struct W1Torch {
  using Spec = W1Spec;
  static nn::Sequential model() {
    return nn::Sequential(nn::Linear(1, 64), nn::Tanh(), nn::Linear(64, 64), nn::Tanh(), nn::Linear(64, 1));
  }
  static TorchSamples samples() { return torch_samples<Spec>({1, 1}); }
  static torch::Tensor loss(const torch::Tensor& y, const torch::Tensor& t) { return torch::mse_loss(y, t); }
};

struct W2Torch {
  using Spec = W2Spec;
  static nn::Sequential model() { return nn::Sequential(nn::Linear(64, 32), nn::ReLU(), nn::Linear(32, 10)); }
  static TorchSamples samples() { return torch_samples<Spec>({1, 64}); }
  static torch::Tensor loss(const torch::Tensor& y, const torch::Tensor& t) {
    return nn::functional::cross_entropy(y, t);
  }
};

struct W3Torch {
  using Spec = W3Spec;
  static nn::Sequential model() {
    return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(1, 8, 3)), nn::ReLU(), nn::MaxPool2d(nn::MaxPool2dOptions(2)),
                          nn::Conv2d(nn::Conv2dOptions(8, 16, 3)), nn::ReLU(), nn::MaxPool2d(nn::MaxPool2dOptions(2)),
                          nn::Flatten(), nn::Linear(400, 10));
  }
  static TorchSamples samples() { return torch_samples<Spec>({1, 1, 28, 28}); }
  static torch::Tensor loss(const torch::Tensor& y, const torch::Tensor& t) {
    return nn::functional::cross_entropy(y, t);
  }
};

template <class T>
const TorchSamples& torch_samples_of() {
  static const TorchSamples s = T::samples();
  return s;
}

template <class T>
void torch_train_step(benchmark::State& state) {
  const TorchSamples& s = torch_samples_of<T>();
  torch::manual_seed(1);
  nn::Sequential model = T::model();
  torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(kLearningRate));
  std::size_t i = 0;
  for (auto _ : state) {
    torch::Tensor loss = T::loss(model->forward(s.x[i]), s.target[i]);
    opt.zero_grad();
    loss.backward();
    opt.step();
    benchmark::DoNotOptimize(loss.data_ptr<float>());
    i = (i + 1) % kPool;
  }
  set_counters(state, T::Spec::train_macs);
}

template <class T>
void torch_inference(benchmark::State& state) {
  const TorchSamples& s = torch_samples_of<T>();
  torch::manual_seed(1);
  nn::Sequential model = T::model();
  torch::NoGradGuard no_grad;
  std::size_t i = 0;
  for (auto _ : state) {
    torch::Tensor y = model->forward(s.x[i]);
    benchmark::DoNotOptimize(y.data_ptr<float>());
    i = (i + 1) % kPool;
  }
  set_counters(state, T::Spec::Net::macs);
}

#endif  // TINYADAPT_BENCH_LIBTORCH

// ---------------------------------------------------------- registration ----

void add(const std::string& name, void (*fn)(benchmark::State&)) {
  benchmark::RegisterBenchmark(name.c_str(), fn)->Unit(benchmark::kMicrosecond);
}

template <class Spec, class Torch>
void add_network() {
  const std::string net = Spec::name;
  add("BM_train_step/tinyadapt/" + net, ta_train_step<Spec>);
#if TINYADAPT_BENCH_LIBTORCH
  add("BM_train_step/libtorch/" + net, torch_train_step<Torch>);
#endif
  add("BM_inference/tinyadapt/" + net, ta_inference<Spec>);
#if TINYADAPT_BENCH_LIBTORCH
  add("BM_inference/libtorch/" + net, torch_inference<Torch>);
#endif
}

}  // namespace

int main(int argc, char** argv) {
#if TINYADAPT_BENCH_LIBTORCH
  // One core for both sides: no intra-op or inter-op thread pool in libtorch.
  torch::set_num_threads(1);
  torch::set_num_interop_threads(1);
  add_network<W1Spec, W1Torch>();
  add_network<W2Spec, W2Torch>();
  add_network<W3Spec, W3Torch>();
  benchmark::AddCustomContext("libtorch", TORCH_VERSION);
  benchmark::AddCustomContext("libtorch_threads", std::to_string(torch::get_num_threads()));
#else
  add_network<W1Spec, void>();
  add_network<W2Spec, void>();
  add_network<W3Spec, void>();
  benchmark::AddCustomContext("libtorch", "not built");
#endif
  for (const auto& [name, fn] : {std::pair{W3WidthSpec<2, 4, true>::name(), &ta_train_step<W3WidthSpec<2, 4, true>>},
                                 std::pair{W3WidthSpec<2, 4, false>::name(), &ta_train_step<W3WidthSpec<2, 4, false>>},
                                 std::pair{W3WidthSpec<4, 8, true>::name(), &ta_train_step<W3WidthSpec<4, 8, true>>},
                                 std::pair{W3WidthSpec<4, 8, false>::name(), &ta_train_step<W3WidthSpec<4, 8, false>>},
                                 std::pair{W3WidthSpec<8, 16, true>::name(), &ta_train_step<W3WidthSpec<8, 16, true>>}})
    add("BM_train_step/tinyadapt/" + name, fn);
  benchmark::AddCustomContext("tinyadapt", TINYADAPT_VERSION_STRING);
  benchmark::AddCustomContext("tinyadapt_kernels", ta::kernels::variant);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
