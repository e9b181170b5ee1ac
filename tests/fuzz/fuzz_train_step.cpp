// libFuzzer target for the step invariant (nn/train.hpp, optim/update_guard.hpp):
//
//   a step that returns ok leaves every parameter and every optimizer state
//   value finite; a step that returns an error leaves the parameters and the
//   optimizer bit-identical to before,
//
// for the reference networks W1 (MSE), W2 and W3 (SoftmaxCrossEntropy) with
// SGD, SGDMomentum (Nesterov, weight decay) and Adam (weight decay), through
// train_step and through GradientAccumulator::add/apply. A second property,
// "no bricking": from a healthy model one hostile sample cannot stop 20 clean
// steps from succeeding with finite parameters.
//
// Every violation prints what broke and traps, so libFuzzer reports it.
// At exit the harness prints how many steps it checked (see README.md for the
// long run and for the input format). TINYADAPT_FUZZ_TRACE=1 prints what each
// input decodes to (for a crash file: run the binary on it).
#include <tinyadapt/tinyadapt.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <type_traits>
#include <utility>

namespace ta = tinyadapt;

using W1 = ta::Sequential<ta::Input<1>, ta::Dense<64>, ta::Tanh, ta::Dense<64>, ta::Tanh, ta::Dense<1>>;
using W2 = ta::Sequential<ta::Input<64>, ta::Dense<32>, ta::ReLU, ta::Dense<10>>;
using W3 = ta::Sequential<ta::Input<28, 28, 1>, ta::Conv2D<8, 3>, ta::ReLU, ta::MaxPool2D<2>, ta::Conv2D<16, 3>,
                          ta::ReLU, ta::MaxPool2D<2>, ta::Flatten, ta::Dense<10>>;

