// Protocol P3 (../shared/guides/protocols.md): class-incremental learning,
// 5 tasks of 2 classes in label order, one 10-way head, with distilled replay.
//
//   continual [--dataset digits|fashion] [--model mlp|cnn] [--quick] [--csv FILE] [--seeds N]
//             [--methods a,b,...]
//     (no flag)  the full protocol for that configuration: digits MLP 5 seeds,
//                Fashion-MNIST MLP 3 seeds, CNN 2 seeds; m = 1, 10 and 1% of a
//                class (digits: 1 = 1%; Fashion-MNIST: 54)
//     --quick    the test's mode: digits MLP, one seed, m = 10, methods naive,
//                replay_mix, distill_mix, distill_grow_threshold,
//                distill_grow_layer; exits nonzero
//                unless distilled replay beats naive fine-tuning by 30 points
//                of final accuracy, a growth step leaves every test output
//                bit-identical and the growing and the probing learners end
//                within 5 points of the fixed large network
//     --csv      results (default continual_<dataset>_<model>.csv), one row per
//                method, m, seed; FILE with .matrix.csv gets the accuracy
//                matrices, FILE with .png a plot (gnuplot; skipped when missing)
//     --seeds    seeds 1..N instead of the protocol's
//     --first-seed S  seeds S..S+N-1 (a second set of seeds: settings chosen
//                on seeds 1..N are checked on others)
//     --time-distill  times distilling one Fashion-MNIST class (class 0,
//                m = 10, 300 iterations, real batches of 128, streaming over
//                its 5,400 samples) on one core, best of 3; prints the seconds
//                (compare: examples/continual/distill_torch.py)
//     --methods  only these methods (the CNN default leaves out the
//                equal-bytes variants and gradient matching: time)
//     --ms       only these buffer sizes (e.g. 10)
//     --start W[,W2]  growable networks start at these widths of their growable
//                layers (grown function-preserving from 25% before the first
//                task; default 25%)
//     --min-gain G    probe policies: validation accuracy a growth must add (0.01)
//     --gain-per-flops E  distill_grow_layer/budget: and E per unit of FLOPs
//                ratio it adds (0.1: a point per 10% of the large network's FLOPs)
//     --budget F distill_grow_budget and _cheapest: FLOPs at most F of the large
//                network's (0.43)
//     --threshold A  distill_grow_threshold and _cheapest: grow while validation
//                accuracy on the classes seen is below A (0.9)
//     --min-growth-gain G  distill_grow_threshold and _cheapest: grow again on a
//                task only while the last growth raised that accuracy by at
//                least G (off by default: the paper's rule)
//     --step-divisor D  every growth step divided by D (digits 8/D units ...)
//     --probe-signal accuracy|loss  a probe's gain: validation accuracy over
//                the control's (default), or the relative drop of the training loss
//     --log-growth  print every probe decision (control accuracy, each
//                candidate's gain and FLOPs, the reason), and the threshold
//                and cheapest policies' widths after each task
//
// Methods (CSV names; m = samples per class in the buffer):
//   naive           fine-tuning on each task alone (lower bound; m = 0)
//   joint           after each task, training on every task seen so far (upper bound; m = 0)
//   replay_mix_20pct, replay_mix_20pct_kd  replay_mix (and with a teacher) from
//                   20% of every class as real samples (m = 25 digits, 1,080
//                   Fashion-MNIST): what one pass per task allows with 20 times
//                   the 1% store, the ceiling the 1% methods are measured against
//   replay_mix      random exemplars (uint8 + 1-byte label, class-balanced,
//   replay_concat     reservoir-sampled as the class streams past), m per class
//   replay_mix_bytes  exemplars in the bytes of the float32 distilled store (about 4m per class)
//   distill_mix     distribution matching (DistributionMatching), float32 store
//   distill_concat
//   distill_mix_int8   the same synthetic samples stored as int8 (per-sample
//                      scale): about the bytes of replay_mix at the same m
//   distill_mix_f32eq  float32 store with the int8 store's bytes (m' = m/4)
//   replay_mix_kd, distill_mix_kd  the same buffers replayed with a teacher
//                   (TeacherReplay): each buffer sample's loss adds the KL to the
//                   soft outputs (T = 2) of the network as the task found it,
//                   weight --kd-weight W (1); one more network of RAM.
//                   --kd gives every learner with a buffer the teacher (the
//                   growth methods too); their names get "_kd"
//   --dm-iterations N  distribution matching iterations per class (the
//                   protocol's: digits 1,000, Fashion-MNIST 300; gradient
//                   matching runs N/5)
//   --dm-lr X       distribution matching's learning rate on the synthetic
//                   inputs (P3: 1; momentum stays 0.5)
//   --replay-added  every mix learner weighs its buffer samples by
//                   ReplayWeight::added (the step's gradient summed over new and
//                   buffer samples, divided by the larger part: the new data
//                   keeps the protocol's step); their names get "_add"
//   distill_mix_gm  gradient matching (GradientMatching) on the current model, float32
//   distill_mix_small  distill_mix on the network at 25% width (fixed)
//   fixed_large     the fixed large network: distill_mix at full width (the
//                   same run, listed under the name the growth comparison uses)
//   distill_grow_threshold  distill_mix with model size adaption from 25% of
//                   the width (digits hidden 8 -> 32 by 8, Fashion MLP 16 -> 64
//                   by 16, CNN channels (2,4) -> (8,16) by (2,4)): after each
//                   task (and each retraining) grows one step while validation
//                   accuracy on the classes seen is below 0.9 (the seed
//                   paper's rule), retraining on the same task after each growth
//   distill_grow_plateau    the same with PlateauGrowth: grows (once per task)
//                   while the task's training loss stays above 0.1 and fell
//                   by less than 5% over the last epoch (a capacity signal)
//   distill_grow_probe  growth by probing (continual/probe.hpp): after each task
//                   a control copy and a grown trial are retrained on the task
//                   the same way; ProbeGrowth grows (every layer's step) when
//                   the trial's validation accuracy beats the control's by
//                   --min-gain
//   distill_grow_layer  one candidate per growable layer (CNN: conv1 or conv2
//                   alone), LayerProbeGrowth: the best gain per added FLOP
//                   among those gaining --min-gain and --gain-per-flops
//   distill_grow_budget the same within --budget of the large network's FLOPs
//   distill_grow_cheapest  the threshold rule (grow while validation accuracy
//                   < 0.9) with a FLOPs budget (--budget): each growth takes the
//                   layer whose step adds the fewest FLOPs (CheapestGrowth)
//   distill_grow_none   the growable network never grown (with --start: a
//                   network of those widths through the growable layers)
//
// Protocol as run: digits split by index (test i%5==0, validation i%10==1,
// train the rest), X/16, SGD lr 0.05, batch 16, 20 epochs per task;
// Fashion-MNIST train-file i%10==0 validation, the rest train, t10k test, X/255,
// batch 32, 1 epoch per task. PyTorch-default init, plain SGD, reshuffled every
// epoch; mix joins every minibatch with min(batch, |buffer|) buffer samples.
// Distillation (after each task, of its two classes, streaming over the class's
// training samples in a seeded random order): m synthetic samples initialised
// from real ones, SGD momentum 0.5 lr 1.0 on the inputs, a fresh embedding
// network (the model without its classifier) per iteration; digits 1,000
// iterations, every network sees the whole class; Fashion-MNIST 300 iterations,
// real batches of 128 (each network sees one block of 128 of the stream).
// The last task's classes are not distilled (nothing follows them).
//
// CSV: final_acc = accuracy on all 10 classes after the last task; avg_acc =
// mean over tasks of the accuracy on the classes seen; forgetting = mean over
// the first 4 tasks of (best earlier accuracy - final accuracy) on that task's
// classes; flops_ratio = inference FLOPs / the fixed large network's;
// buffer_bytes = what the buffer holds at the end; train_flops = 2 x training
// MACs (forward + backward = 3 x forward); distill_seconds / learner_seconds:
// host time of distillation and of training + evaluation.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <tinyadapt/continual/continual.hpp>
#include <tinyadapt/tinyadapt.hpp>

#include "datasets.hpp"
#include "../gnuplot.hpp"

namespace ta = tinyadapt;

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

constexpr std::size_t tasks = 5, classes = 10;

