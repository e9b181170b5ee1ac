// Model size adaption on dense networks: the growable MLP at its initial
// width is the fixed network of that width, growth preserves the function,
// FLOPs and parameters follow the widths, new units start with zero
// optimizer state, a growing head masks the classes it does not hold, and the
// growth policies decide as documented. (CNNs: test_growable_cnn.cpp.)
#include "growable_support.hpp"

namespace {
Mlp g_mlp, g_mlp_b;
MlpFixed<8> g_f8;
Deep g_deep, g_deep_b;
Heads g_heads, g_heads_b;
// Optimizers with state for the 64-wide MLP take 35 and 55 KB: one of each,
// reset between uses, so that the target's RAM holds them.
ta::SGDMomentum<Mlp> g_mom;
ta::Adam<Mlp> g_adam;

ta::SGDMomentum<Mlp>& fresh_momentum(float decay) {
  g_mom.reset();
  g_mom.lr = 0.02f;
  g_mom.momentum = 0.9f;
  g_mom.nesterov = true;
  g_mom.weight_decay = decay;
  return g_mom;
}
ta::Adam<Mlp>& fresh_adam(float decay) {
  g_adam.reset();
  g_adam.lr = 1e-3f;
  g_adam.weight_decay = decay;
  return g_adam;
}
}  // namespace

TEST_CASE("growable MLP at its initial width is the fixed 64-8-10 network: init, outputs, SGD/momentum/Adam steps") {
  ta::Rng r1(7), r2(7);
  g_mlp.init(r1);
  g_f8.init(r2);
  CHECK(g_mlp.active_width<0>() == 8);
  CHECK(g_mlp.active_width<1>() == 8);  // ReLU passes the width on
  CHECK(g_mlp.active_width<2>() == 10);
  // The same draws in the same order: bit-identical on every target.
  CHECK(layer_matches<0, 0>(g_mlp, g_f8, 64, -1.0f));
  CHECK(layer_matches<2, 2>(g_mlp, g_f8, 8, -1.0f));
  // Inactive parameters are zero.
  active_mask(g_mlp, g_mask);
  bool inactive_zero = true;
  for (std::size_t i = 0; i < Mlp::param_count; ++i) inactive_zero = inactive_zero && (g_mask[i] || g_mlp.parameters()[i] == 0.0f);
  CHECK(inactive_zero);
  ta::Rng data(3);
  random_sample<Mlp>(data, g_x);
  CHECK(close(g_mlp.forward(g_x), g_f8.forward(g_x), 10, 1e-5f));
  // Inactive hidden outputs are 0 (an embedding read by distillation is clean).
  ta::SGD<Mlp> sg(0.05f);
  ta::SGD<MlpFixed<8>> sf(0.05f);
  train_both(g_mlp, g_f8, sg, sf, 40, 11);
  CHECK(layer_matches<0, 0>(g_mlp, g_f8, 64, 1e-4f));
  CHECK(layer_matches<2, 2>(g_mlp, g_f8, 8, 1e-4f));
  ta::SGDMomentum<Mlp>& mg = fresh_momentum(1e-3f);
  static ta::SGDMomentum<MlpFixed<8>> mf(0.02f, 0.9f, true, 1e-3f);
  train_both(g_mlp, g_f8, mg, mf, 20, 12);
  ta::Adam<Mlp>& ag = fresh_adam(0.0f);
  static ta::Adam<MlpFixed<8>> af(1e-3f);
  train_both(g_mlp, g_f8, ag, af, 20, 13);
  CHECK(layer_matches<0, 0>(g_mlp, g_f8, 64, 1e-3f));
  CHECK(layer_matches<2, 2>(g_mlp, g_f8, 8, 1e-3f));
  // Still nothing outside the active part.
  inactive_zero = true;
  for (std::size_t i = 0; i < Mlp::param_count; ++i) inactive_zero = inactive_zero && (g_mask[i] || g_mlp.parameters()[i] == 0.0f);
  CHECK(inactive_zero);
}

TEST_CASE("the guard's gradient norms are the active network's: clipping acts exactly as on the fixed network") {
  ta::Rng r1(21), r2(21);
  g_mlp.init(r1);
  g_f8.init(r2);
  ta::SGD<Mlp> sg(0.1f, 0.05f);  // clip far below the layers' norms: every step is scaled
  ta::SGD<MlpFixed<8>> sf(0.1f, 0.05f);
  train_both(g_mlp, g_f8, sg, sf, 30, 5);
  CHECK(layer_matches<0, 0>(g_mlp, g_f8, 64, 1e-4f));
  CHECK(layer_matches<2, 2>(g_mlp, g_f8, 8, 1e-4f));
  // Clipping did act: without it the fixed network ends elsewhere.
  ta::Rng r4(21);
  static MlpFixed<8> unclipped;
  unclipped.init(r4);
  ta::SGD<MlpFixed<8>> su(0.1f);
  ta::SGD<MlpFixed<8>> sf2(0.1f, 0.05f);
  static MlpFixed<8> clipped;
  ta::Rng r5(21);
  clipped.init(r5);
  train_both(clipped, unclipped, sf2, su, 1, 5);
  CHECK_FALSE(same_bits(clipped.parameters().data(), unclipped.parameters().data(), MlpFixed<8>::param_count));
}

