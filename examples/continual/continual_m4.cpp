// The continual-learning cycle on the Cortex-M4 (QEMU mps2-an386), protocol
// P3 on the 8x8 digits from flash: 5 tasks of 2 classes in label order; after
// each task its two classes are distilled on the device, streaming over their
// samples (distribution matching, m = 10 per class, int8 store), and the next
// task trains with the distilled buffer mixed into every minibatch, replayed
// with a teacher (the network as the task found it: label plus its soft
// targets, TeacherReplay). Growth (CheapestGrowth, the host's digits setting):
// the hidden layer starts at 8 of 32 units; after each task (and each
// retraining) it grows by one unit, function-preserving, while validation
// accuracy on the classes seen is below 0.95, the last growth on this task
// (if any) raised it by at least 0.2 points, and the network stays within
// 43% of the fixed large network's inference FLOPs, and the task is trained
// again. The distiller's embedding is the model without its
// classifier at full width (a fresh random network: its width is not learned).
// Prints RAM, executed instructions per phase, widths and the accuracy after each task.
// Exit status 0 when the final accuracy on all 10 classes is at least 75%
// and RAM (static + stack) fits in 256 KB.
#include <tinyadapt/continual/continual.hpp>
#include <tinyadapt/tinyadapt.hpp>

#include "board.hpp"
#include "digits.hpp"
#include "report.hpp"

namespace ta = tinyadapt;
namespace ds = data::digits;

namespace {

using Net = ta::Sequential<ta::Input<64>, ta::GrowableDense<32, 8>, ta::ReLU, ta::Dense<10>>;
using Full = ta::Sequential<ta::Input<64>, ta::Dense<32>, ta::ReLU, ta::Dense<10>>;  // the fixed large network
constexpr std::size_t step[Net::layer_count] = {1, 0, 0};
constexpr float threshold = 0.95f, min_growth_gain = 0.002f, budget = 0.43f;
constexpr std::size_t tasks = 5, m = 10, networks = 100, iterations = 1000, chunk = 16;
constexpr std::size_t all_count = ds::train_count + ds::test_count;  // 1,797: the P3 split is by index
static_assert(ds::features == Net::input_size, "digits are 8x8");

Net net, teacher;
ta::GrowthCandidates<Net, 1> steps;  // the one growth step
ta::GradientAccumulator<Net> acc;
ta::SyntheticStore<10, m, ds::features, std::int8_t> store;
ta::DistributionMatching<Full, m, networks> dm;
ta::AccuracyMatrix<tasks> matrix;
std::uint16_t task_idx[400];                        // the current task's training samples
std::uint32_t order[400 + 10 * m];                  // the learner's index array
float chunk_x[chunk * ds::features];                // real samples on their way to the distiller

// Sample g of the 1,797 (flash holds the first 1,437 and the last 360 apart).
const unsigned char* pixels(std::size_t g) {
  return g < ds::train_count ? ds::train_x + g * ds::features : ds::test_x + (g - ds::train_count) * ds::features;
}
unsigned label(std::size_t g) { return g < ds::train_count ? ds::train_y[g] : ds::test_y[g - ds::train_count]; }
void load(std::size_t g, float* x) {
  const unsigned char* p = pixels(g);
  for (std::size_t k = 0; k < ds::features; ++k) x[k] = static_cast<float>(p[k]) * (1.0f / 16.0f);
}
bool is_test(std::size_t g) { return g % 5 == 0; }
bool is_val(std::size_t g) { return g % 10 == 1; }
bool is_train(std::size_t g) { return g % 5 != 0 && g % 10 != 1; }

// Instructions, accumulated from reads less than a counter wrap apart:
// board::instructions() converts a 32-bit tick counter, so it wraps at
// 2^32 ticks = 2^32 * 5 / 32 instructions.
struct Meter {
  static constexpr std::uint32_t wrap = 671088640u;
  std::uint64_t total = 0;
  std::uint32_t last = 0;
  void start() { last = board::instructions(); }
  void tick() {
    const std::uint32_t now = board::instructions();
    total += now >= last ? now - last : now + (wrap - last);
    last = now;
  }
};

void print_u64(std::uint64_t v) {
  if (v >= 1000000) {
    board::print_uint(static_cast<std::uint32_t>(v / 1000000));
    board::print(" M");
  } else {
    board::print_uint(static_cast<std::uint32_t>(v));
  }
}

float accuracy_on(std::size_t lo, std::size_t hi, bool validation = false) {
  std::size_t right = 0, n = 0;
  float x[ds::features];
  for (std::size_t g = 0; g < all_count; ++g) {
    const unsigned y = label(g);
    if (!(validation ? is_val(g) : is_test(g)) || y < lo || y >= hi) continue;
    load(g, x);
    const ta::Prediction p = ta::predict(net, static_cast<const float*>(x));
    right += p.ok() && p.label == y ? 1u : 0u;
    ++n;
  }
  return n ? static_cast<float>(right) / static_cast<float>(n) : 0.0f;
}

// Distills class c from its training samples streamed in chunks from flash.
ta::DistillReport distill_class(std::size_t c, Meter& meter) {
  ta::DistillConfig cfg;
  cfg.per_class = m;
  cfg.iterations = iterations;
  cfg.seed = 7919u + c;
  if (dm.begin(cfg) != ta::Status::ok) return {};
  std::size_t filled = 0;
  for (std::size_t g = 0; g < all_count; ++g) {
    if (!is_train(g) || label(g) != c) continue;
    load(g, chunk_x + filled * ds::features);
    if (++filled == chunk) {
      dm.add_real(chunk_x, filled);
      filled = 0;
      meter.tick();
    }
  }
  if (filled) dm.add_real(chunk_x, filled);
  const ta::DistillReport r = dm.distill([&](std::size_t, float) { meter.tick(); });
  store.write(c, dm.synthetic().data(), dm.synthetic().size());
  meter.tick();
  return r;
}

}  // namespace