template <class L1, class L2>
using Mlp = ta::Sequential<L1, L2, ta::ReLU, ta::Dense<10>>;
template <std::size_t C1, std::size_t C2>
using W3 = ta::Sequential<ta::Input<28, 28, 1>, ta::Conv2D<C1, 3>, ta::ReLU, ta::MaxPool2D<2>, ta::Conv2D<C2, 3>,
                          ta::ReLU, ta::MaxPool2D<2>, ta::Flatten, ta::Dense<10>>;

struct DigitsMlp {
  using Net = Mlp<ta::Input<64>, ta::Dense<32>>;
  using Small = Mlp<ta::Input<64>, ta::Dense<8>>;
  using Grow = Mlp<ta::Input<64>, ta::GrowableDense<32, 8>>;  // 25% of the width, +8 per growth
  static constexpr std::size_t step[Grow::layer_count] = {8, 0, 0};
  static constexpr std::size_t max_m = 10, networks = 1000;
  static constexpr std::size_t ceiling_m = 25;  // 20% of a class's ~126 training samples
  static constexpr const char* dataset = "digits";
  static constexpr const char* model = "mlp";
};
struct FashionMlp {
  using Net = Mlp<ta::Input<784>, ta::Dense<64>>;
  using Small = Mlp<ta::Input<784>, ta::Dense<16>>;
  using Grow = Mlp<ta::Input<784>, ta::GrowableDense<64, 16>>;
  static constexpr std::size_t step[Grow::layer_count] = {16, 0, 0};
  static constexpr std::size_t max_m = 54, networks = 300;
  static constexpr std::size_t ceiling_m = 1080;  // 20% of a class's 5,400 training samples
  static constexpr const char* dataset = "fashion";
  static constexpr const char* model = "mlp";
};
struct FashionCnn {
  using Net = W3<8, 16>;
  using Small = W3<2, 4>;
  using Grow = ta::Sequential<ta::Input<28, 28, 1>, ta::GrowableConv2D<8, 3, 2>, ta::ReLU, ta::MaxPool2D<2>,
                              ta::GrowableConv2D<16, 3, 4>, ta::ReLU, ta::MaxPool2D<2>, ta::Flatten, ta::Dense<10>>;
  static constexpr std::size_t step[Grow::layer_count] = {2, 0, 0, 4, 0, 0, 0, 0};
  static constexpr std::size_t max_m = 54, networks = 300;
  static constexpr std::size_t ceiling_m = 1080;  // 20% of a class's 5,400 training samples
  static constexpr const char* dataset = "fashion";
  static constexpr const char* model = "cnn";
};

struct Protocol {
  std::vector<std::size_t> ms;
  std::vector<unsigned> seeds;
  std::vector<std::string> methods;
  std::size_t epochs = 20, batch = 16, dm_iterations = 1000, real_batch = 0;
  float dm_lr = 1.0f;          // distribution matching's step on the synthetic inputs (--dm-lr)
  float lr = 0.05f, unit = 1.0f / 16.0f;
  float threshold = 0.9f;      // ThresholdGrowth: grow while validation accuracy on the classes seen is below
  float min_growth_gain = -1.0f;  // ThresholdGrowth's gate (--min-growth-gain; < 0: off)
  float plateau_level = 0.1f;  // PlateauGrowth: grow while the task's training loss stays above
  float min_gain = 0.01f;      // probe policies: validation accuracy a growth must add
  float gain_per_flops = 0.1f; // LayerProbeGrowth: and per unit of FLOPs ratio it adds (1 point per 10%)
  float budget = 0.43f;        // distill_grow_budget: FLOPs ratio the network may reach
  std::size_t step_divisor = 1;  // growth steps of every growth method divided by this
  bool log_growth = false;     // print every probe decision
  bool loss_signal = false;    // --probe-signal loss: probes judged by the training loss
  float kd_weight = 1.0f;      // *_kd methods: weight of the teacher's soft targets (--kd-weight)
  bool kd = false;             // --kd: every learner with a buffer replays it with a teacher (names get "_kd")
  bool added = false;          // --replay-added: mix steps weigh the buffer by ReplayWeight::added (names get "_add")
  std::vector<std::size_t> start;  // --start: widths of the growable layers before the first task (empty: 25%)
};

struct Split {
  data::Dataset train, val, test;
  std::vector<std::size_t> by_class[classes];  // train indices per class (file order)
  std::vector<std::size_t> test_by_class[classes];
  std::vector<std::size_t> val_by_class[classes];
};

void add_sample(data::Dataset& d, const data::Dataset& src, std::size_t i) {
  d.features = src.features;
  d.x.insert(d.x.end(), src.sample(i), src.sample(i) + src.features);
  d.y.push_back(src.y[i]);
}

bool load(const std::string& dataset, Split& s) {
  if (dataset == "digits") {
    data::Dataset all;
    if (!data::load_digits(all)) return false;
    for (std::size_t i = 0; i < all.size(); ++i) add_sample(i % 5 == 0 ? s.test : i % 10 == 1 ? s.val : s.train, all, i);
  } else {
    data::Dataset all;
    if (!data::load_fashion(all, true) || !data::load_fashion(s.test, false)) return false;
    for (std::size_t i = 0; i < all.size(); ++i) add_sample(i % 10 == 0 ? s.val : s.train, all, i);
  }
  for (std::size_t i = 0; i < s.train.size(); ++i) s.by_class[s.train.y[i]].push_back(i);
  for (std::size_t i = 0; i < s.test.size(); ++i) s.test_by_class[s.test.y[i]].push_back(i);
  for (std::size_t i = 0; i < s.val.size(); ++i) s.val_by_class[s.val.y[i]].push_back(i);
  return true;
}

// What consolidating a task into the buffer cost.
struct Cost {
  double seconds = 0.0, flops = 0.0;
};

struct Row {
  std::string method;
  std::size_t m = 0;
  unsigned seed = 0;
  float final_acc = 0, avg_acc = 0, forgetting = 0, flops_ratio = 1;
  std::size_t buffer_bytes = 0;
  double train_flops = 0, distill_seconds = 0, learner_seconds = 0, distill_flops = 0;
  std::string widths;         // final active widths of the trainable layers below the head
  std::size_t grown = 0;      // growth steps over the 5 tasks
  std::size_t ram_bytes = 0;  // device RAM of the learner: network, SGD, accumulator, buffer, indices, distiller
  ta::AccuracyMatrix<tasks> matrix;
  std::size_t refused = 0;
};

// Accuracy of net on the test (or validation) samples of classes [lo, hi).
template <class Net>
float accuracy_on(Net& net, const Split& s, std::size_t lo, std::size_t hi, bool validation = false) {
  const data::Dataset& d = validation ? s.val : s.test;
  const auto& by_class = validation ? s.val_by_class : s.test_by_class;
  std::vector<std::size_t> idx;
  for (std::size_t c = lo; c < hi; ++c) idx.insert(idx.end(), by_class[c].begin(), by_class[c].end());
  return ta::accuracy(net, idx.size(), [&](std::size_t i, float* x) {
    std::memcpy(x, d.sample(idx[i]), sizeof(float) * Net::input_size);
    return d.y[idx[i]];
  });
}

// "8" or "4,8": active widths of the trainable layers below the head.
template <class Net>
std::string widths_of(const Net& net) {
  std::size_t w[Net::layer_count];
  ta::active_widths(net, w);
  std::string out;
  for (std::size_t i = 0; i + 1 < Net::layer_count; ++i)
    if (Net::plan.is_trainable[i]) out += (out.empty() ? "" : ",") + std::to_string(w[i]);
  return out;
}

// The distilled classes of one (seed, m), shared by every learner that replays
// them (distribution matching does not look at the model).
template <class Cfg>
struct Distilled {
  static constexpr std::size_t D = Cfg::Net::input_size;
  using Store = ta::SyntheticStore<classes, Cfg::max_m, D>;
  std::unique_ptr<Store> f32 = std::make_unique<Store>();
  std::size_t per_class[classes] = {};
  double seconds[tasks] = {}, flops[tasks] = {};  // per task: distilling its two classes
  std::vector<float> samples[classes];
};

// Streams class c's training samples in a seeded random order.
std::vector<std::size_t> stream_order(const Split& s, std::size_t c, unsigned seed) {
  std::vector<std::size_t> idx = s.by_class[c];
  data::shuffle(idx, 1000003ull * seed + c);
  return idx;
}