TEST_CASE("growth preserves the function exactly: MLP 64 -> [8..64] -> 10, step 8") {
  ta::Rng r(17);
  g_mlp.init(r);
  for (std::size_t w = 8; w < 64; w += 8) {
    check_growth_preserves(g_mlp, g_mlp_b, [](Mlp& n, ta::Rng& rng) { return n.grow<0>(8, rng); }, w);
    CHECK(g_mlp.active_width<0>() == w + 8);
  }
  CHECK(g_mlp.grow<0>(1, r) == ta::Status::capacity_exceeded);
  CHECK(g_mlp.inference_flops() == 2 * Mlp::macs);
}

TEST_CASE("inactive parameters do not count, and growth ignores what they held (a loaded blob)") {
  ta::Rng r(19), junk(20);
  g_mlp.init(r);
  active_mask(g_mlp, g_mask);
  g_mlp_b = g_mlp;
  auto p = g_mlp.parameters();
  for (std::size_t i = 0; i < Mlp::param_count; ++i)
    if (!g_mask[i]) p[i] = junk.uniform(-1.0f, 1.0f);
  ta::Rng data(3);
  random_sample<Mlp>(data, g_x);
  CHECK(same_bits(g_mlp.forward(g_x), g_mlp_b.forward(g_x), 10));
  CHECK(g_mlp.inference_flops() == g_mlp_b.inference_flops());
  for (int k = 0; k < 3; ++k)
    check_growth_preserves(g_mlp, g_mlp_b, [](Mlp& n, ta::Rng& rng) { return n.grow<0>(8, rng); }, static_cast<std::uint64_t>(40 + k));
}

TEST_CASE("growth preserves the function exactly: two growable layers in a row, through Tanh") {
  ta::Rng r(31);
  g_deep.init(r);
  check_growth_preserves(g_deep, g_deep_b, [](Deep& n, ta::Rng& rng) { return n.grow<0>(4, rng); }, 1);
  check_growth_preserves(g_deep, g_deep_b, [](Deep& n, ta::Rng& rng) { return n.grow<2>(4, rng); }, 2);
  check_growth_preserves(g_deep, g_deep_b, [](Deep& n, ta::Rng& rng) { return n.grow<0>(24, rng); }, 3);
  check_growth_preserves(g_deep, g_deep_b, [](Deep& n, ta::Rng& rng) { return n.grow<2>(8, rng); }, 4);
  CHECK(g_deep.active_width<0>() == 32);
  CHECK(g_deep.active_width<2>() == 16);
}

TEST_CASE("FLOPs and parameters of the active network follow its widths") {
  ta::Rng r(1);
  g_mlp.init(r);
  CHECK(g_mlp.inference_flops() == 2 * MlpFixed<8>::macs);
  CHECK(g_mlp.inference_flops() == 2 * (64 * 8 + 8 * 10));
  CHECK(g_mlp.training_flops() == g_f8.training_flops());
  // Training: forward, weight gradients, and input gradients above the first layer.
  CHECK(g_mlp.training_flops() == 2 * (2 * 64 * 8 + 3 * 8 * 10));
  CHECK(g_mlp.active_param_count() == MlpFixed<8>::param_count);
  CHECK(g_mlp.active_memory().total() == MlpFixed<8>::memory().total());  // a device built at width 8
  CHECK(g_mlp.active_memory().parameters == MlpFixed<8>::memory().parameters);
  const float* before = g_mlp.layer_parameters<2>().data();
  REQUIRE(g_mlp.grow<0>(8, r) == ta::Status::ok);
  CHECK(g_mlp.layer_parameters<2>().data() == before);  // offsets never move
  CHECK(g_mlp.inference_flops() == 2 * MlpFixed<16>::macs);
  CHECK(g_mlp.training_flops() == 2 * (2 * 64 * 16 + 3 * 16 * 10));
  CHECK(g_mlp.active_param_count() == MlpFixed<16>::param_count);
  CHECK(g_mlp.active_memory().total() == MlpFixed<16>::memory().total());
  REQUIRE(g_mlp.grow<0>(48, r) == ta::Status::ok);
  CHECK(g_mlp.training_flops() == 2 * (2 * 64 * 64 + 3 * 64 * 10));
  CHECK(g_mlp.active_param_count() == Mlp::param_count);
  CHECK(g_mlp.active_memory().total() == MlpFixed<64>::memory().total());
  CHECK(g_mlp.active_memory().total() + Mlp::memory().widths == Mlp::memory().total());
  // Fixed networks: the compile-time counts.
  CHECK(g_f8.inference_flops() == 2 * MlpFixed<8>::macs);
  // init() starts a growable network afresh at its initial widths.
  g_mlp.init(r);
  CHECK(g_mlp.active_width<0>() == 8);
}