namespace {

constexpr std::size_t max_steps = 16;   // sample steps of one input (W3: about 60 us each in Release)
constexpr std::size_t clean_steps = 20;  // clean steps after the hostile sample (no bricking)

// ---------------------------------------------------------------- counters

struct Counters {
  unsigned long long inputs = 0;
  unsigned long long train_steps = 0, adds = 0, applies = 0, clean = 0;
  unsigned long long ok = 0, refused = 0;
  unsigned long long by_status[16] = {};
  unsigned long long ok_on_non_finite_model = 0;  // ok steps on a model that held NaN/Inf before
  unsigned long long per_net[3] = {};
};
Counters counters;

void print_counters() {
  const Counters& c = counters;
  const unsigned long long steps = c.train_steps + c.adds + c.applies;
  std::fprintf(stderr,
               "tinyadapt fuzz: %llu steps checked (train_step %llu, GradientAccumulator add %llu, apply %llu; "
               "of these %llu clean steps of the no-bricking check) over %llu inputs (W1 %llu, W2 %llu, W3 %llu); "
               "ok %llu, refused %llu; invariant violations 0\n",
               steps, c.train_steps, c.adds, c.applies, c.clean, c.inputs, c.per_net[0], c.per_net[1], c.per_net[2],
               c.ok, c.refused);
  std::fprintf(stderr, "tinyadapt fuzz: statuses:");
  for (unsigned s = 0; s < 16; ++s)
    if (c.by_status[s]) std::fprintf(stderr, " [%s] %llu", ta::to_string(static_cast<ta::Status>(s)), c.by_status[s]);
  std::fprintf(stderr, "\ntinyadapt fuzz: ok steps on a model that already held NaN/Inf parameters: %llu\n",
               c.ok_on_non_finite_model);
}

void count(ta::Status s) {
  ++counters.by_status[static_cast<unsigned>(s) & 15u];
  if (s == ta::Status::ok) ++counters.ok;
  else ++counters.refused;
}

// ---------------------------------------------------------------- reports

struct Context {
  const char* net = "";
  const char* opt = "";
  const char* entry = "";
  const char* phase = "";
  std::size_t step = 0;
};
Context ctx;
bool tracing = false;

[[noreturn]] void violation(const char* what, ta::Status s) {
  std::fprintf(stderr,
               "\ntinyadapt fuzz: INVARIANT VIOLATION: %s\n"
               "  network %s, optimizer %s, entry %s, %s, step %zu, status \"%s\"\n",
               what, ctx.net, ctx.opt, ctx.entry, ctx.phase, ctx.step, ta::to_string(s));
  std::fflush(stderr);
  __builtin_trap();
}

// ---------------------------------------------------------------- input bytes

// Reads the fuzzer's bytes from the front; past the end every read is 0.
class Reader {
 public:
  Reader(const std::uint8_t* data, std::size_t size) noexcept : data_(data), size_(size) {}
  unsigned u8() noexcept { return pos_ < size_ ? data_[pos_++] : 0u; }
  unsigned u16() noexcept {
    const unsigned lo = u8();
    return lo | (u8() << 8);
  }
  std::uint32_t u32() noexcept {
    const std::uint32_t lo = u16();
    return lo | (static_cast<std::uint32_t>(u16()) << 16);
  }
  float raw() noexcept {
    const std::uint32_t bits = u32();
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

float special(unsigned i) noexcept {
  using lim = std::numeric_limits<float>;
  const float table[32] = {0.0f,          -0.0f,         1.0f,        -1.0f,       lim::quiet_NaN(), -lim::quiet_NaN(),
                           lim::infinity(), -lim::infinity(), lim::max(), -lim::max(), lim::min(),      -lim::min(),
                           lim::denorm_min(), -lim::denorm_min(), 1e19f, -1e19f,     2e19f,           1e30f,
                           1.2676506e30f,  // 2^100, the update limit
                           1.0141205e31f,  // 2^103
                           1e38f,         1e-30f,        1e-20f,      1e10f,       1e5f,            -1e5f,
                           3e38f,         0.5f,          65504.0f,    1e-38f,      1e20f,           -1e30f};
  return table[i % 32];
}

// A value: mostly scaled sane ones (+-8 in steps of 1/16, +-32 in steps of
// 1/1024), else raw float bits or one of the special values above.
float value(Reader& r) noexcept {
  const unsigned tag = r.u8();
  if (tag < 128) return static_cast<float>(static_cast<std::int8_t>(static_cast<std::uint8_t>(r.u8()))) / 16.0f;
  if (tag < 176) return static_cast<float>(static_cast<std::int16_t>(static_cast<std::uint16_t>(r.u16()))) / 1024.0f;
  if (tag < 224) return r.raw();
  return special(tag - 224);
}

// A hyper-parameter: one of the sane choices, or a value() (raw bits included).
template <std::size_t N>
float hyper(Reader& r, const float (&sane)[N]) noexcept {
  const unsigned tag = r.u8();
  return tag < 224 ? sane[tag % N] : value(r);
}

constexpr float sane_lr[] = {0.001f, 0.01f, 0.05f, 0.1f, 0.0f, 1.0f};
constexpr float sane_momentum[] = {0.9f, 0.0f, 0.5f, 0.99f};
constexpr float sane_beta2[] = {0.999f, 0.9f, 0.0f, 0.99999f};
constexpr float sane_eps[] = {1e-8f, 1e-6f, 1e-3f, 1e-30f};
constexpr float sane_decay[] = {0.0f, 1e-4f, 1e-2f, 0.5f};
constexpr float sane_max_norm[] = {ta::default_max_grad_norm, 1.0f, 10.0f, std::numeric_limits<float>::infinity(),
                                   1e30f};

// ---------------------------------------------------------------- networks

template <class Net>
struct Traits;
template <>
struct Traits<W1> {
  using Loss = ta::MSE;
  static constexpr const char* name = "W1";
  static constexpr unsigned index = 0;
};
template <>
struct Traits<W2> {
  using Loss = ta::SoftmaxCrossEntropy;
  static constexpr const char* name = "W2";
  static constexpr unsigned index = 1;
};
template <>
struct Traits<W3> {
  using Loss = ta::SoftmaxCrossEntropy;
  static constexpr const char* name = "W3";
  static constexpr unsigned index = 2;
};

template <class Net>
struct Sample {
  using Loss = typename Traits<Net>::Loss;
  static constexpr bool regression = std::is_same_v<Loss, ta::MSE>;
  float x[Net::input_size] = {};
  float t[Net::output_size] = {};
  unsigned label = 0;
  typename Loss::target_type target() const noexcept {
    if constexpr (regression) return t;
    else return label;
  }
};

// Everything lives in static storage: the library allocates nothing and the
// W3 objects are tens of KB.
template <class Net>
struct Bench {
  static inline Net net;
  static inline const Net fresh{};
  static inline ta::SGD<Net> sgd;
  static inline ta::SGDMomentum<Net> momentum;
  static inline ta::Adam<Net> adam;
  static inline ta::GradientAccumulator<Net> acc;
  static inline Sample<Net> sample;
  static inline Sample<Net> clean[clean_steps];
  // Snapshots taken before each step.
  static inline float params_before[Net::param_count];
  static inline unsigned char opt_before[sizeof(ta::Adam<Net>) > sizeof(ta::SGDMomentum<Net>)
                                             ? sizeof(ta::Adam<Net>)
                                             : sizeof(ta::SGDMomentum<Net>)];
  static inline unsigned char acc_before[sizeof(ta::GradientAccumulator<Net>)];

  static ta::Span<const float> params() noexcept { return std::as_const(net).parameters(); }
};

// Rebuilds a trivially destructible object in place (no temporary of tens of KB on the stack).
template <class T, class... Args>
void rebuild(T& obj, Args... args) noexcept {
  static_assert(std::is_trivially_destructible_v<T>, "rebuild() needs a trivially destructible type");
  ::new (static_cast<void*>(&obj)) T(args...);
}

// Fixed sane data: the clean steps of the no-bricking check and the first input.
template <class Net>
void make_clean_data(std::uint64_t seed) {
  using B = Bench<Net>;
  ta::Rng rng(seed);
  for (std::size_t k = 0; k < clean_steps; ++k) {
    Sample<Net>& s = B::clean[k];
    if constexpr (Sample<Net>::regression) {
      s.x[0] = -3.0f + 6.0f * static_cast<float>(k) / static_cast<float>(clean_steps - 1);
      s.t[0] = std::sin(s.x[0]);
    } else {
      for (float& v : s.x) v = rng.uniform();
      s.label = static_cast<unsigned>(k % Net::output_size);
    }
  }
  B::sample = B::clean[0];
}

// ---------------------------------------------------------------- optimizer state

struct StateCheck {
  bool state = true;  // the state (momentum, moments, their bounds, corrections) is finite
};

template <class Opt>
StateCheck inspect(const Opt& o) noexcept {
  return {o.state_finite()};
}

template <class Net>
const char* name_of(const ta::SGD<Net>*) noexcept {
  return "SGD";
}
template <class Net>
const char* name_of(const ta::SGDMomentum<Net>* o) noexcept {
  if (o->nesterov) return o->weight_decay != 0.0f ? "SGDMomentum(nesterov, weight decay)" : "SGDMomentum(nesterov)";
  return o->weight_decay != 0.0f ? "SGDMomentum(weight decay)" : "SGDMomentum";
}
template <class Net>
const char* name_of(const ta::Adam<Net>* o) noexcept {
  return o->weight_decay != 0.0f ? "Adam(weight decay)" : "Adam";
}

// Sets one public hyper-parameter between steps, as a schedule would (possibly
// to garbage): field byte % the fields listed (SGDMomentum: one more, which
// toggles Nesterov), then a value.
template <class Opt, std::size_t N>
bool set_field(Reader& r, Opt& o, float Opt::*const (&fields)[N], unsigned extra = 0) noexcept {
  const unsigned f = r.u8() % (N + extra);
  if (f >= N) return false;
  o.*fields[f] = value(r);
  return true;
}
template <class Net>
void mutate(Reader& r, ta::SGD<Net>& o) noexcept {
  using O = ta::SGD<Net>;
  static constexpr float O::*fields[] = {&O::lr, &O::max_grad_norm};
  set_field(r, o, fields);
}
template <class Net>
void mutate(Reader& r, ta::SGDMomentum<Net>& o) noexcept {
  using O = ta::SGDMomentum<Net>;
  static constexpr float O::*fields[] = {&O::lr, &O::momentum, &O::weight_decay, &O::max_grad_norm};
  if (!set_field(r, o, fields, 1)) o.nesterov = !o.nesterov;
}
template <class Net>
void mutate(Reader& r, ta::Adam<Net>& o) noexcept {
  using O = ta::Adam<Net>;
  static constexpr float O::*fields[] = {&O::lr, &O::eps, &O::weight_decay, &O::max_grad_norm};
  set_field(r, o, fields);
}

// ---------------------------------------------------------------- samples and weights

// Input: a fill (values from the bytes, a scaled uniform fill, a constant, or
// the previous input) and up to 7 patched elements; then the target or label.
template <class Net>
void decode_sample(Reader& r, Sample<Net>& s) noexcept {
  constexpr std::size_t n = Net::input_size;
  switch (r.u8() % 4) {
    case 0: {  // the first (up to) 64 elements from the bytes, the rest as before
      for (std::size_t i = 0; i < n && i < 64; ++i) s.x[i] = value(r);
      break;
    }
    case 1: {
      ta::Rng rng(r.u8());
      const float scale = value(r);
      for (float& v : s.x) v = scale * rng.uniform();
      break;
    }
    case 2: {
      const float c = value(r);
      for (float& v : s.x) v = c;
      break;
    }
    default: break;  // the previous input again
  }
  for (unsigned p = r.u8() % 8; p > 0; --p) {
    const std::size_t i = r.u16() % n;
    s.x[i] = value(r);
  }
  if constexpr (Sample<Net>::regression) {
    for (float& t : s.t) t = value(r);
  } else {
    const unsigned b = r.u8();
    s.label = b < 200 ? b % Net::output_size : (b < 255 ? b - 200 + Net::output_size : r.u32());
  }
}

template <class Net>
void trace_sample(const Sample<Net>& s) {
  if (!tracing) return;
  std::size_t bad = 0;
  float lo = std::numeric_limits<float>::infinity(), hi = -lo;
  for (float v : s.x) {
    if (!ta::is_finite(v)) ++bad;
    else {
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
    }
  }
  std::fprintf(stderr, "    input: %zu non-finite, finite range [%a, %a], x[0] %a", bad, static_cast<double>(lo),
               static_cast<double>(hi), static_cast<double>(s.x[0]));
  if constexpr (Sample<Net>::regression) std::fprintf(stderr, ", target %a\n", static_cast<double>(s.t[0]));
  else std::fprintf(stderr, ", label %u\n", s.label);
}

// Seeded init, then up to 4 runs of parameters overwritten with value()s
// (raw bits: huge finite values, NaN, Inf). Init byte 255: never initialised.
template <class Net>
void init_weights(Reader& r) {
  using B = Bench<Net>;
  const std::uint32_t seed = r.u32();
  const unsigned scheme = r.u8();
  if (scheme == 255) {
    if (tracing) std::fprintf(stderr, "  weights: not initialised\n");
    return;
  }
  ta::Rng rng(seed);
  B::net.init(rng, static_cast<ta::Init>(scheme % 5));
  if (tracing) std::fprintf(stderr, "  weights: seed %u, scheme %u\n", static_cast<unsigned>(seed), scheme % 5);
  for (unsigned k = r.u8() % 5; k > 0; --k) {
    const std::size_t at = r.u16() % Net::param_count;
    const std::size_t run = 1 + r.u8() % 16;
    const float v = value(r);
    auto p = B::net.parameters();
    for (std::size_t i = at; i < at + run && i < Net::param_count; ++i) p[i] = v;
    if (tracing)
      std::fprintf(stderr, "  weights: parameters [%zu, %zu) set to %a\n", at,
                   at + run < Net::param_count ? at + run : Net::param_count, static_cast<double>(v));
  }
}

// ---------------------------------------------------------------- the checked steps

template <class Net, class Opt>
struct Steps {
  using B = Bench<Net>;
  using Loss = typename Traits<Net>::Loss;

  static void snapshot(const Opt& opt) noexcept {
    std::memcpy(B::params_before, B::params().data(), sizeof B::params_before);
    std::memcpy(B::opt_before, &opt, sizeof(Opt));
    std::memcpy(B::acc_before, &B::acc, sizeof B::acc);
  }
  static bool params_unchanged() noexcept {
    return std::memcmp(B::params_before, B::params().data(), sizeof B::params_before) == 0;
  }
  static bool opt_unchanged(const Opt& opt) noexcept { return std::memcmp(B::opt_before, &opt, sizeof(Opt)) == 0; }
  static bool acc_unchanged() noexcept { return std::memcmp(B::acc_before, &B::acc, sizeof B::acc) == 0; }
  static bool acc_cleared() noexcept {
    for (std::size_t i = 0; i < Net::trainable_count; ++i)
      if (ta::float_bits(B::acc.gradient()[i]) != 0u) return false;
    return B::acc.count() == 0;
  }

  // After an ok step: every parameter is finite (a model that held NaN/Inf
  // before must have been refused) and so is the optimizer's state.
  static void check_ok(const Opt& opt, ta::Status s) {
    const auto p = B::params();
    if (!ta::all_finite(B::params_before, Net::param_count)) ++counters.ok_on_non_finite_model;
    if (!ta::all_finite(p.data(), Net::param_count)) violation("ok step left a non-finite parameter", s);
    const StateCheck c = inspect(opt);
    if (!c.state) violation("ok step left non-finite optimizer state", s);
  }
  static void check_refused(const Opt& opt, ta::Status s) {
    if (!params_unchanged()) violation("refused step changed the parameters", s);
    if (!opt_unchanged(opt)) violation("refused step changed the optimizer object", s);
  }

  static ta::Status online(Opt& opt, const Sample<Net>& smp) {
    snapshot(opt);
    const ta::StepResult r = ta::train_step<Loss>(B::net, opt, smp.x, smp.target());
    ++counters.train_steps;
    count(r.status);
    if (tracing) std::fprintf(stderr, "    train_step: %s, loss %a\n", ta::to_string(r.status), static_cast<double>(r.loss));
    if (r.ok()) {
      if (!ta::is_finite(r.loss)) violation("ok step returned a non-finite loss", r.status);
      check_ok(opt, r.status);
    } else {
      check_refused(opt, r.status);
    }
    return r.status;
  }

  // add() never writes the parameters or the optimizer; an ok add leaves a
  // finite sum, a refused one the accumulator bit-identical.
  static ta::Status add(const Opt& opt, const Sample<Net>& smp) {
    snapshot(opt);
    const ta::StepResult r = B::acc.template add<Loss>(B::net, static_cast<const float*>(smp.x), smp.target());
    ++counters.adds;
    count(r.status);
    if (tracing) std::fprintf(stderr, "    add: %s, loss %a\n", ta::to_string(r.status), static_cast<double>(r.loss));
    if (!params_unchanged()) violation("GradientAccumulator::add changed the parameters", r.status);
    if (!opt_unchanged(opt)) violation("GradientAccumulator::add changed the optimizer object", r.status);
    if (r.ok()) {
      if (!ta::is_finite(r.loss)) violation("ok add returned a non-finite loss", r.status);
      if (!ta::all_finite(B::acc.gradient(), Net::trainable_count))
        violation("ok add left a non-finite accumulated gradient", r.status);
    } else if (!acc_unchanged()) {
      violation("refused add changed the accumulator", r.status);
    }
    return r.status;
  }

  // apply(): ok leaves finite parameters and state and a cleared sum; a
  // refusal leaves parameters and optimizer bit-identical, and the sum kept
  // (bad_hyperparameter, empty_batch) or cleared (non_finite_gradient).
  static ta::Status apply(Opt& opt) {
    snapshot(opt);
    const ta::Status s = B::acc.apply(B::net, opt);
    ++counters.applies;
    count(s);
    if (tracing) std::fprintf(stderr, "    apply: %s\n", ta::to_string(s));
    if (s == ta::Status::ok) {
      check_ok(opt, s);
      if (!acc_cleared()) violation("ok apply did not clear the accumulator", s);
      return s;
    }
    check_refused(opt, s);
    if (s == ta::Status::bad_hyperparameter || s == ta::Status::empty_batch) {
      if (!acc_unchanged()) violation("apply refused for the caller changed the accumulator", s);
    } else if (s == ta::Status::non_finite_gradient) {
      if (!acc_cleared()) violation("refused batch was not cleared", s);
    } else {
      violation("apply returned a status it does not document", s);
    }
    return s;
  }

  // One step through the chosen entry point (accumulator: add, then apply when asked).
  static ta::Status step(Opt& opt, const Sample<Net>& smp, bool accumulate, bool apply_now) {
    if (!accumulate) return online(opt, smp);
    const ta::Status s = add(opt, smp);
    return apply_now ? apply(opt) : s;
  }

  // Main property: up to max_steps hostile or sane samples, hyper-parameters
  // possibly changed between them.
  static void sequence(Reader& r, Opt& opt, bool accumulate) {
    init_weights<Net>(r);
    rebuild(B::acc);
    const std::size_t n = 1 + r.u8() % max_steps;
    for (std::size_t k = 0; k < n; ++k) {
      ctx.step = k;
      const unsigned control = r.u8();
      if (control & 1u) {
        mutate(r, opt);
        if (tracing)
          std::fprintf(stderr, "  step %zu: hyper-parameters now lr %a, max_grad_norm %a\n", k,
                       static_cast<double>(opt.lr), static_cast<double>(opt.max_grad_norm));
      }
      decode_sample(r, B::sample);
      if (tracing) std::fprintf(stderr, "  step %zu:\n", k);
      trace_sample(B::sample);
      step(opt, B::sample, accumulate, (control & 2u) != 0 || k + 1 == n);
    }
  }

  // No bricking: healthy start, one hostile sample, then every clean step ok.
  static void no_bricking(Reader& r, Opt& opt, bool accumulate) {
    const std::uint32_t seed = r.u32();
    ta::Rng rng(seed);
    B::net.init(rng, static_cast<ta::Init>(r.u8() % 5));
    rebuild(B::acc);
    decode_sample(r, B::sample);
    ctx.phase = "hostile sample";
    ctx.step = 0;
    if (tracing) std::fprintf(stderr, "  hostile sample (init seed %u):\n", static_cast<unsigned>(seed));
    trace_sample(B::sample);
    step(opt, B::sample, accumulate, true);
    ctx.phase = "clean step after the hostile sample";
    for (std::size_t k = 0; k < clean_steps; ++k) {
      ctx.step = k;
      ++counters.clean;
      const ta::Status s = step(opt, B::clean[k], accumulate, true);
      if (s != ta::Status::ok) violation("a clean step after one hostile sample was refused: the model is bricked", s);
    }
  }
};

template <class Net>
void fuzz_net(Reader& r, unsigned opt_kind, unsigned flags) {
  using B = Bench<Net>;
  B::net = B::fresh;
  const bool nesterov = (flags & 1u) != 0, decay = (flags & 2u) != 0, accumulate = (flags & 4u) != 0;
  const bool bricking = (flags & 8u) != 0;
  ctx.net = Traits<Net>::name;
  ctx.entry = accumulate ? "GradientAccumulator add/apply" : "train_step";
  ctx.phase = "hostile sequence";
  ++counters.per_net[Traits<Net>::index];

  if (bricking) {
    // Sane hyper-parameters and the default max_grad_norm.
    constexpr float rates[] = {0.001f, 0.01f, 0.05f};
    const float lr = rates[r.u8() % 3];
    const float wd = decay ? 1e-4f : 0.0f;
    if (tracing) std::fprintf(stderr, "%s no-bricking, opt kind %u, lr %g, wd %g, %s\n", ctx.net, opt_kind,
                              static_cast<double>(lr), static_cast<double>(wd), ctx.entry);
    switch (opt_kind) {
      case 0: rebuild(B::sgd, lr, ta::default_max_grad_norm); ctx.opt = name_of(&B::sgd);
        Steps<Net, ta::SGD<Net>>::no_bricking(r, B::sgd, accumulate); break;
      case 1: rebuild(B::momentum, lr, 0.9f, nesterov, wd); ctx.opt = name_of(&B::momentum);
        Steps<Net, ta::SGDMomentum<Net>>::no_bricking(r, B::momentum, accumulate); break;
      default: rebuild(B::adam, lr, 0.9f, 0.999f, 1e-8f, wd); ctx.opt = name_of(&B::adam);
        Steps<Net, ta::Adam<Net>>::no_bricking(r, B::adam, accumulate); break;
    }
    return;
  }

  switch (opt_kind) {
    case 0: {
      const float lr = hyper(r, sane_lr);
      const float max_norm = hyper(r, sane_max_norm);
      rebuild(B::sgd, lr, max_norm);
      ctx.opt = name_of(&B::sgd);
      if (tracing) std::fprintf(stderr, "%s SGD lr %a max_grad_norm %a, %s\n", ctx.net, static_cast<double>(lr),
                                static_cast<double>(max_norm), ctx.entry);
      Steps<Net, ta::SGD<Net>>::sequence(r, B::sgd, accumulate);
      break;
    }
    case 1: {
      const float lr = hyper(r, sane_lr);
      const float mu = hyper(r, sane_momentum);
      const float wd = decay ? hyper(r, sane_decay) : 0.0f;
      const float max_norm = hyper(r, sane_max_norm);
      rebuild(B::momentum, lr, mu, nesterov, wd);
      B::momentum.max_grad_norm = max_norm;
      ctx.opt = name_of(&B::momentum);
      if (tracing)
        std::fprintf(stderr, "%s SGDMomentum lr %a momentum %a nesterov %d weight_decay %a max_grad_norm %a, %s\n",
                     ctx.net, static_cast<double>(lr), static_cast<double>(mu), nesterov ? 1 : 0,
                     static_cast<double>(wd), static_cast<double>(max_norm), ctx.entry);
      Steps<Net, ta::SGDMomentum<Net>>::sequence(r, B::momentum, accumulate);
      break;
    }
    default: {
      const float lr = hyper(r, sane_lr);
      const float b1 = hyper(r, sane_momentum);
      const float b2 = hyper(r, sane_beta2);
      const float eps = hyper(r, sane_eps);
      const float wd = decay ? hyper(r, sane_decay) : 0.0f;
      const float max_norm = hyper(r, sane_max_norm);
      rebuild(B::adam, lr, b1, b2, eps, wd);
      B::adam.max_grad_norm = max_norm;
      ctx.opt = name_of(&B::adam);
      if (tracing)
        std::fprintf(stderr, "%s Adam lr %a beta1 %a beta2 %a eps %a weight_decay %a max_grad_norm %a, %s\n",
                     ctx.net, static_cast<double>(lr), static_cast<double>(b1), static_cast<double>(b2),
                     static_cast<double>(eps), static_cast<double>(wd), static_cast<double>(max_norm), ctx.entry);
      Steps<Net, ta::Adam<Net>>::sequence(r, B::adam, accumulate);
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  make_clean_data<W1>(1);
  make_clean_data<W2>(2);
  make_clean_data<W3>(3);
  const char* t = std::getenv("TINYADAPT_FUZZ_TRACE");
  tracing = t != nullptr && t[0] != '\0' && t[0] != '0';
  std::atexit(print_counters);
  return 0;
}

// Input: net (byte % 3: W1 W2 W3), optimizer (byte % 3: SGD SGDMomentum Adam),
// flags (bit 0 Nesterov, 1 weight decay, 2 GradientAccumulator, 3 no-bricking
// check), then hyper-parameters, weights and steps (README.md).
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Reader r(data, size);
  ++counters.inputs;
  const unsigned net = r.u8() % 3, opt = r.u8() % 3, flags = r.u8();
  switch (net) {
    case 0: fuzz_net<W1>(r, opt, flags); break;
    case 1: fuzz_net<W2>(r, opt, flags); break;
    default: fuzz_net<W3>(r, opt, flags); break;
  }
  return 0;
}