template <class Cfg>
void distill_dm(const Split& s, const Protocol& p, std::size_t m, unsigned seed, Distilled<Cfg>& out) {
  using DM = ta::DistributionMatching<typename Cfg::Net, Cfg::max_m, Cfg::networks>;
  static std::unique_ptr<DM> dm = std::make_unique<DM>();
  constexpr std::size_t D = Cfg::Net::input_size;
  for (std::size_t t = 0; t + 1 < tasks; ++t) {
    const Clock::time_point t0 = Clock::now();
    for (std::size_t c = 2 * t; c < 2 * t + 2; ++c) {
      ta::DistillConfig dc;
      dc.per_class = m;
      dc.iterations = p.dm_iterations;
      dc.lr = p.dm_lr;
      dc.real_batch = p.real_batch;
      dc.expected = s.by_class[c].size();
      dc.seed = 7919ull * seed + c;
      if (dm->begin(dc) != ta::Status::ok) std::abort();
      const std::vector<std::size_t> order = stream_order(s, c, seed);
      std::vector<float> chunk;  // the stream arrives in chunks of real_batch (or 128)
      const std::size_t per = p.real_batch ? p.real_batch : 128;
      for (std::size_t i = 0; i < order.size(); i += per) {
        chunk.clear();
        for (std::size_t k = i; k < std::min(order.size(), i + per); ++k)
          chunk.insert(chunk.end(), s.train.sample(order[k]), s.train.sample(order[k]) + D);
        dm->add_real(chunk.data(), chunk.size() / D);
      }
      const ta::DistillReport r = dm->distill();
      out.flops[t] += 2.0 * r.macs;
      if (r.status != ta::Status::ok) std::printf("  distill class %zu: %s\n", c, ta::to_string(r.status));
      const auto& set = dm->synthetic();
      out.samples[c].assign(set.data(), set.data() + set.size() * D);
      out.per_class[c] = set.size();
      if (out.f32->write(c, set.data(), set.size()) != ta::Status::ok) std::abort();
    }
    out.seconds[t] = since(t0);
  }
}

// RAM a device would need for this learner at this m (the host objects are
// sized for the largest m): network + SGD, accumulator, the buffer's samples,
// the learner's index array and the distiller's working memory.
template <class Net, class Buffer>
std::size_t device_ram(std::size_t m, std::size_t max_order, std::size_t distiller) {
  return ta::training_memory<Net, ta::SGD<Net>>().total() + sizeof(ta::GradientAccumulator<Net>) +
         classes * m * Buffer::sample_bytes + 4 * max_order + distiller;
}
// Working memory of distribution matching at m: the embedding network, the
// synthetic samples with their velocity and gradient, the per-network sums.
template <class Cfg>
std::size_t dm_ram(std::size_t m) {
  using E = ta::Embedding<typename Cfg::Net>;
  return sizeof(E) + 3 * m * E::input_size * sizeof(float) + Cfg::networks * (E::output_size + 1) * sizeof(float);
}

// The probe learner's policy and scratch (learn_task_probed instead of learn_task).
template <class G, class P, std::size_t K>
struct Probed {
  P policy{};
  ta::GrowthProbe<G, K>* probe = nullptr;
  bool log = false;
};
template <class T>
struct is_probed : std::false_type {};
template <class G, class P, std::size_t K>
struct is_probed<Probed<G, P, K>> : std::true_type {};

// One learner run of the cycle over the 5 tasks.
//   Buffer: the buffer type; fill(t, buffer, net) consolidates task t's classes into it.
//   Policy: the growth hook (ta::NoGrowth for a fixed network).
template <class Net, class Cfg, class Buffer, class Fill, class Policy = ta::NoGrowth>
Row run_learner(const Split& s, const Protocol& p, const std::string& method, std::size_t m, unsigned seed,
                ta::Replay mode, bool joint, Buffer& buffer, Fill&& fill, std::size_t distiller_ram = 0,
                Policy policy = {}) {
  Row row;
  row.method = method;
  row.m = m;
  row.seed = seed;
  auto net = std::make_unique<Net>();
  auto acc = std::make_unique<ta::GradientAccumulator<Net>>();
  ta::Rng rng(seed);
  net->init(rng);
  ta::Rng grow_rng(seed + 1000u);
  if constexpr (!std::is_same_v<Policy, ta::NoGrowth> && !is_probed<Policy>::value) policy.rng = &grow_rng;
  // --start: a growable network grown (function-preserving) to these widths before the first task.
  if constexpr (!std::is_same_v<Net, typename Cfg::Net> && !std::is_same_v<Net, typename Cfg::Small>) {
    if (!p.start.empty()) {
      std::size_t w[Net::layer_count], add[Net::layer_count] = {};
      ta::active_widths(*net, w);
      for (std::size_t i = 0, k = 0; i < Net::layer_count; ++i)
        if (Cfg::step[i] > 0) {
          const std::size_t want = k < p.start.size() ? p.start[k] : w[i];
          add[i] = want > w[i] ? want - w[i] : 0;
          ++k;
        }
      if (ta::grow_all(*net, add, grow_rng) != ta::Status::ok) {
        std::fprintf(stderr, "continual: --start widths beyond the maximum\n");
        std::exit(2);
      }
    }
  }
  // *_kd and --kd: the buffer is replayed with a teacher, the network as each task found it.
  const bool named_kd = method.size() > 3 && method.compare(method.size() - 3, 3, "_kd") == 0;
  const bool kd = !std::is_same_v<Buffer, ta::NoBuffer> && (named_kd || p.kd);
  if (kd && !named_kd) row.method += "_kd";
  const bool added = p.added && !std::is_same_v<Buffer, ta::NoBuffer> && mode == ta::Replay::mix;
  if (added) row.method += "_add";
  std::unique_ptr<Net> teacher;
  if (kd) teacher = std::make_unique<Net>(*net);
  ta::SGD<Net> sgd(p.lr);
  ta::TaskConfig tc;
  tc.epochs = p.epochs;
  tc.batch = p.batch;
  tc.replay = mode;
  tc.weight = added ? ta::ReplayWeight::added : ta::ReplayWeight::mean;
  const Clock::time_point t0 = Clock::now();
  double distill_s = 0.0, fill_s = 0.0;
  std::size_t max_order = 0;
  std::vector<std::size_t> task_idx;
  std::vector<std::uint32_t> order;
  for (std::size_t t = 0; t < tasks; ++t) {
    if (!joint) task_idx.clear();
    for (std::size_t c = 2 * t; c < 2 * t + 2; ++c) task_idx.insert(task_idx.end(), s.by_class[c].begin(), s.by_class[c].end());
    order.resize(ta::order_entries(task_idx.size(), buffer.count()));
    max_order = std::max(max_order, order.size());
    auto sample = [&](std::size_t i, float* x) {
      std::memcpy(x, s.train.sample(task_idx[i]), sizeof(float) * Net::input_size);
      return s.train.y[task_idx[i]];
    };
    const ta::Span<std::uint32_t> span(order.data(), order.size());
    auto learn = [&](const auto& replayed) {
    ta::TaskReport r;
    if constexpr (is_probed<Policy>::value) {
      r = ta::learn_task_probed(*net, sgd, *acc, replayed, task_idx.size(), sample, span, tc, rng, policy.policy,
                                *policy.probe, grow_rng, [&](Net& n) { return accuracy_on(n, s, 0, 2 * t + 2, true); },
                                t, 16);
      if (policy.log) {
        const auto& pr = *policy.probe;
        std::printf("  %s m=%zu seed %u task %zu: grown %zu, widths %s, control val %.4f loss %.4f, FLOPs %.3f;",
                    method.c_str(), m, seed, t, r.grown, widths_of(*net).c_str(),
                    static_cast<double>(pr.control_accuracy), static_cast<double>(pr.control_loss),
                    static_cast<double>(pr.flops_now));
        for (std::size_t k = 0; k < pr.candidates; ++k)
          if (pr.measured[k].available)
            std::printf(" cand %zu gain %+.4f (val %.4f, loss %.4f) -> FLOPs %.3f;", k,
                        static_cast<double>(pr.measured[k].gain), static_cast<double>(pr.trial_accuracy[k]),
                        static_cast<double>(pr.trial_loss[k]), static_cast<double>(pr.measured[k].flops_after));
        std::printf(" %s\n", ta::to_string(pr.last.decision.reason));
      }
    } else {
      if constexpr (!std::is_same_v<Policy, ta::NoGrowth>) policy.start_task(t);
      r = ta::learn_task(*net, sgd, *acc, replayed, task_idx.size(), sample, span, tc, rng, policy,
                         [&] { return accuracy_on(*net, s, 0, 2 * t + 2, true); }, 16);
    }
    return r;
    };
    ta::TaskReport r;
    if constexpr (!std::is_same_v<Buffer, ta::NoBuffer>) {
      if (teacher && t > 0) {
        *teacher = *net;  // the network as the task found it
        r = learn(ta::TeacherReplay<Buffer, Net>(buffer, *teacher, p.kd_weight));
      } else {
        r = learn(buffer);
      }
    } else {
      r = learn(buffer);
    }
    row.grown += r.grown;
    if (p.log_growth && !is_probed<Policy>::value && !std::is_same_v<Policy, ta::NoGrowth>)
      std::printf("  %s m=%zu seed %u task %zu: grown %zu, widths %s, validation %.4f\n", row.method.c_str(), m, seed, t,
                  r.grown, widths_of(*net).c_str(), static_cast<double>(accuracy_on(*net, s, 0, 2 * t + 2, true)));
    if (r.status != ta::Status::ok) std::printf("  task %zu: %s\n", t, ta::to_string(r.status));
    row.train_flops += 2.0 * r.macs;
    if (teacher) row.train_flops += 2.0 * ta::active_macs(*teacher) * static_cast<double>(r.replayed);
    row.refused += r.refused;
    if (t + 1 < tasks) {
      const Clock::time_point f0 = Clock::now();
      const Cost c = fill(t, buffer, *net);
      distill_s += c.seconds;
      row.distill_flops += c.flops;
      fill_s += since(f0);  // shared distillations are timed where they ran
    }
    for (std::size_t j = 0; j <= t; ++j) row.matrix.set(t, j, accuracy_on(*net, s, 2 * j, 2 * j + 2));
    row.matrix.set_seen(t, accuracy_on(*net, s, 0, 2 * t + 2));
  }
  row.final_acc = row.matrix.final_accuracy();
  row.avg_acc = row.matrix.average_accuracy();
  row.forgetting = row.matrix.forgetting();
  row.flops_ratio = static_cast<float>(ta::active_macs(*net) / static_cast<double>(Cfg::Net::macs));
  row.widths = widths_of(*net);
  row.buffer_bytes = buffer.bytes();
  row.ram_bytes = device_ram<Net, Buffer>(m, max_order, distiller_ram) + (kd ? sizeof(Net) : 0);
  row.distill_seconds = distill_s;
  row.learner_seconds = since(t0) - fill_s;
  return row;
}