TEST_CASE("optimizers and the accumulator visit the active parameters only, at every width") {
  ta::Rng r(61);
  g_mlp.init(r);
  g_deep.init(r);
  g_heads.init(r);
  CHECK(runs_are_the_active_part(g_mlp));
  CHECK(runs_are_the_active_part(g_deep));
  CHECK(runs_are_the_active_part(g_heads));
  bool all = true;
  for (int k = 0; k < 7; ++k) {
    REQUIRE(g_mlp.grow<0>(8, r) == ta::Status::ok);
    all = all && runs_are_the_active_part(g_mlp);
  }
  CHECK(all);
  REQUIRE(g_deep.grow<0>(5, r) == ta::Status::ok);
  CHECK(runs_are_the_active_part(g_deep));
  REQUIRE(g_deep.grow<2>(3, r) == ta::Status::ok);
  CHECK(runs_are_the_active_part(g_deep));
  REQUIRE(g_heads.grow<2>(2, r) == ta::Status::ok);
  REQUIRE(g_heads.grow<0>(8, r) == ta::Status::ok);
  CHECK(runs_are_the_active_part(g_heads));
  // A fixed network is one run per layer, its whole count.
  CHECK(runs_are_the_active_part(g_f8));
}

TEST_CASE("mini-batch steps (GradientAccumulator + Adam with decay) of two growable layers at 4, 4 are the fixed 16-4-4-3's") {
  using DeepFixed = ta::Sequential<ta::Input<16>, ta::Dense<4>, ta::Tanh, ta::Dense<4>, ta::ReLU, ta::Dense<3>>;
  static DeepFixed fixed;
  ta::Rng r1(71), r2(71);
  g_deep.init(r1);
  fixed.init(r2);
  static ta::GradientAccumulator<Deep> acc_g;
  static ta::GradientAccumulator<DeepFixed> acc_f;
  static ta::Adam<Deep> ag(1e-2f, 0.9f, 0.999f, 1e-8f, 1e-2f);
  static ta::Adam<DeepFixed> af(1e-2f, 0.9f, 0.999f, 1e-8f, 1e-2f);
  ta::Rng data(72);
  for (int batch = 0; batch < 6; ++batch) {
    for (int s = 0; s < 4; ++s) {
      random_sample<Deep>(data, g_x);
      const unsigned label = data.below(3);
      REQUIRE(acc_g.add<ta::SoftmaxCrossEntropy>(g_deep, static_cast<const float*>(g_x), label).ok());
      REQUIRE(acc_f.add<ta::SoftmaxCrossEntropy>(fixed, static_cast<const float*>(g_x), label).ok());
    }
    REQUIRE(acc_g.apply(g_deep, ag) == ta::Status::ok);
    REQUIRE(acc_f.apply(fixed, af) == ta::Status::ok);
  }
  CHECK(layer_matches<0, 0>(g_deep, fixed, 16, 1e-4f));
  CHECK(layer_matches<2, 2>(g_deep, fixed, 4, 1e-4f));
  CHECK(layer_matches<4, 4>(g_deep, fixed, 4, 1e-4f));
  active_mask(g_deep, g_mask);
  bool inactive_zero = true;
  for (std::size_t i = 0; i < Deep::param_count; ++i)
    inactive_zero = inactive_zero && (g_mask[i] || (g_deep.parameters()[i] == 0.0f && ag.first_moment()[i] == 0.0f));
  CHECK(inactive_zero);
}