int main() {
  board::print("P3 continual cycle on the Cortex-M4: digits, 64->(8..32)->10 growing MLP, distilled replay (mix, teacher), m=");
  board::print_uint(m);
  board::print(" per class, int8 store; distribution matching ");
  board::print_uint(iterations);
  board::print(" iterations over ");
  board::print_uint(networks);
  board::print(" streamed embedding networks\n");
  board::print("memory: network+SGD ");
  board::print_uint(static_cast<std::uint32_t>(ta::training_memory<Net, ta::SGD<Net>>().total()));
  board::print(" B (sized for the maximum width), accumulator ");
  board::print_uint(sizeof acc);
  board::print(" B, store ");
  board::print_uint(sizeof store);
  board::print(" B, teacher ");
  board::print_uint(sizeof teacher);
  board::print(" B, distiller ");
  board::print_uint(sizeof dm);
  board::print(" B\n");
  const bool exact = board::icount_active();
  if (!exact) board::print("(no -icount: instruction counts are not exact)\n");

  ta::Rng rng(1);
  net.init(rng);
  ta::SGD<Net> sgd(0.05f);
  ta::TaskConfig tc;  // 20 epochs, batch 16, mix
  ta::Rng grow_rng(2);
  if (steps.add_candidate(step) != ta::Status::ok) return 1;
  ta::CheapestGrowth<Net, ta::ThresholdGrowth, 1> growth;
  growth.policy.threshold = threshold;
  growth.policy.min_growth_gain = min_growth_gain;
  growth.steps = &steps;
  growth.budget = budget;
  growth.rng = &grow_rng;
  std::uint64_t train_total = 0, distill_total = 0;
  for (std::size_t t = 0; t < tasks; ++t) {
    std::size_t n = 0;
    for (std::size_t g = 0; g < all_count; ++g)
      if (is_train(g) && label(g) / 2 == t) task_idx[n++] = static_cast<std::uint16_t>(g);
    Meter train;
    train.start();
    growth.start_task(t);
    teacher = net;
    const ta::TeacherReplay<decltype(store), Net> replayed(store, teacher, 1.0f);
    const ta::TaskReport r = ta::learn_task(net, sgd, acc, replayed, n,
        [&](std::size_t i, float* x) {
          train.tick();
          load(task_idx[i], x);
          return label(task_idx[i]);
        },
        ta::Span<std::uint32_t>(order, ta::order_entries(n, store.count())), tc, rng, growth,
        [&] { return accuracy_on(0, 2 * t + 2, true); }, 32);
    train.tick();
    train_total += train.total;
    for (std::size_t j = 0; j <= t; ++j) matrix.set(t, j, accuracy_on(2 * j, 2 * j + 2));
    matrix.set_seen(t, accuracy_on(0, 2 * t + 2));
    board::print("task ");
    board::print_uint(static_cast<std::uint32_t>(t));
    board::print(": ");
    board::print_uint(static_cast<std::uint32_t>(n));
    board::print(" new + ");
    board::print_uint(static_cast<std::uint32_t>(store.count()));
    board::print(" distilled samples, ");
    board::print_uint(static_cast<std::uint32_t>(r.samples));
    board::print(" sample gradients, training ");
    print_u64(train.total);
    board::print(" instructions (");
    board::print(ta::to_string(r.status));
    board::print("), grown ");
    board::print_uint(static_cast<std::uint32_t>(r.grown));
    board::print("x, hidden width ");
    board::print_uint(static_cast<std::uint32_t>(net.active_width<0>()));
    board::print(", inference FLOPs ");
    board::print_uint(static_cast<std::uint32_t>(net.inference_flops()));
    board::print("; accuracy per task:");
    for (std::size_t j = 0; j <= t; ++j) {
      board::print(" ");
      board::print_float(100.0f * matrix.at(t, j), 1);
    }
    board::print(", classes seen ");
    board::print_float(100.0f * matrix.seen(t), 1);
    board::print("%\n");
    if (r.status != ta::Status::ok) return 1;
    if (t + 1 == tasks) break;
    for (std::size_t c = 2 * t; c < 2 * t + 2; ++c) {
      Meter d;
      d.start();
      const ta::DistillReport dr = distill_class(c, d);
      distill_total += d.total;
      board::print("  distill class ");
      board::print_uint(static_cast<std::uint32_t>(c));
      board::print(": ");
      board::print_uint(static_cast<std::uint32_t>(dr.real_seen));
      board::print(" real samples streamed, loss ");
      board::print_float(dr.first_loss, 5);
      board::print(" -> ");
      board::print_float(dr.last_loss, 5);
      board::print(", ");
      print_u64(d.total);
      board::print(" instructions (");
      board::print(ta::to_string(dr.status));
      board::print(")\n");
      if (dr.status != ta::Status::ok) return 1;
    }
  }
  board::print("final accuracy on all 10 classes ");
  board::print_float(100.0f * matrix.final_accuracy(), 2);
  board::print("%, average incremental ");
  board::print_float(100.0f * matrix.average_accuracy(), 2);
  board::print("%, forgetting ");
  board::print_float(100.0f * matrix.forgetting(), 2);
  board::print("%\ninstructions: training ");
  print_u64(train_total);
  board::print(", distillation ");
  print_u64(distill_total);
  board::print("\nfinal hidden width ");
  board::print_uint(static_cast<std::uint32_t>(net.active_width<0>()));
  board::print(": inference FLOPs ");
  board::print_uint(static_cast<std::uint32_t>(net.inference_flops()));
  board::print(" = ");
  board::print_float(100.0f * static_cast<float>(net.inference_flops()) / static_cast<float>(2 * Full::macs), 1);
  board::print("% of the fixed 64->32->10 network\nstore: ");
  board::print_uint(static_cast<std::uint32_t>(store.bytes()));
  board::print(" B for ");
  board::print_uint(static_cast<std::uint32_t>(store.count()));
  board::print(" synthetic samples\n");
  const bool ram_ok = m4::check_ram(256 * 1024);
  const bool learned = matrix.final_accuracy() >= 0.75f;
  if (!learned) board::print("FAIL: final accuracy below 75%\n");
  return learned && ram_ok ? 0 : 1;
}