// Every method name --methods takes.
const char* const known_methods[] = {
    "naive", "joint", "replay_mix_20pct", "replay_mix_20pct_kd", "replay_mix", "replay_concat", "replay_mix_bytes",
    "replay_mix_kd", "distill_mix", "distill_concat", "distill_mix_int8", "distill_mix_kd", "distill_mix_f32eq",
    "distill_mix_gm", "distill_mix_small", "fixed_large", "distill_grow_threshold", "distill_grow_plateau",
    "distill_grow_probe", "distill_grow_layer", "distill_grow_budget", "distill_grow_none", "distill_grow_cheapest"};

// Methods without a per-class buffer size m (they run once per seed).
bool is_m0_method(const std::string& name) {
  return name == "naive" || name == "joint" || name == "replay_mix_20pct" || name == "replay_mix_20pct_kd";
}

template <class Cfg>
void run_seed_m(const Split& s, const Protocol& p, unsigned seed, std::size_t m, std::vector<Row>& rows,
                const std::vector<std::string>& methods, std::size_t& done, std::size_t total, Clock::time_point start) {
  using Net = typename Cfg::Net;
  constexpr std::size_t D = Net::input_size;
  auto want = [&](const char* name) { return std::find(methods.begin(), methods.end(), name) != methods.end(); };
  auto progress = [&](const Row& r) {
    ++done;
    const double el = since(start);
    std::printf("progress: %zu/%zu runs (%s m=%zu seed %u: final %.1f%%), %.0f s elapsed, ETA %.0f s\n", done, total,
                r.method.c_str(), r.m, r.seed, 100.0 * r.final_acc, el,
                el / static_cast<double>(done) * static_cast<double>(total - done));
    std::fflush(stdout);
    rows.push_back(r);
  };
  const bool needs_dm = want("distill_mix") || want("distill_concat") || want("distill_mix_int8") || want("distill_mix_kd") ||
                        want("distill_mix_small") || want("fixed_large") || want("distill_grow_threshold") ||
                        want("distill_grow_plateau") || want("distill_grow_probe") || want("distill_grow_layer") ||
                        want("distill_grow_budget") || want("distill_grow_none") ||
                        want("distill_grow_cheapest");
  Distilled<Cfg> dist;
  if (needs_dm && m > 0) distill_dm<Cfg>(s, p, m, seed, dist);
  // Consolidation steps: copying the (already distilled) classes of task t in.
  auto dm_fill = [&](auto& store) {
    return [&dist, &store](std::size_t t, auto&, auto&) {
      for (std::size_t c = 2 * t; c < 2 * t + 2; ++c)
        if (store.write(c, dist.samples[c].data(), dist.per_class[c]) != ta::Status::ok) std::abort();
      return Cost{dist.seconds[t], dist.flops[t]};
    };
  };
  using F32 = ta::SyntheticStore<classes, Cfg::max_m, D>;
  using I8 = ta::SyntheticStore<classes, Cfg::max_m, D, std::int8_t>;
  // Random exemplars, per_class of each class (a store sized for Cap), offered
  // as each class streams past.
  auto exemplar_run = [&](const std::string& name, ta::Replay mode, std::size_t row_m, std::size_t per_class, auto cap) {
    using Ex = ta::ExemplarStore<classes, decltype(cap)::value, D>;
    auto store = std::make_unique<Ex>();
    store->reset(per_class, p.unit);
    ta::Rng pick(seed * 31u + 7u);
    auto fill = [&](std::size_t t, Ex& b, Net&) {
      for (std::size_t c = 2 * t; c < 2 * t + 2; ++c)
        for (std::size_t i : stream_order(s, c, seed)) b.offer(c, s.train.sample(i), pick);
      return Cost{};
    };
    progress(run_learner<Net, Cfg>(s, p, name, row_m, seed, mode, false, *store, fill));
  };
  if (m == 0) {
    ta::NoBuffer none;
    auto nothing = [](std::size_t, auto&, auto&) { return Cost{}; };
    if (want("naive")) progress(run_learner<Net, Cfg>(s, p, "naive", 0, seed, ta::Replay::mix, false, none, nothing));
    if (want("joint")) progress(run_learner<Net, Cfg>(s, p, "joint", 0, seed, ta::Replay::mix, true, none, nothing));
    // What the protocol's one pass per task allows at most: 20% of every class
    // kept as real samples (20 times the 1% store), replayed as replay_mix.
    const std::integral_constant<std::size_t, Cfg::ceiling_m> ceiling;
    for (const char* name : {"replay_mix_20pct", "replay_mix_20pct_kd"})
      if (want(name)) exemplar_run(name, ta::Replay::mix, Cfg::ceiling_m, Cfg::ceiling_m, ceiling);
    return;
  }
  const std::integral_constant<std::size_t, Cfg::max_m> max_m;
  for (const ta::Replay mode : {ta::Replay::mix, ta::Replay::concat}) {
    const char* suffix = mode == ta::Replay::mix ? "_mix" : "_concat";
    if (want((std::string("distill") + suffix).c_str())) {
      auto store = std::make_unique<F32>();
      Row r = run_learner<Net, Cfg>(s, p, std::string("distill") + suffix, m, seed, mode, false, *store, dm_fill(*store),
                                    dm_ram<Cfg>(m));
      progress(r);
      if (mode == ta::Replay::mix && want("fixed_large")) {
        r.method = p.kd ? "fixed_large_kd" : "fixed_large";
        progress(r);
      }
    }
    if (want((std::string("replay") + suffix).c_str())) exemplar_run(std::string("replay") + suffix, mode, m, m, max_m);
  }
  // Replay with a teacher (TeacherReplay, continual/teacher.hpp): the buffer's
  // samples also match the soft targets of the network as the task found it.
  if (want("replay_mix_kd")) exemplar_run("replay_mix_kd", ta::Replay::mix, m, m, max_m);
  if (want("distill_mix_kd")) {
    auto store = std::make_unique<F32>();
    progress(run_learner<Net, Cfg>(s, p, "distill_mix_kd", m, seed, ta::Replay::mix, false, *store, dm_fill(*store),
                                   dm_ram<Cfg>(m)));
  }
  if (want("replay_mix_bytes")) {  // as many exemplars as fit the float32 store's bytes
    constexpr std::size_t max_bytes_m = (Cfg::max_m * F32::sample_bytes) / (D + 1);
    exemplar_run("replay_mix_bytes", ta::Replay::mix, m, m * F32::sample_bytes / (D + 1),
                 std::integral_constant<std::size_t, max_bytes_m>{});
  }
  if (want("distill_mix_int8")) {
    auto store = std::make_unique<I8>();
    progress(run_learner<Net, Cfg>(s, p, "distill_mix_int8", m, seed, ta::Replay::mix, false, *store, dm_fill(*store),
                                   dm_ram<Cfg>(m)));
  }
  if (want("distill_mix_small")) {
    auto store = std::make_unique<F32>();
    progress(run_learner<typename Cfg::Small, Cfg>(s, p, "distill_mix_small", m, seed, ta::Replay::mix, false, *store,
                                                   dm_fill(*store), dm_ram<Cfg>(m)));
  }
  if (want("distill_mix_f32eq") && m * I8::sample_bytes / F32::sample_bytes >= 1) {
    const std::size_t mf = m * I8::sample_bytes / F32::sample_bytes;
    Distilled<Cfg> small;
    distill_dm<Cfg>(s, p, mf, seed, small);
    auto store = std::make_unique<F32>();
    auto fill = [&small, &store](std::size_t t, F32&, Net&) {
      for (std::size_t c = 2 * t; c < 2 * t + 2; ++c)
        if (store->write(c, small.samples[c].data(), small.per_class[c]) != ta::Status::ok) std::abort();
      return Cost{small.seconds[t], small.flops[t]};
    };
    progress(run_learner<Net, Cfg>(s, p, "distill_mix_f32eq", m, seed, ta::Replay::mix, false, *store, fill,
                                   dm_ram<Cfg>(mf)));
  }
  // Model size adaption: the distilled learner (mix, float32) on the growable
  // network from 25% width, with a growth hook; growth steps are the
  // configuration's divided by --step-divisor.
  using G = typename Cfg::Grow;
  auto growth_step = [&](std::size_t (&step)[G::layer_count]) {
    for (std::size_t i = 0; i < G::layer_count; ++i) step[i] = Cfg::step[i] / p.step_divisor;
  };
  auto distilled_growth = [&](const char* name, auto&& hook) {
    auto store = std::make_unique<F32>();
    progress(run_learner<G, Cfg>(s, p, name, m, seed, ta::Replay::mix, false, *store, dm_fill(*store), dm_ram<Cfg>(m),
                                 hook));
  };
  // Grown by one step when the policy says so, then retrained on the task.
  auto grow_run = [&](const char* name, auto policy_value) {
    ta::PolicyGrowth<G, decltype(policy_value)> hook;
    hook.policy = policy_value;
    growth_step(hook.step);
    distilled_growth(name, hook);
  };
  ta::ThresholdGrowth threshold_rule{p.threshold};
  threshold_rule.min_growth_gain = p.min_growth_gain;
  if (want("distill_grow_threshold")) grow_run("distill_grow_threshold", threshold_rule);
  if (want("distill_grow_plateau")) grow_run("distill_grow_plateau", ta::PlateauGrowth{p.plateau_level});
  // Growth by probing: a control and a grown trial retrained on the task, the
  // gain measured on the validation samples of the classes seen.
  //   probe   ProbeGrowth: the step of every layer at once (grow_all) when it gains min_gain
  //   layer   LayerProbeGrowth: one layer at a time, the best gain per FLOP, at
  //           least gain_per_flops per unit of FLOPs ratio, no budget
  //   budget  layer with a FLOPs budget (p.budget of the maximum)
  constexpr std::size_t K = G::layer_count;
  // The candidates: every layer's step at once, or one candidate per layer.
  auto probe_of = [&](bool each_layer) {
    auto probe = std::make_unique<ta::GrowthProbe<G, K>>();
    std::size_t step[G::layer_count];
    growth_step(step);
    if ((each_layer ? probe->add_each_layer(step) : probe->add_candidate(step)) != ta::Status::ok) std::abort();
    return probe;
  };
  auto probe_run = [&](const char* name, auto policy_value, bool each_layer) {
    auto probe = probe_of(each_layer);
    probe->signal = p.loss_signal ? ta::ProbeSignal::training_loss : ta::ProbeSignal::validation_accuracy;
    distilled_growth(name, Probed<G, decltype(policy_value), K>{policy_value, probe.get(), p.log_growth});
  };
  if (want("distill_grow_none")) distilled_growth("distill_grow_none", ta::NoGrowth{});
  // The threshold rule with a FLOPs budget: when it says grow, the layer whose
  // step adds the fewest FLOPs, within p.budget.
  if (want("distill_grow_cheapest")) {
    ta::GrowthCandidates<G, K> steps;
    std::size_t step[G::layer_count];
    growth_step(step);
    if (steps.add_each_layer(step) != ta::Status::ok) std::abort();
    ta::CheapestGrowth<G, ta::ThresholdGrowth, K> hook;
    hook.policy = threshold_rule;
    hook.steps = &steps;
    hook.budget = p.budget;
    distilled_growth("distill_grow_cheapest", hook);
  }
  if (want("distill_grow_probe")) probe_run("distill_grow_probe", ta::ProbeGrowth{p.min_gain}, false);
  if (want("distill_grow_layer"))
    probe_run("distill_grow_layer", ta::LayerProbeGrowth{p.min_gain, p.gain_per_flops, 1.0f}, true);
  if (want("distill_grow_budget"))
    probe_run("distill_grow_budget", ta::LayerProbeGrowth{p.min_gain, p.gain_per_flops, p.budget}, true);
  if (want("distill_mix_gm")) {
    using GM = ta::GradientMatching<Net, Cfg::max_m>;
    auto gm = std::make_unique<GM>();
    auto store = std::make_unique<F32>();
    auto fill = [&](std::size_t t, F32& b, Net& net) {
      const Clock::time_point t0 = Clock::now();
      double flops = 0.0;
      for (std::size_t c = 2 * t; c < 2 * t + 2; ++c) {
        ta::DistillConfig dc;
        dc.per_class = m;
        dc.iterations = p.dm_iterations / 5;
        dc.lr = 0.1f;
        dc.seed = 7919ull * seed + c;
        if (gm->begin(dc, c) != ta::Status::ok) std::abort();
        for (std::size_t i : stream_order(s, c, seed)) gm->add_real(net, s.train.sample(i));
        const ta::DistillReport r = gm->distill(net);
        flops += 2.0 * r.macs;
        if (r.status != ta::Status::ok) std::printf("  gm class %zu: %s\n", c, ta::to_string(r.status));
        if (b.write(c, gm->synthetic().data(), gm->synthetic().size()) != ta::Status::ok) std::abort();
      }
      return Cost{since(t0), flops};
    };
    // Gradient matching: the synthetic set, two gradient sums and a perturbed copy of the model.
    const std::size_t gm_ram = 3 * m * D * sizeof(float) + 2 * sizeof(ta::GradientAccumulator<Net>) + sizeof(Net);
    progress(run_learner<Net, Cfg>(s, p, "distill_mix_gm", m, seed, ta::Replay::mix, false, *store, fill, gm_ram));
  }
}