namespace {
unsigned char g_blob[ta::io::parameter_bytes<Heads>()];  // forged in place and restored (the target's RAM)
static_assert(ta::io::parameter_bytes<Heads>() >= ta::io::parameter_bytes<Deep>());

// A blob of net with its checksum recomputed after a change (a forgery only
// the width checks can refuse).
template <class Net>
void refresh_checksum(unsigned char* b) {
  constexpr std::size_t n = ta::io::parameter_bytes<Net>() - ta::io::parameter_header_bytes;
  ta::io::detail::put(b + 24, ta::io::detail::fnv1a32(b + ta::io::parameter_header_bytes, n), 4);
}

// Saved grown, loaded into a fresh network: the same widths and outputs. Every
// forged width and every truncation is refused with the network unchanged.
template <class Net>
void check_widths_round_trip(Net& grown, Net& fresh, std::uint64_t seed) {
  constexpr std::size_t bytes = ta::io::parameter_bytes<Net>();
  constexpr std::size_t at = ta::io::parameter_header_bytes + 4 * Net::param_count;  // the width fields
  static_assert(Net::width_fields > 0 && bytes == at + 4 * Net::width_fields);
  REQUIRE(ta::io::save_parameters(grown, g_blob, sizeof g_blob) == ta::io::ParamStatus::ok);
  CHECK(ta::io::detail::get32(g_blob + 28) == Net::width_fields);
  ta::Rng r(seed);
  fresh.init(r);  // initial widths, other weights
  Net before = fresh;
  // Each field moved by +1, -1 and 2^16: out of range or inconsistent with
  // its neighbour, except a last layer's width moved within its range, which
  // is another valid model (only the checksum, recomputed here, tells).
  bool refused = true, unchanged = true;
  std::size_t forged = 0;
  for (std::size_t k = 0; k < Net::width_fields; ++k)
    for (const std::uint32_t delta : {1u, 0xFFFFFFFFu, 0x10000u}) {
      std::uint32_t w[Net::width_fields];
      for (std::size_t i = 0; i < Net::width_fields; ++i) w[i] = ta::io::detail::get32(g_blob + at + 4 * i);
      w[k] += delta;
      if (Net::check_widths(w) == ta::Status::ok) continue;
      ++forged;
      const std::uint32_t saved = ta::io::detail::get32(g_blob + at + 4 * k), sum = ta::io::detail::get32(g_blob + 24);
      ta::io::detail::put(g_blob + at + 4 * k, w[k], 4);
      refresh_checksum<Net>(g_blob);
      refused = refused && ta::io::load_parameters(fresh, g_blob, bytes) == ta::io::ParamStatus::bad_widths;
      unchanged = unchanged && std::memcmp(&fresh, &before, sizeof(Net)) == 0;
      ta::io::detail::put(g_blob + at + 4 * k, saved, 4);
      ta::io::detail::put(g_blob + 24, sum, 4);
    }
  CHECK(forged >= 3 * Net::width_fields - 2);
  ta::io::detail::put(g_blob + 28, Net::width_fields - 1, 4);  // a blob without its last field
  refused = refused && ta::io::load_parameters(fresh, g_blob, bytes - 4) == ta::io::ParamStatus::bad_widths;
  ta::io::detail::put(g_blob + 28, Net::width_fields, 4);
  for (std::size_t n = 0; n < bytes; ++n) refused = refused && ta::io::load_parameters(fresh, g_blob, n) != ta::io::ParamStatus::ok;
  unchanged = unchanged && std::memcmp(&fresh, &before, sizeof(Net)) == 0;
  CHECK(refused);
  CHECK(unchanged);
  REQUIRE(ta::io::load_parameters(fresh, g_blob, bytes) == ta::io::ParamStatus::ok);
  std::uint32_t a[Net::width_fields], b[Net::width_fields];
  grown.get_widths(a);
  fresh.get_widths(b);
  CHECK(std::memcmp(a, b, sizeof a) == 0);
  CHECK(fresh.inference_flops() == grown.inference_flops());
  ta::Rng data(seed + 1);
  float x[Net::input_size];
  bool same = true;
  for (int s = 0; s < 8; ++s) {
    for (float& v : x) v = data.uniform(-1.0f, 1.0f);
    float y[Net::output_size];
    std::memcpy(y, grown.forward(x), sizeof y);
    same = same && same_bits(y, fresh.forward(x), Net::output_size);
  }
  CHECK(same);
}
}  // namespace

TEST_CASE("a grown network saved and loaded comes back at its widths; forged widths are refused") {
  ta::Rng r(91);
  g_deep.init(r);
  REQUIRE(g_deep.grow<0>(6, r) == ta::Status::ok);
  REQUIRE(g_deep.grow<2>(5, r) == ta::Status::ok);
  check_widths_round_trip(g_deep, g_deep_b, 92);
  g_heads.init(r);
  REQUIRE(g_heads.grow<0>(16, r) == ta::Status::ok);
  REQUIRE(g_heads.grow<2>(4, r) == ta::Status::ok);
  check_widths_round_trip(g_heads, g_heads_b, 93);
  // Heads' fields: hidden (outputs 8..32, inputs 64), head (classes 2..10, inputs = hidden).
  const std::uint32_t valid[] = {24, 64, 6, 24}, wide[] = {33, 64, 6, 33}, narrow[] = {7, 64, 6, 7},
                      inputs[] = {24, 63, 6, 24}, mismatch[] = {24, 64, 6, 16}, classes[] = {24, 64, 11, 24},
                      none[] = {24, 64, 1, 24};
  CHECK(Heads::check_widths(valid) == ta::Status::ok);
  for (const std::uint32_t* w : {wide, narrow, inputs, mismatch, classes, none})
    CHECK(Heads::check_widths(w) == ta::Status::size_mismatch);
  // A fixed network's blob carries no widths: the bytes it always had.
  static_assert(MlpFixed<8>::width_fields == 0 &&
                ta::io::parameter_bytes<MlpFixed<8>>() == 32 + 4 * MlpFixed<8>::param_count);
}

namespace {
// A flash of two slots for the two-layer network, in RAM (g_blob's bytes: the target's RAM is full).
struct RamFlash {
  unsigned char* mem;
  bool erase(std::size_t at, std::size_t n) { return std::memset(mem + at, 0xFF, n) != nullptr; }
  bool program(std::size_t at, const unsigned char* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) mem[at + i] &= p[i];
    return true;
  }
  bool read(std::size_t at, unsigned char* p, std::size_t n) { return std::memcpy(p, mem + at, n) != nullptr; }
};
}  // namespace