struct Stat {
  double mean = 0, sd = 0;
};
Stat stat(const std::vector<double>& v) {
  Stat s;
  if (v.empty()) return s;
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  for (double x : v) s.sd += (x - s.mean) * (x - s.mean);
  s.sd = v.size() > 1 ? std::sqrt(s.sd / static_cast<double>(v.size() - 1)) : 0.0;
  return s;
}

std::string with_suffix(const std::string& csv, const char* suffix) {
  const std::size_t dot = csv.rfind(".csv");
  return (dot == std::string::npos ? csv : csv.substr(0, dot)) + suffix;
}

void write_outputs(const std::vector<Row>& rows, const std::string& csv, const char* dataset, const char* model) {
  std::FILE* f = std::fopen(csv.c_str(), "w");
  std::FILE* mf = std::fopen(with_suffix(csv, ".matrix.csv").c_str(), "w");
  if (f == nullptr || mf == nullptr) {
    std::fprintf(stderr, "continual: cannot write %s\n", csv.c_str());
    std::exit(1);
  }
  std::fprintf(f, "method,dataset,m,seed,final_acc,avg_acc,forgetting,flops_ratio,buffer_bytes,train_flops,distill_seconds,"
                  "learner_seconds\n");
  std::fprintf(mf, "method,dataset,m,seed,after_task,task,acc\n");
  for (const Row& r : rows) {
    std::fprintf(f, "%s,%s%s,%zu,%u,%.4f,%.4f,%.4f,%.4f,%zu,%.4g,%.3f,%.3f\n", r.method.c_str(), dataset,
                 std::strcmp(model, "cnn") == 0 ? "_cnn" : "", r.m, r.seed, r.final_acc, r.avg_acc, r.forgetting,
                 r.flops_ratio, r.buffer_bytes, r.train_flops, r.distill_seconds, r.learner_seconds);
    for (std::size_t t = 0; t < tasks; ++t)
      for (std::size_t j = 0; j <= t; ++j)
        std::fprintf(mf, "%s,%s,%zu,%u,%zu,%zu,%.4f\n", r.method.c_str(), dataset, r.m, r.seed, t, j, r.matrix.at(t, j));
  }
  std::fclose(f);
  std::fclose(mf);
}