TEST_CASE("a flash checkpoint of a grown network restores its widths; a bad widths block falls back to the other slot") {
  constexpr std::size_t slot = ta::io::checkpoint_slot_bytes<Deep>();
  static_assert(2 * slot <= sizeof g_blob);
  static_assert(ta::io::checkpoint_widths_bytes<Deep>() == 4 * Deep::width_fields + 4);
  static_assert(ta::io::checkpoint_widths_bytes<MlpFixed<8>>() == 0, "a fixed network's slot is as it was");
  RamFlash flash{g_blob};
  ta::io::CheckpointRegion<RamFlash> region(flash, slot);
  ta::Rng r(95);
  g_deep.init(r);
  REQUIRE(g_deep.grow<0>(4, r) == ta::Status::ok);
  REQUIRE(region.save(g_deep, 1) == ta::io::WireStatus::ok);  // slot 0: widths (8, 4)
  g_deep_b = g_deep;
  REQUIRE(g_deep.grow<0>(8, r) == ta::Status::ok);
  REQUIRE(g_deep.grow<2>(3, r) == ta::Status::ok);
  REQUIRE(region.save(g_deep, 2) == ta::io::WireStatus::ok);  // slot 1: widths (16, 7)
  ta::Rng data(96);
  random_sample<Deep>(data, g_x);
  float y[3];
  std::memcpy(y, g_deep.forward(g_x), sizeof y);
  Deep& fresh = g_deep;  // the grown network is gone: a device after a reset
  fresh.init(r);
  ta::io::CheckpointInfo got;
  REQUIRE(region.load(fresh, &got) == ta::io::WireStatus::ok);
  CHECK(got.slot == 1);
  CHECK(fresh.active_width<0>() == 16);
  CHECK(fresh.active_width<2>() == 7);
  CHECK(same_bits(y, fresh.forward(g_x), 3));
  // Any byte of the newest slot's widths block changed: that slot is refused, the older one loads.
  bool fell_back = true;
  const std::size_t at = slot + ta::io::checkpoint_record_bytes;
  for (std::size_t k = 0; k < ta::io::checkpoint_widths_bytes<Deep>(); ++k) {
    g_blob[at + k] ^= 0x10;
    fresh.init(r);
    fell_back = fell_back && region.load(fresh, &got) == ta::io::WireStatus::ok && got.slot == 0 &&
                fresh.active_width<0>() == 8 && fresh.active_width<2>() == 4;
    g_blob[at + k] ^= 0x10;
  }
  CHECK(fell_back);
  std::memcpy(y, g_deep_b.forward(g_x), sizeof y);
  CHECK(same_bits(y, fresh.forward(g_x), 3));
}

TEST_CASE("optimizer state of new units starts at zero (momentum with weight decay, Adam)") {
  ta::Rng r(51);
  g_mlp.init(r);
  ta::SGDMomentum<Mlp>& mom = fresh_momentum(1e-2f);
  ta::Adam<Mlp>& adam = fresh_adam(1e-2f);
  ta::Rng data(52);
  for (int s = 0; s < 30; ++s) {
    random_sample<Mlp>(data, g_x);
    const unsigned label = data.below(10);
    REQUIRE(ta::train_step<ta::SoftmaxCrossEntropy>(g_mlp, mom, static_cast<const float*>(g_x), label).ok());
    REQUIRE(ta::train_step<ta::SoftmaxCrossEntropy>(g_mlp, adam, static_cast<const float*>(g_x), label).ok());
  }
  active_mask(g_mlp, g_mask);
  bool zero = true;
  for (std::size_t i = 0; i < Mlp::param_count; ++i)
    if (!g_mask[i]) zero = zero && mom.velocity()[i] == 0.0f && adam.first_moment()[i] == 0.0f &&
                           adam.second_moment()[i] == 0.0f && g_mlp.parameters()[i] == 0.0f;
  CHECK(zero);
  REQUIRE(g_mlp.grow<0>(8, r) == ta::Status::ok);
  // The new units' state is that zero state; training then moves it.
  for (int s = 0; s < 5; ++s) {
    random_sample<Mlp>(data, g_x);
    REQUIRE(ta::train_step<ta::SoftmaxCrossEntropy>(g_mlp, mom, static_cast<const float*>(g_x), data.below(10)).ok());
  }
  bool moved = false;
  for (std::size_t i = 0; i < Mlp::param_count; ++i) moved = moved || (!g_mask[i] && mom.velocity()[i] != 0.0f);
  CHECK(moved);
}