// Mean accuracy matrices and the summary table (mean ± std over seeds).
// data_bytes: the training data seen over the stream, as uint8 samples with a
// 1-byte label (the buffer's share of it is a column).
void print_summary(const std::vector<Row>& rows, double data_bytes) {
  std::map<std::pair<std::string, std::size_t>, std::vector<const Row*>> groups;
  std::vector<std::pair<std::string, std::size_t>> keys;
  for (const Row& r : rows) {
    auto k = std::make_pair(r.method, r.m);
    if (groups[k].empty()) keys.push_back(k);
    groups[k].push_back(&r);
  }
  std::printf("\nAccuracy matrices (%% on the test samples of task j's classes after task t, mean over seeds; "
              "last column: all classes seen)\n");
  for (const auto& k : keys) {
    const auto& g = groups[k];
    std::printf("%s m=%zu (%zu seeds)\n", k.first.c_str(), k.second, g.size());
    for (std::size_t t = 0; t < tasks; ++t) {
      std::printf("  after task %zu:", t);
      for (std::size_t j = 0; j <= t; ++j) {
        double a = 0;
        for (const Row* r : g) a += r->matrix.at(t, j);
        std::printf(" %5.1f", 100.0 * a / static_cast<double>(g.size()));
      }
      for (std::size_t j = t + 1; j < tasks; ++j) std::printf("      ");
      double a = 0;
      for (const Row* r : g) a += r->matrix.seen(t);
      std::printf(" | %5.1f\n", 100.0 * a / static_cast<double>(g.size()));
    }
  }
  std::printf("\n%-26s %4s %5s %15s %15s %15s %6s %9s %6s %10s %10s %9s %9s %9s %s\n", "method", "m", "seeds",
              "final acc %", "avg acc %", "forgetting %", "FLOPs", "buffer B", "buf %", "train FLOP", "dist. FLOP",
              "distill s", "learner s", "RAM B", "widths per seed");
  for (const auto& k : keys) {
    const auto& g = groups[k];
    std::vector<double> fa, aa, fg, ds, ls, tf, df;
    for (const Row* r : g) {
      fa.push_back(100.0 * r->final_acc);
      aa.push_back(100.0 * r->avg_acc);
      fg.push_back(100.0 * r->forgetting);
      ds.push_back(r->distill_seconds);
      ls.push_back(r->learner_seconds);
      tf.push_back(r->train_flops);
      df.push_back(r->distill_flops);
    }
    const Stat a = stat(fa), b = stat(aa), c = stat(fg);
    std::string widths;
    double ratio = 0.0;
    for (const Row* r : g) {
      widths += (widths.empty() ? "" : " / ") + r->widths;
      ratio += r->flops_ratio / static_cast<double>(g.size());
    }
    std::printf("%-26s %4zu %5zu %7.1f ± %5.1f %7.1f ± %5.1f %7.1f ± %5.1f %6.2f %9zu %6.2f %10.3g %10.3g %9.2f %9.2f "
                "%9zu %s\n",
                k.first.c_str(), k.second, g.size(), a.mean, a.sd, b.mean, b.sd, c.mean, c.sd, ratio,
                g[0]->buffer_bytes, 100.0 * static_cast<double>(g[0]->buffer_bytes) / data_bytes, stat(tf).mean,
                stat(df).mean, stat(ds).mean, stat(ls).mean, g[0]->ram_bytes, widths.c_str());
  }
}

// Final accuracy (mean ± std over seeds) against m, one line per method;
// naive and joint (m = 0) as horizontal lines. Data: FILE.summary.dat.
// False when the data or the plot could not be written.
bool plot(const std::vector<Row>& rows, const std::string& csv) {
  std::map<std::string, std::map<std::size_t, std::vector<double>>> acc;
  std::vector<std::string> order;
  for (const Row& r : rows) {
    if (acc.find(r.method) == acc.end()) order.push_back(r.method);
    acc[r.method][r.m].push_back(r.final_acc);
  }
  const std::string dat = with_suffix(csv, ".summary.dat");
  std::FILE* f = std::fopen(dat.c_str(), "w");
  if (f == nullptr) {
    std::printf("cannot write %s\n", dat.c_str());
    return false;
  }
  std::vector<std::string> lines, levels;
  std::size_t block = 0;
  for (const std::string& method : order) {
    if (method == "fixed_large") continue;  // the same runs as distill_mix
    if (acc[method].count(0)) {
      char level[160];
      std::snprintf(level, sizeof level, "%.4f title \"%s\" dt 2 lw 2", stat(acc[method][0]).mean, method.c_str());
      levels.push_back(level);
      continue;
    }
    std::fprintf(f, "# %s: m mean sd\n", method.c_str());
    for (const auto& [m, v] : acc[method]) std::fprintf(f, "%zu %.4f %.4f\n", m, stat(v).mean, stat(v).sd);
    std::fprintf(f, "\n\n");
    char line[200];
    std::snprintf(line, sizeof line, "\"%s\" index %zu using 1:2:3 with yerrorlines lw 2 title \"%s\"", dat.c_str(),
                  block++, method.c_str());
    lines.push_back(line);
  }
  std::fclose(f);
  const std::string png = with_suffix(csv, ".png");
  Plot figure(with_suffix(csv, ".gp"), png, dat);
  std::FILE* g = figure.script();
  if (g == nullptr) return figure.run();
  std::fprintf(g,
               "set terminal pngcairo size 1000,650 font \",10\" noenhanced\nset output \"%s\"\n"
               "set title \"P3 %s: final accuracy on all 10 classes (mean and std over seeds)\"\n"
               "set xlabel \"m (buffer samples per class)\"\nset ylabel \"final accuracy\"\nset logscale x\n"
               "set xrange [0.8:70]\nset yrange [0:1]\nset key outside right\nset grid\nplot ",
               png.c_str(), csv.c_str());
  std::string sep;
  for (const std::string& l : lines) std::fprintf(g, "%s%s", std::exchange(sep, ", ").c_str(), l.c_str());
  for (const std::string& l : levels) std::fprintf(g, "%s%s", std::exchange(sep, ", ").c_str(), l.c_str());
  std::fprintf(g, "\n");
  return figure.run();
}

// The speed target's measurement: one class, float32, one thread.
int time_distill(const Split& s) {
  using DM = ta::DistributionMatching<FashionMlp::Net, 10, 300>;
  auto dm = std::make_unique<DM>();
  constexpr std::size_t D = FashionMlp::Net::input_size;
  std::vector<float> stream;
  for (std::size_t i : stream_order(s, 0, 1)) stream.insert(stream.end(), s.train.sample(i), s.train.sample(i) + D);
  const std::size_t n = stream.size() / D;
  double best_wall = 1e30, best_cpu = 1e30;
  ta::DistillReport r;
  for (int rep = 0; rep < 3; ++rep) {
    const Clock::time_point t0 = Clock::now();
    const std::clock_t c0 = std::clock();
    ta::DistillConfig dc;
    dc.per_class = 10;
    dc.iterations = 300;
    dc.real_batch = 128;
    dc.expected = n;
    if (dm->begin(dc) != ta::Status::ok) return 1;
    for (std::size_t i = 0; i < n; i += 128) dm->add_real(stream.data() + i * D, std::min<std::size_t>(128, n - i));
    r = dm->distill();
    best_wall = std::min(best_wall, since(t0));
    best_cpu = std::min(best_cpu, static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC);
  }
  std::printf("distill one Fashion-MNIST class (784->64 ReLU embedding, m=10, 300 iterations, real batch 128, %zu "
              "samples streamed): %.3f s wall, %.3f s CPU (best of 3); loss %.4g -> %.4g, %.3g MACs\n",
              n, best_wall, best_cpu, static_cast<double>(r.first_loss), static_cast<double>(r.last_loss), r.macs);
  return r.status == ta::Status::ok ? 0 : 1;
}

// The first row of a method (nullptr: not run).
const Row* find_row(const std::vector<Row>& rows, const char* method) {
  for (const Row& r : rows)
    if (r.method == method) return &r;
  return nullptr;
}

template <class Cfg>
int run(const Split& s, const Protocol& p, const std::string& csv, bool quick) {
  using Net = typename Cfg::Net;
  std::printf("P3 %s %s: %zu train / %zu validation / %zu test samples; network %zu params, %zu MACs; small %zu MACs\n",
              Cfg::dataset, Cfg::model, s.train.size(), s.val.size(), s.test.size(), Net::param_count, Net::macs,
              Cfg::Small::macs);
  std::printf("device memory (bytes): network + SGD %zu, gradient accumulator %zu, float32 store (m=%zu) %zu, "
              "int8 store %zu, distribution matching (%zu networks) %zu\n",
              ta::training_memory<Net, ta::SGD<Net>>().total(), sizeof(ta::GradientAccumulator<Net>), Cfg::max_m,
              sizeof(ta::SyntheticStore<classes, Cfg::max_m, Net::input_size>),
              sizeof(ta::SyntheticStore<classes, Cfg::max_m, Net::input_size, std::int8_t>), Cfg::networks,
              sizeof(ta::DistributionMatching<Net, Cfg::max_m, Cfg::networks>));
  for (std::size_t i = 0; i < Cfg::Grow::layer_count; ++i)
    if (Cfg::step[i] % p.step_divisor != 0) {
      std::fprintf(stderr, "continual: --step-divisor %zu does not divide the growth step %zu\n", p.step_divisor,
                   Cfg::step[i]);
      return 2;
    }
  std::vector<Row> rows;
  const Clock::time_point start = Clock::now();
  std::size_t total = 0, done = 0;
  const std::size_t zero_methods = static_cast<std::size_t>(
      std::count_if(p.methods.begin(), p.methods.end(), [](const std::string& m) { return is_m0_method(m); }));
  for (std::size_t m : p.ms) {
    for (const std::string& name : p.methods)
      if (!is_m0_method(name) && !(name == "distill_mix_f32eq" && m < 4)) total += p.seeds.size();
    (void)m;
  }
  total += zero_methods * p.seeds.size();
  for (unsigned seed : p.seeds) {
    run_seed_m<Cfg>(s, p, seed, 0, rows, p.methods, done, total, start);
    for (std::size_t m : p.ms) run_seed_m<Cfg>(s, p, seed, m, rows, p.methods, done, total, start);
  }
  print_summary(rows, static_cast<double>(s.train.size()) * static_cast<double>(Cfg::Net::input_size + 1));
  write_outputs(rows, csv, Cfg::dataset, Cfg::model);
  std::printf("results: %s (accuracy matrices: %s)\n", csv.c_str(), with_suffix(csv, ".matrix.csv").c_str());
  if (!quick) {
    return plot(rows, csv) ? 0 : 1;
  }
  // The test's assertion: distilled replay beats naive fine-tuning by a wide margin.
  float naive = 0, distill = 0, replay = 0;
  for (const Row& r : rows) {
    if (r.method == "naive") naive = r.final_acc;
    if (r.method == "distill_mix") distill = r.final_acc;
    if (r.method == "replay_mix") replay = r.final_acc;
  }
  std::printf("quick check: naive %.1f%%, replay_mix %.1f%%, distill_mix %.1f%%\n", 100.0 * naive, 100.0 * replay,
              100.0 * distill);
  if (!(distill > naive + 0.30f)) {
    std::printf("FAIL: distilled replay does not beat naive fine-tuning by 30 points\n");
    return 1;
  }
  std::printf("OK: distilled replay beats naive fine-tuning by %.1f points\n", 100.0 * (distill - naive));
  // The teacher's soft targets keep what the buffer stands for: less than half the forgetting.
  const Row* kd = find_row(rows, "distill_mix_kd");
  const Row* plain = find_row(rows, "distill_mix");
  if (!kd || !plain || !(kd->forgetting < 0.5f * plain->forgetting) || !(kd->final_acc >= plain->final_acc)) {
    std::printf("FAIL: replay with a teacher does not halve the forgetting of distilled replay\n");
    return 1;
  }
  std::printf("OK: with a teacher, forgetting %.1f%% against %.1f%%, final %.1f%% against %.1f%%\n",
              100.0 * kd->forgetting, 100.0 * plain->forgetting, 100.0 * kd->final_acc, 100.0 * plain->final_acc);
  // Growth preserves the function: every test output bit-identical after a step.
  using G = typename Cfg::Grow;
  auto grown = std::make_unique<G>(), before = std::make_unique<G>();
  ta::Rng rng(3);
  grown->init(rng);
  *before = *grown;
  if (ta::grow_all(*grown, Cfg::step, rng) != ta::Status::ok) {
    std::printf("FAIL: growth refused\n");
    return 1;
  }
  std::size_t same = 0;
  for (std::size_t i = 0; i < s.test.size(); ++i) {
    float a[10], b[10];
    std::memcpy(a, before->forward(s.test.sample(i)), sizeof a);
    std::memcpy(b, grown->forward(s.test.sample(i)), sizeof b);
    same += std::memcmp(a, b, sizeof a) == 0 ? 1u : 0u;
  }
  std::printf("growth %s -> %s: %zu of %zu test outputs bit-identical\n", widths_of(*before).c_str(),
              widths_of(*grown).c_str(), same, s.test.size());
  if (same != s.test.size()) {
    std::printf("FAIL: growth changed the network's function\n");
    return 1;
  }
  float grow_acc = 0;
  for (const Row& r : rows)
    if (r.method == "distill_grow_threshold") grow_acc = r.final_acc;
  if (!(grow_acc > distill - 0.05f)) {
    std::printf("FAIL: the growing learner is more than 5 points below the fixed large network\n");
    return 1;
  }
  std::printf("OK: the growing learner reaches %.1f%% (fixed large network %.1f%%)\n", 100.0 * grow_acc,
              100.0 * distill);
  // Growth by probing: every decision has a reason, the network stays in range.
  const Row* probed = find_row(rows, "distill_grow_layer");
  if (probed == nullptr || !(probed->flops_ratio > 0.0f && probed->flops_ratio <= 1.0f) ||
      !(probed->final_acc > distill - 0.05f)) {
    std::printf("FAIL: the probing learner is missing, out of range or more than 5 points below the fixed large one\n");
    return 1;
  }
  std::printf("OK: the probing learner reaches %.1f%% at %.0f%% of the FLOPs\n", 100.0 * probed->final_acc,
              100.0 * probed->flops_ratio);
  return 0;
}