TEST_CASE("a growing head: classes not held yet are masked, adding classes keeps the old logits") {
  ta::Rng r(71), data(72);
  g_heads.init(r);
  random_sample<Heads>(data, g_x);
  const float* y = g_heads.forward(g_x);
  CHECK(std::isfinite(y[0]));
  CHECK(y[1] != ta::masked_logit);
  bool masked = true;
  for (std::size_t c = 2; c < 10; ++c) masked = masked && y[c] == ta::masked_logit;
  CHECK(masked);
  ta::SGD<Heads> sgd(0.05f);
  for (int s = 0; s < 20; ++s) {
    random_sample<Heads>(data, g_x);
    REQUIRE(ta::train_step<ta::SoftmaxCrossEntropy>(g_heads, sgd, static_cast<const float*>(g_x), data.below(2)).ok());
    CHECK(ta::predict(g_heads, static_cast<const float*>(g_x)).label < 2);
  }
  // Rows of classes not held yet get no gradient.
  active_mask(g_heads, g_mask);
  bool zero = true;
  for (std::size_t i = 0; i < Heads::param_count; ++i) zero = zero && (g_mask[i] || g_heads.parameters()[i] == 0.0f);
  CHECK(zero);
  g_heads_b = g_heads;
  REQUIRE(g_heads.grow<2>(2, r) == ta::Status::ok);
  y = g_heads.forward(g_x);
  const float* yb = g_heads_b.forward(g_x);
  CHECK(same_bits(y, yb, 2));
  CHECK(y[2] != ta::masked_logit);
  CHECK(y[3] != ta::masked_logit);
  CHECK(y[4] == ta::masked_logit);
  CHECK(g_heads.grow<2>(7, r) == ta::Status::capacity_exceeded);
  // Growing the hidden layer keeps every logit.
  check_growth_preserves(g_heads, g_heads_b, [](Heads& n, ta::Rng& rng) { return n.grow<0>(8, rng); }, 9);
}

TEST_CASE("the gain gate: below the threshold, a task grows again only while its last growth raised accuracy") {
  ta::ThresholdGrowth gated{0.9f, 1000, 0.01f};
  ta::GrowthMetrics m;
  m.val_accuracy = 0.8f;
  CHECK(gated.decide(m).reason == ta::GrowthReason::grow_below_threshold);  // the task's first decision: no gain needed
  m.rounds = 1;
  CHECK(gated.decide(m).reason == ta::GrowthReason::keep_invalid_metrics);  // after a growth the gain must be measured
  m.growth_gain = 0.02f;
  CHECK(gated.decide(m).reason == ta::GrowthReason::grow_below_threshold);
  m.growth_gain = 0.005f;
  CHECK(gated.decide(m).reason == ta::GrowthReason::keep_no_gain);
  m.growth_gain = -0.1f;  // the growth cost accuracy
  CHECK(gated.decide(m).reason == ta::GrowthReason::keep_no_gain);
  m.val_accuracy = 0.95f;  // good enough comes first
  CHECK(gated.decide(m).reason == ta::GrowthReason::keep_good_enough);
  m.val_accuracy = 0.8f;
  for (const float bad : {NAN, INFINITY, 1.5f, -1.5f}) {
    m.growth_gain = bad;
    CHECK(gated.decide(m).reason == ta::GrowthReason::keep_invalid_metrics);
  }
  // Off (the default, the paper's rule): the gain is never read.
  const ta::ThresholdGrowth paper{0.9f};
  CHECK(paper.decide(m).reason == ta::GrowthReason::grow_below_threshold);
  gated.min_growth_gain = NAN;
  m.growth_gain = 0.5f;
  CHECK(gated.decide(m).reason == ta::GrowthReason::keep_invalid_metrics);
  gated.min_growth_gain = 2.0f;
  CHECK(gated.decide(m).reason == ta::GrowthReason::keep_invalid_metrics);
}

TEST_CASE("growth policies: the seed paper's threshold, the training-loss plateau, the probe gain") {
  ta::GrowthMetrics m;
  const ta::ThresholdGrowth threshold{0.9f};
  CHECK(threshold.decide(m).reason == ta::GrowthReason::keep_invalid_metrics);  // nothing measured
  m.val_accuracy = 0.85f;
  CHECK(threshold.decide(m).grow);
  CHECK(threshold.decide(m).reason == ta::GrowthReason::grow_below_threshold);
  m.val_accuracy = 0.95f;
  CHECK_FALSE(threshold.decide(m).grow);
  CHECK(threshold.decide(m).reason == ta::GrowthReason::keep_good_enough);
  m.val_accuracy = 0.5f;
  m.can_grow = false;
  CHECK(threshold.decide(m).reason == ta::GrowthReason::keep_at_maximum);
  m.can_grow = true;
  m.val_accuracy = NAN;
  CHECK(threshold.decide(m).reason == ta::GrowthReason::keep_invalid_metrics);
  m.val_accuracy = 1.5f;
  CHECK_FALSE(threshold.decide(m).grow);

  // Plateau: a loss above the level that stopped falling means too little capacity.
  const ta::PlateauGrowth plateau{0.1f, 0.05f, 1};
  ta::GrowthMetrics p;
  p.val_accuracy = 0.3f;  // forgetting: no effect on this policy
  p.train_loss = 0.05f;
  p.train_loss_before = 0.06f;
  CHECK(plateau.decide(p).reason == ta::GrowthReason::keep_good_enough);  // fits its data
  p.train_loss = 0.5f;
  p.train_loss_before = 0.8f;
  CHECK(plateau.decide(p).reason == ta::GrowthReason::keep_good_enough);  // still falling fast
  p.train_loss_before = 0.51f;
  CHECK(plateau.decide(p).grow);
  CHECK(plateau.decide(p).reason == ta::GrowthReason::grow_plateau);
  p.train_loss_before = -1.0f;  // one epoch: the level alone
  CHECK(plateau.decide(p).grow);
  p.rounds = 1;
  CHECK(plateau.decide(p).reason == ta::GrowthReason::keep_round_limit);
  p.rounds = 0;
  p.train_loss = INFINITY;
  CHECK(plateau.decide(p).reason == ta::GrowthReason::keep_invalid_metrics);
  p.train_loss = 0.5f;
  p.train_loss_before = NAN;
  CHECK(plateau.decide(p).reason == ta::GrowthReason::keep_invalid_metrics);

  const ta::ProbeGrowth probe{0.02f};
  ta::GrowthMetrics q;
  CHECK(probe.decide(q).reason == ta::GrowthReason::keep_invalid_metrics);  // no probe taken
  q.probe_gain = 0.03f;
  CHECK(probe.decide(q).grow);
  q.probe_gain = 0.01f;
  CHECK_FALSE(probe.decide(q).grow);
  q.probe_gain = -0.2f;
  CHECK(probe.decide(q).reason == ta::GrowthReason::keep_good_enough);
  CHECK(std::strlen(ta::to_string(ta::GrowthReason::grow_plateau)) > 0);
  CHECK(std::strcmp(ta::to_string(ta::Status::capacity_exceeded), "unknown status") != 0);
}