// "a,b,c" -> {"a", "b", "c"} (the list options).
std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> out;
  for (std::size_t a = 0;;) {
    const std::size_t b = std::min(list.find(',', a), list.size());
    out.push_back(list.substr(a, b - a));
    if (b == list.size()) return out;
    a = b + 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string dataset = "digits", model = "mlp", csv;
  bool quick = false, timing = false;
  int seeds = -1, first_seed = 1;
  std::string methods;
  double min_gain = 0.01, gain_per_flops = 0.1, budget = 0.43, threshold = 0.9, min_growth_gain = -1.0;
  int step_divisor = 1;
  bool log_growth = false;
  double kd_weight = 1.0;
  bool replay_added = false;
  long dm_iterations = 0;  // 0: the protocol's (digits 1,000, Fashion-MNIST 300)
  double dm_lr = 1.0;
  bool kd = false;
  std::string start, ms, signal = "accuracy";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") quick = true;
    else if (a == "--time-distill") timing = true;
    else if (a == "--dataset" && i + 1 < argc) dataset = argv[++i];
    else if (a == "--model" && i + 1 < argc) model = argv[++i];
    else if (a == "--csv" && i + 1 < argc) csv = argv[++i];
    else if (a == "--seeds" && i + 1 < argc) seeds = std::atoi(argv[++i]);
    else if (a == "--first-seed" && i + 1 < argc) first_seed = std::atoi(argv[++i]);
    else if (a == "--methods" && i + 1 < argc) methods = argv[++i];
    else if (a == "--min-gain" && i + 1 < argc) min_gain = std::atof(argv[++i]);
    else if (a == "--gain-per-flops" && i + 1 < argc) gain_per_flops = std::atof(argv[++i]);
    else if (a == "--budget" && i + 1 < argc) budget = std::atof(argv[++i]);
    else if (a == "--threshold" && i + 1 < argc) threshold = std::atof(argv[++i]);
    else if (a == "--min-growth-gain" && i + 1 < argc) min_growth_gain = std::atof(argv[++i]);
    else if (a == "--step-divisor" && i + 1 < argc) step_divisor = std::atoi(argv[++i]);
    else if (a == "--log-growth") log_growth = true;
    else if (a == "--kd-weight" && i + 1 < argc) kd_weight = std::atof(argv[++i]);
    else if (a == "--replay-added") replay_added = true;
    else if (a == "--dm-iterations" && i + 1 < argc) dm_iterations = std::atol(argv[++i]);
    else if (a == "--dm-lr" && i + 1 < argc) dm_lr = std::atof(argv[++i]);
    else if (a == "--kd") kd = true;
    else if (a == "--start" && i + 1 < argc) start = argv[++i];
    else if (a == "--ms" && i + 1 < argc) ms = argv[++i];
    else if (a == "--probe-signal" && i + 1 < argc) signal = argv[++i];
    else {
      std::fprintf(stderr, "usage: continual [--dataset digits|fashion] [--model mlp|cnn] [--quick] [--csv FILE]"
                           " [--seeds N] [--first-seed S] [--methods a,b] [--time-distill] [--min-gain G] [--gain-per-flops E]"
                           " [--budget F] [--threshold A] [--min-growth-gain G] [--step-divisor D] [--log-growth] [--start W[,W2]] [--ms m1,m2]"
                           " [--probe-signal accuracy|loss] [--kd] [--kd-weight W] [--replay-added] [--dm-iterations N] [--dm-lr X]\n");
      return 2;
    }
  }
  if ((dataset != "digits" && dataset != "fashion") || (model != "mlp" && model != "cnn") ||
      (dataset == "digits" && model == "cnn")) {
    std::fprintf(stderr, "continual: configurations are digits mlp, fashion mlp, fashion cnn\n");
    return 2;
  }
  if (quick) dataset = "digits", model = "mlp";
  if (timing) dataset = "fashion";
  if (csv.empty()) csv = "continual_" + dataset + "_" + model + (quick ? "_quick" : "") + ".csv";
  Split s;
  if (!load(dataset, s)) return 1;
  if (timing) return time_distill(s);
  Protocol p;
  if (!(min_gain >= 0.0 && min_gain <= 1.0) || !(gain_per_flops >= 0.0) || !(budget > 0.0 && budget <= 1.0) ||
      !(threshold >= 0.0 && threshold <= 1.0) || step_divisor < 1) {
    std::fprintf(stderr, "continual: --min-gain and --threshold in [0, 1], --gain-per-flops >= 0, --budget in (0, 1], "
                         "--step-divisor >= 1\n");
    return 2;
  }
  p.min_gain = static_cast<float>(min_gain);
  p.gain_per_flops = static_cast<float>(gain_per_flops);
  p.budget = static_cast<float>(budget);
  p.threshold = static_cast<float>(threshold);
  if (!(min_growth_gain < 0.0) && !(min_growth_gain <= 1.0)) {
    std::fprintf(stderr, "continual: --min-growth-gain in [0, 1]\n");
    return 2;
  }
  p.min_growth_gain = static_cast<float>(min_growth_gain);
  p.step_divisor = static_cast<std::size_t>(step_divisor);
  p.log_growth = log_growth;
  if (!(kd_weight > 0.0 && kd_weight < 1e6)) {
    std::fprintf(stderr, "continual: --kd-weight in (0, 1e6)\n");
    return 2;
  }
  p.kd_weight = static_cast<float>(kd_weight);
  p.added = replay_added;
  p.kd = kd;
  if (signal != "accuracy" && signal != "loss") {
    std::fprintf(stderr, "continual: --probe-signal accuracy|loss\n");
    return 2;
  }
  p.loss_signal = signal == "loss";
  if (!start.empty())
    for (const std::string& w : split(start)) p.start.push_back(static_cast<std::size_t>(std::atoi(w.c_str())));
  p.methods = {"naive", "joint", "replay_mix", "replay_concat", "replay_mix_bytes", "replay_mix_kd", "distill_mix",
               "distill_concat", "distill_mix_int8", "distill_mix_kd", "distill_mix_f32eq", "distill_mix_gm", "distill_mix_small", "fixed_large",
               "distill_grow_threshold", "distill_grow_plateau", "distill_grow_probe", "distill_grow_layer",
               "distill_grow_budget"};
  const unsigned n_seeds = seeds > 0 ? static_cast<unsigned>(seeds) : dataset == "digits" ? 5u : model == "mlp" ? 3u : 2u;
  if (first_seed < 1) {
    std::fprintf(stderr, "continual: --first-seed must be at least 1\n");
    return 2;
  }
  for (unsigned k = 0; k < n_seeds; ++k) p.seeds.push_back(static_cast<unsigned>(first_seed) + k);
  if (dataset == "digits") {
    p.ms = {1, 10};
  } else {
    p.ms = {1, 10, 54};
    p.epochs = 1;
    p.batch = 32;
    p.dm_iterations = 300;
    p.real_batch = 128;
    p.unit = 1.0f / 255.0f;
  }
  if (dm_iterations != 0) {
    if (dm_iterations < 5 || dm_iterations > 100000) {
      std::fprintf(stderr, "continual: --dm-iterations in 5..100000\n");
      return 2;
    }
    p.dm_iterations = static_cast<std::size_t>(dm_iterations);
  }
  if (!(dm_lr > 0.0 && dm_lr <= 1000.0)) {
    std::fprintf(stderr, "continual: --dm-lr in (0, 1000]\n");
    return 2;
  }
  p.dm_lr = static_cast<float>(dm_lr);
  if (model == "cnn")
    p.methods = {"naive", "joint", "replay_mix", "replay_concat", "replay_mix_kd", "distill_mix", "distill_concat",
                 "distill_mix_int8", "distill_mix_kd", "distill_mix_small", "fixed_large", "distill_grow_threshold", "distill_grow_plateau",
                 "distill_grow_probe", "distill_grow_layer", "distill_grow_budget"};
  if (!ms.empty()) {
    p.ms.clear();
    for (const std::string& item : split(ms)) {
      const int v = std::atoi(item.c_str());
      if (v < 1 || v > (dataset == "digits" ? 10 : 54)) {
        std::fprintf(stderr, "continual: --ms values in 1..%d\n", dataset == "digits" ? 10 : 54);
        return 2;
      }
      p.ms.push_back(static_cast<std::size_t>(v));
    }
  }
  if (!methods.empty()) {
    p.methods = split(methods);
    for (const std::string& name : p.methods)
      if (std::none_of(std::begin(known_methods), std::end(known_methods), [&](const char* k) { return name == k; })) {
        std::fprintf(stderr, "continual: unknown method '%s'; methods:", name.c_str());
        for (const char* k : known_methods) std::fprintf(stderr, " %s", k);
        std::fprintf(stderr, "\n");
        return 2;
      }
  }
  if (quick) {
    p.ms = {10};
    p.seeds = {1};
    p.methods = {"naive", "replay_mix", "distill_mix", "distill_mix_kd", "distill_grow_threshold", "distill_grow_layer"};
  }
  if (dataset == "digits") return run<DigitsMlp>(s, p, csv, quick);
  if (model == "mlp") return run<FashionMlp>(s, p, csv, quick);
  return run<FashionCnn>(s, p, csv, quick);
}