TEST_CASE("layer probe policy: the best gain per added FLOP, within the budget, worth its cost") {
  // Three candidates from a network at 20% of the maximum FLOPs: a cheap
  // layer with a modest gain, an expensive one with a larger gain, both.
  ta::ProbeCandidate c[3];
  c[0] = {0.02f, 0.30f, true};  // +0.10 FLOPs: 0.2 per unit
  c[1] = {0.03f, 0.60f, true};  // +0.40 FLOPs: 0.075 per unit
  c[2] = {0.04f, 0.70f, true};  // +0.50 FLOPs: 0.08 per unit
  ta::GrowthMetrics m;
  const ta::LayerProbeGrowth free_policy{0.01f, 0.0f, 1.0f};
  ta::ProbeChoice d = free_policy.choose(m, c, 3, 0.2f);
  CHECK(d.decision.grow);
  CHECK(d.decision.reason == ta::GrowthReason::grow_probe_gain);
  CHECK(d.candidate == 0);  // most gain per FLOP, not most gain
  // The cheap layer gains too little: the next best per FLOP.
  c[0].gain = 0.005f;
  d = free_policy.choose(m, c, 3, 0.2f);
  CHECK(d.candidate == 2);
  // Budget: only candidates ending at <= 0.65 count.
  const ta::LayerProbeGrowth budget{0.01f, 0.0f, 0.65f};
  d = budget.choose(m, c, 3, 0.2f);
  CHECK(d.decision.grow);
  CHECK(d.candidate == 1);
  const ta::LayerProbeGrowth tight{0.01f, 0.0f, 0.5f};
  CHECK(tight.choose(m, c, 3, 0.2f).decision.reason == ta::GrowthReason::keep_over_budget);
  // Exchange rate 0.1 per unit of FLOPs ratio: 0.03 for +0.4 and 0.04 for +0.5 are too little.
  const ta::LayerProbeGrowth priced{0.01f, 0.1f, 1.0f};
  d = priced.choose(m, c, 3, 0.2f);
  CHECK_FALSE(d.decision.grow);
  CHECK(d.decision.reason == ta::GrowthReason::keep_too_costly);
  c[0].gain = 0.011f;  // 0.011 >= 0.1 x 0.1
  CHECK(priced.choose(m, c, 3, 0.2f).candidate == 0);
  // No gain anywhere: keep, good enough.
  for (auto& k : c) k.gain = 0.0f;
  CHECK(free_policy.choose(m, c, 3, 0.2f).decision.reason == ta::GrowthReason::keep_good_enough);
  // Unavailable candidates are skipped; none available: at the maximum.
  c[0] = {0.05f, 0.30f, true};
  c[1].available = c[2].available = false;
  c[1].gain = NAN;  // not looked at: unavailable
  CHECK(free_policy.choose(m, c, 3, 0.2f).candidate == 0);
  c[0].available = false;
  CHECK(free_policy.choose(m, c, 3, 0.2f).decision.reason == ta::GrowthReason::keep_at_maximum);
  // Bad metrics refuse, never a silent growth.
  c[0] = {NAN, 0.30f, true};
  CHECK(free_policy.choose(m, c, 1, 0.2f).decision.reason == ta::GrowthReason::keep_invalid_metrics);
  c[0] = {0.05f, 0.10f, true};  // a growth that lowers the FLOPs is no growth
  CHECK(free_policy.choose(m, c, 1, 0.2f).decision.reason == ta::GrowthReason::keep_invalid_metrics);
  c[0] = {0.05f, 1.5f, true};
  CHECK(free_policy.choose(m, c, 1, 0.2f).decision.reason == ta::GrowthReason::keep_invalid_metrics);
  c[0] = {0.05f, 0.30f, true};
  CHECK(free_policy.choose(m, c, 1, NAN).decision.reason == ta::GrowthReason::keep_invalid_metrics);
  CHECK(free_policy.choose(m, nullptr, 1, 0.2f).decision.reason == ta::GrowthReason::keep_invalid_metrics);
  const ta::LayerProbeGrowth bad{0.01f, -1.0f, 1.0f};
  CHECK(bad.choose(m, c, 1, 0.2f).decision.reason == ta::GrowthReason::keep_invalid_metrics);
  // The round limit.
  const ta::LayerProbeGrowth once{0.01f, 0.0f, 1.0f, 1};
  m.rounds = 1;
  CHECK(once.choose(m, c, 1, 0.2f).decision.reason == ta::GrowthReason::keep_round_limit);
  m.rounds = 0;
  CHECK(once.choose(m, c, 1, 0.2f).decision.grow);
  // ProbeGrowth over candidates: the largest gain, judged by its min_gain.
  const ta::ProbeGrowth probe{0.02f};
  ta::ProbeCandidate p2[2] = {{0.01f, 0.5f, true}, {0.03f, 0.9f, true}};
  ta::ProbeChoice q = ta::choose_probe(probe, m, p2, 2, 0.25f);
  CHECK(q.decision.grow);
  CHECK(q.candidate == 1);
  p2[1].gain = 0.015f;
  CHECK(ta::choose_probe(probe, m, p2, 2, 0.25f).decision.reason == ta::GrowthReason::keep_good_enough);
  p2[0].available = p2[1].available = false;
  CHECK(ta::choose_probe(probe, m, p2, 2, 0.25f).decision.reason == ta::GrowthReason::keep_at_maximum);
  CHECK(std::strlen(ta::to_string(ta::GrowthReason::keep_over_budget)) > 0);
  CHECK(std::strcmp(ta::to_string(ta::GrowthReason::keep_too_costly), "unknown reason") != 0);
}

#if defined(TINYADAPT_ON_TARGET)
TEST_CASE("Cortex-M4: a training step of the growable MLP costs what its width costs") {
  ta::Rng r(82), r2(82);
  g_mlp.init(r);
  g_f8.init(r2);
  const std::uint32_t w8 = step_instructions(g_mlp, "growable MLP 64-[8 of 64]-10");
  const std::uint32_t f8 = step_instructions(g_f8, "fixed MLP 64-8-10          ");
  REQUIRE(g_mlp.grow<0>(24, r) == ta::Status::ok);
  const std::uint32_t w32 = step_instructions(g_mlp, "growable MLP 64-[32 of 64]-10");
  REQUIRE(g_mlp.grow<0>(32, r) == ta::Status::ok);
  const std::uint32_t w64 = step_instructions(g_mlp, "growable MLP 64-[64 of 64]-10");
  CHECK(w8 < w32);
  CHECK(w32 < w64);
  CHECK(w8 < w64 / 2);
  CHECK(f8 < w8);
  // 4,935 against 3,715 (README); 5,768 when ReLU ran over all 64 units.
  CHECK(4 * w8 < 6 * f8);
}
#endif

TEST_CASE("the README example") {
  using Net = ta::Sequential<ta::Input<64>, ta::GrowableDense<32, 8>, ta::ReLU, ta::Dense<10>>;
  static_assert(ta::training_memory<Net, ta::SGD<Net>>().total() <= 16 * 1024);
  static Net net;
  ta::Rng rng(1);
  net.init(rng);
  CHECK(net.inference_flops() == 1184);
  REQUIRE(net.grow<0>(8, rng) == ta::Status::ok);
  CHECK(net.active_width<0>() == 16);
  CHECK(net.grow<0>(24, rng) == ta::Status::capacity_exceeded);
  CHECK(net.active_width<0>() == 16);
  // A policy after a task: the step of every layer, all or nothing.
  const std::size_t step[Net::layer_count] = {8, 0, 0};
  ta::ThresholdGrowth policy{0.9f};
  ta::GrowthMetrics m;
  m.val_accuracy = 0.84f;
  m.can_grow = ta::can_grow(net, step);
  REQUIRE(policy.decide(m).grow);
  REQUIRE(ta::grow_all(net, step, rng) == ta::Status::ok);
  REQUIRE(ta::grow_all(net, step, rng) == ta::Status::ok);
  CHECK(net.active_width<0>() == 32);
  CHECK(net.inference_flops() == 2 * Net::macs);
  m.can_grow = ta::can_grow(net, step);
  CHECK_FALSE(m.can_grow);
  CHECK(policy.decide(m).reason == ta::GrowthReason::keep_at_maximum);
  CHECK(ta::grow_all(net, step, rng) == ta::Status::capacity_exceeded);
  net.init(rng);
  CHECK(net.active_width<0>() == 8);
}
