// Post-training int8 quantisation of a trained float Sequential.
//
// 1. Calibrate: run the float network on ~100-200 representative samples
//    (training data); the Calibrator records the range of every activation
//    tensor, over all samples and per sample.
// 2. Convert: quantize() fills an Int8Network (int8_network.hpp) with
//    - weights: symmetric int8 in [-127, 127], one scale per output unit /
//      channel (max |w| / 127);
//    - activations: asymmetric int8, one (scale, zero point) per tensor from
//      the calibrated range (always including 0); a ReLU after Dense/Conv2D
//      is fused (its output range, zero point -128);
//    - bias and zero points folded into one int32 start value per row, and
//      the rescaling s_in s_w / s_out as an integer multiplier M / 2^24 (the
//      kernels apply it with one rounding multiply-high, no float at run time);
//    - except a Conv2D on one input channel with a 3x3 kernel and stride 1
//      (mono3x3 format, kernels/int8.hpp): its 9 weights per channel are
//      stored as int16 with the rescaling folded in, requantised by a shift.
//
//   static ta::quant::Calibrator<W2> cal;                  // float work buffers inside
//   for (std::size_t i = 0; i < 200; ++i) cal.observe(net, train.sample(i));
//   static ta::Int8Network<W2> q;
//   if (ta::quant::quantize(net, cal, q) != ta::quant::QuantStatus::ok) ...
//
// Ranges: by default the min/max over all samples. One outlier sample (a
// sensor glitch, a sample scaled by 1e6) then stretches a range until the
// normal values fall into a few int8 steps. QuantOptions::percentile < 100
// takes that percentile of the per-sample maxima (and minima) instead: the
// most extreme samples are left out, however extreme they are.
//
// Numeric safety: every float -> int conversion is range-checked first
// (detail::round_in; an out-of-range cast is undefined behaviour) and what
// int8 cannot represent is refused with a QuantStatus (status.hpp). Nothing
// is changed when one is returned: a refused sample leaves the statistics as
// they were, a refused quantize() the Int8Network bit for bit. The float
// network is only read. No heap, no exceptions.
#pragma once
#include <cfloat>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "../core/finite.hpp"
#include "int8_network.hpp"
#include "status.hpp"

namespace tinyadapt::quant {

// A calibrated range [lo, hi].
struct Range {
  float lo = 0.0f, hi = 0.0f;
};

// Records, for every activation tensor of Net (tensor 0 is the input, tensor
// I + 1 the output of layer I), the min/max over all samples it observes and
// the Kept largest per-sample maxima and smallest per-sample minima (for
// percentile ranges). Holds two float buffers of the largest tensor: keep it
// static, or calibrate on a host.
template <class Net, std::size_t Kept = 8>
class Calibrator {
  static_assert(Kept >= 1, "a calibrator keeps at least the most extreme sample of each tensor");

 public:
  static constexpr std::size_t tensor_count = Net::layer_count + 1;
  static constexpr std::size_t kept = Kept;

  // All that observe() accumulates (the rest of the object is work space).
  struct Statistics {
    std::size_t samples = 0;
    float lo[tensor_count] = {}, hi[tensor_count] = {};
    // Per tensor, descending: the largest per-sample maxima and the largest
    // negated per-sample minima (so one insertion routine serves both).
    float top[tensor_count][Kept] = {}, neg_bottom[tensor_count][Kept] = {};
  };

  // Runs the float network on x and adds its ranges. A sample with NaN/Inf,
  // or one whose activations overflow, is refused and changes no statistic.
  QuantStatus observe(const Net& net, const float* x) noexcept {
    if (!all_finite(x, Net::input_size)) return QuantStatus::non_finite_sample;
    float lo[tensor_count], hi[tensor_count];
    min_max(x, Net::input_size, lo[0], hi[0]);
    if (!run_from<0>(net.parameters().data(), x, lo, hi)) return QuantStatus::non_finite_sample;
    Statistics& s = stats_;
    for (std::size_t t = 0; t < tensor_count; ++t) {
      if (s.samples == 0 || lo[t] < s.lo[t]) s.lo[t] = lo[t];
      if (s.samples == 0 || hi[t] > s.hi[t]) s.hi[t] = hi[t];
      keep_largest(s.top[t], s.samples, hi[t]);
      keep_largest(s.neg_bottom[t], s.samples, -lo[t]);
    }
    ++s.samples;
    return QuantStatus::ok;
  }

  std::size_t samples() const noexcept { return stats_.samples; }
  float range_min(std::size_t t) const noexcept { return stats_.lo[t]; }
  float range_max(std::size_t t) const noexcept { return stats_.hi[t]; }
  const Statistics& statistics() const noexcept { return stats_; }
  void reset() noexcept { stats_ = Statistics{}; }

  // Range of tensor t at a percentile of the per-sample ranges. 100 (or
  // more, or NaN) is the min/max; p < 100 leaves out the
  // floor(samples (100 - p) / 100) samples with the largest maxima, and as
  // many with the smallest minima, but never more than Kept - 1.
  Range range(std::size_t t, float percentile = 100.0f) const noexcept {
    const Statistics& s = stats_;
    const std::size_t stored = s.samples < Kept ? s.samples : Kept;
    // Counted up instead of cast: no float -> int conversion to check.
    const double dropped = static_cast<double>(s.samples) * (100.0 - static_cast<double>(percentile)) / 100.0;
    std::size_t d = 0;
    while (d + 1 < stored && static_cast<double>(d + 1) <= dropped) ++d;
    if (d == 0) return Range{s.lo[t], s.hi[t]};
    return Range{-s.neg_bottom[t][d], s.top[t][d]};
  }

 private:
  template <std::size_t... I>
  static constexpr std::size_t max_tensor(std::index_sequence<I...>) {
    std::size_t m = Net::input_size;
    ((m = Net::template layer<I>::output_shape::size > m ? Net::template layer<I>::output_shape::size : m), ...);
    return m;
  }
  template <std::size_t... I>
  static constexpr std::size_t max_state(std::index_sequence<I...>) {
    std::size_t m = 1;
    ((m = Net::template layer<I>::state_bytes > m ? Net::template layer<I>::state_bytes : m), ...);
    return m;
  }
  static constexpr std::size_t buffer_floats = max_tensor(std::make_index_sequence<Net::layer_count>{});
  static constexpr std::size_t state_size = max_state(std::make_index_sequence<Net::layer_count>{});

  static void min_max(const float* v, std::size_t n, float& lo, float& hi) noexcept {
    lo = hi = v[0];
    for (std::size_t i = 1; i < n; ++i) {
      lo = v[i] < lo ? v[i] : lo;
      hi = v[i] > hi ? v[i] : hi;
    }
  }

  // Inserts v into the descending list a holding min(n, Kept) values, keeping
  // the Kept largest.
  static void keep_largest(float* a, std::size_t n, float v) noexcept {
    std::size_t i = n < Kept ? n : Kept;
    for (; i > 0 && a[i - 1] < v; --i)
      if (i < Kept) a[i] = a[i - 1];
    if (i < Kept) a[i] = v;
  }

  template <std::size_t I>
  bool run_from(const float* params, const float* in, float* lo, float* hi) noexcept {
    using L = typename Net::template layer<I>;
    float* out = buf_[I % 2];
    L{}.forward(params + Net::plan.param_off[I], in, out, state_);
    if (!all_finite(out, L::output_shape::size)) return false;
    min_max(out, L::output_shape::size, lo[I + 1], hi[I + 1]);
    if constexpr (I + 1 < Net::layer_count) {
      return run_from<I + 1>(params, out, lo, hi);
    } else {
      return true;
    }
  }

  Statistics stats_;
  alignas(8) float buf_[2][buffer_floats] = {};
  alignas(8) unsigned char state_[state_size] = {};
};

// How quantize() takes the ranges from a calibrator.
struct QuantOptions {
  // 100: min/max over all samples. Below 100 (e.g. 99): that percentile of
  // the per-sample ranges (Calibrator::range), robust to outlier samples.
  float percentile = 100.0f;
};

namespace detail {

// v rounded to the nearest integer (halves away from zero) into out if v is a
// number within [lo, hi]; false otherwise. The check comes before the cast:
// converting NaN or a value outside the integer's range is undefined.
inline bool round_in(double v, std::int64_t lo, std::int64_t hi, std::int64_t& out) noexcept {
  if (!(v > static_cast<double>(lo) - 0.5 && v < static_cast<double>(hi) + 0.5)) return false;
  out = v >= 0.0 ? static_cast<std::int64_t>(v + 0.5) : -static_cast<std::int64_t>(0.5 - v);
  return true;
}
inline double abs_d(double v) noexcept { return v < 0.0 ? -v : v; }
inline std::int64_t abs_i(std::int64_t v) noexcept { return v < 0 ? -v : v; }

// An activation scale int8 can use: normal (so 1 / scale, the run-time input
// factor, is finite) and small enough that 255 steps stay a finite float.
inline bool scale_ok(double s) noexcept {
  return s >= static_cast<double>(FLT_MIN) && s <= static_cast<double>(FLT_MAX) / 256.0;
}

}  // namespace detail

// Activation quantisation from a range: [lo, hi] widened to contain 0, 255
// steps, zero point where 0 lands (-128 when lo = 0). activation_range (t
// unchanged) if no float scale represents it.
inline QuantStatus tensor_quant_from_range(double lo, double hi, TensorQuant& t) noexcept {
  lo = lo < 0.0 ? lo : 0.0;
  hi = hi > 0.0 ? hi : 0.0;
  double range = hi - lo;  // in double: two finite floats cannot overflow it
  // An all-zero tensor: any scale works. A range too small for a normal
  // scale is refused below, not taken for zero.
  if (!(range > 0.0)) lo = 0.0, range = 1.0;
  if (!detail::scale_ok(range / 255.0)) return QuantStatus::activation_range;
  TensorQuant r;
  r.scale = static_cast<float>(range / 255.0);  // within float range: checked above
  const double z = -128.0 - lo / static_cast<double>(r.scale);
  std::int64_t zp = 0;
  if (!detail::round_in(z < -128.0 ? -128.0 : (z > 127.0 ? 127.0 : z), -128, 127, zp))
    return QuantStatus::activation_range;  // NaN, not reachable from finite ranges
  r.zero_point = static_cast<std::int32_t>(zp);
  t = r;
  return QuantStatus::ok;
}

struct Access {
  template <class Net>
  static std::uint32_t* params(Int8Network<Net>& q) noexcept {
    return q.params_;
  }
  template <class Net>
  static TensorQuant* tensors(Int8Network<Net>& q) noexcept {
    return q.tq_;
  }
  template <class Net>
  static void set_ready(Int8Network<Net>& q) noexcept {
    q.ready_ = true;
  }
};

namespace detail {

// One row quantised with weight scale s_w: its multiplier M (1 <= M < 2^31,
// r = M / 2^24 the rescaling the kernel applies), weights w_q, and start
// value K = (bias / s_out + zp_out) / r - zp_in sum w_q, so that the output
// r (K + sum w_q x_q) is the bias plus the rescaled dot product.
// accumulator_range unless |K| + 128 sum |w_q| < 2^23 (the kernels'
// accumulator holds 256 times that). Writes the packed row to dst unless null.
template <class QL>
QuantStatus convert_row(const float* p, std::size_t r, double s_w, const TensorQuant& in, const TensorQuant& out,
                        std::uint32_t* dst) noexcept {
  using P = typename QL::packing;
  constexpr double two24 = 16777216.0;
  constexpr std::int64_t k_limit = std::int64_t{1} << 23;
  const double s_in = in.scale, s_out = out.scale;
  std::int64_t mult = 0;
  if (!round_in(s_in * s_w / s_out * two24, 1, 2147483647, mult)) return QuantStatus::multiplier_range;
  const double r_eff = static_cast<double>(mult) / two24;

  std::int64_t sum_q = 0, sum_abs = 0, sum_even = 0;
  for (std::size_t g = 0; g < P::groups; ++g) {
    std::int64_t q[4];
    for (std::size_t k = 0; k < 4; ++k) {
      // |w| <= 127 s_w by the choice of s_w: a failure here is a bug, refused all the same.
      if (!round_in(static_cast<double>(QL::weight(p, r, 4 * g + k)) / s_w, -127, 127, q[k]))
        return QuantStatus::weight_range;
      sum_q += q[k];
      sum_abs += abs_i(q[k]);
    }
    sum_even += q[0] + q[2];
    if (dst)
      dst[P::weight_word(r, g)] = kernels::int8::encode_group(static_cast<int>(q[0]), static_cast<int>(q[1]),
                                                              static_cast<int>(q[2]), static_cast<int>(q[3]));
  }
  std::int64_t k0 = 0;
  const double bias_term = (static_cast<double>(QL::bias(p, r)) / s_out + out.zero_point) / r_eff;
  if (!round_in(bias_term, -k_limit, k_limit, k0)) return QuantStatus::accumulator_range;
  const std::int64_t k = k0 - static_cast<std::int64_t>(in.zero_point) * sum_q;
  if (abs_i(k) + 128 * sum_abs >= k_limit) return QuantStatus::accumulator_range;
  if (dst) {
    const std::int64_t init = 256 * k - 127 * sum_even;  // |init| < 2^31 by the bound above
    dst[P::init_word(r)] = static_cast<std::uint32_t>(static_cast<std::int32_t>(init));
    dst[P::mult_word(r)] = static_cast<std::uint32_t>(mult);
  }
  return QuantStatus::ok;
}

// Quantises the rows of one Dense/Conv2D layer; writes the packed form to dst
// unless dst is null (checking pass). Weight scale: max |w| / 127, but at
// least s_out / (s_in 2^24) (the multiplier's 1: smaller weights are below
// the output's resolution anyway). A row whose bias is large against its
// weights (K grows as bias / s_w) gets a coarser weight scale, doubled until
// the accumulator bound holds; accumulator_range if none up to 2^16 times does.
template <class QL>
QuantStatus convert_rows(const float* p, const TensorQuant& in, const TensorQuant& out, std::uint32_t* dst) noexcept {
  const double ratio = static_cast<double>(out.scale) / in.scale;
  for (std::size_t r = 0; r < QL::rows; ++r) {
    double max_abs = 0.0;
    for (std::size_t t = 0; t < QL::taps; ++t) {
      const double a = abs_d(static_cast<double>(QL::weight(p, r, t)));
      max_abs = a > max_abs ? a : max_abs;
    }
    // An all-zero row gets any scale: here one giving the multiplier 2^14.
    double s_w = max_abs > 0.0 ? max_abs / 127.0 : ratio / 1024.0;
    s_w = s_w > ratio / 16777216.0 ? s_w : ratio / 16777216.0;
    QuantStatus s = convert_row<QL>(p, r, s_w, in, out, nullptr);
    for (int doublings = 0; s == QuantStatus::accumulator_range && doublings < 16; ++doublings) {
      const QuantStatus coarser = convert_row<QL>(p, r, 2.0 * s_w, in, out, nullptr);
      if (coarser == QuantStatus::multiplier_range) break;  // the bias stays the cause: report it
      s_w *= 2.0;
      s = coarser;
    }
    if (s != QuantStatus::ok) return s;
    if (dst) convert_row<QL>(p, r, s_w, in, out, dst);
  }
  return QuantStatus::ok;
}

// The mono3x3 form of one Conv2D (kernels/int8.hpp): weights
// w = W s_in / s_out 2^15 as int16, start value
// bias / s_out 2^15 + zp_out 2^15 + 2^14 - zp_in sum w. Writes to dst unless
// null; weight_range if a weight does not fit 16 bits, accumulator_range
// unless |start| + 128 sum |w| < 2^31.
template <class QL>
QuantStatus convert_mono3x3(const float* p, const TensorQuant& in, const TensorQuant& out,
                            std::uint32_t* dst) noexcept {
  namespace m3 = kernels::int8::mono3x3;
  constexpr double one = 32768.0;  // 2^shift
  constexpr std::int64_t limit = std::int64_t{1} << 31;
  const double scale = static_cast<double>(in.scale) / out.scale * one;
  for (std::size_t f = 0; f < QL::rows; ++f) {
    std::int32_t w[3][3];
    std::int64_t sum_q = 0, sum_abs = 0;
    for (std::size_t ky = 0; ky < 3; ++ky)
      for (std::size_t kx = 0; kx < 3; ++kx) {
        std::int64_t v = 0;
        if (!round_in(static_cast<double>(QL::kernel_weight(p, f, ky, kx)) * scale, -m3::max_weight, m3::max_weight, v))
          return QuantStatus::weight_range;
        w[ky][kx] = static_cast<std::int32_t>(v);
        sum_q += v;
        sum_abs += abs_i(v);
      }
    std::int64_t b = 0;
    if (!round_in(static_cast<double>(QL::bias(p, f)) / out.scale * one, -limit, limit, b))
      return QuantStatus::accumulator_range;
    const std::int64_t start = b + static_cast<std::int64_t>(out.zero_point) * 32768 + 16384 -
                               static_cast<std::int64_t>(in.zero_point) * sum_q;
    if (abs_i(start) + 128 * sum_abs >= limit) return QuantStatus::accumulator_range;
    if (dst) m3::store(dst + f * m3::words_per_channel, static_cast<std::int32_t>(start), w);
  }
  return QuantStatus::ok;
}

// The table of an element-wise activation: the entry at the byte of input q
// (q & 255) holds the output for q. Finite by construction (scale_ok bounds
// every dequantised input), and TensorQuant::quantize clamps before its cast.
template <class QL>
void fill_lookup(const TensorQuant& in, const TensorQuant& out, std::uint32_t* dst) noexcept {
  unsigned char table[256];
  for (int q = -128; q < 128; ++q)
    table[q & 255] = static_cast<unsigned char>(out.quantize(QL::function::f(in.dequantize(static_cast<std::int8_t>(q)))));
  for (std::size_t w = 0; w < 64; ++w)
    dst[w] = static_cast<std::uint32_t>(table[4 * w]) | static_cast<std::uint32_t>(table[4 * w + 1]) << 8 |
             static_cast<std::uint32_t>(table[4 * w + 2]) << 16 | static_cast<std::uint32_t>(table[4 * w + 3]) << 24;
}

// Converts every layer into dst, or only checks that it can with dst null
// (the first error stops it).
template <class Net, std::size_t... I>
QuantStatus convert_all(const float* params, const TensorQuant* tq, std::uint32_t* dst,
                        std::index_sequence<I...>) noexcept {
  QuantStatus s = QuantStatus::ok;
  (
      [&] {
        using QL = typename Int8Network<Net>::template layer<I>;
        if (s != QuantStatus::ok) return;
        if constexpr (is_lookup<QL>) {
          if (dst) fill_lookup<QL>(tq[I], tq[I + 1], dst + Int8Network<Net>::plan.param_off[I]);
        }
        if constexpr (QL::weighted) {
          const float* p = params + Net::plan.param_off[I];
          std::uint32_t* d = dst ? dst + Int8Network<Net>::plan.param_off[I] : nullptr;
          if constexpr (QL::mono3x3) {
            s = convert_mono3x3<QL>(p, tq[I], tq[I + 1], d);
          } else {
            s = convert_rows<QL>(p, tq[I], tq[I + 1], d);
          }
        }
      }(),
      ...);
  return s;
}

// The output scale of a mono3x3 layer, coarsened if needed so that its
// largest weight fits 16 bits (max |W| s_in / s_out 2^15 <= 32767; only a
// layer whose output range is far below one weight times the input range
// needs it). The zero point stays: the range grows around 0.
template <class QL>
QuantStatus fit_mono3x3_output(const float* p, const TensorQuant& in, TensorQuant& out) noexcept {
  double max_abs = 0.0;
  for (std::size_t f = 0; f < QL::rows; ++f)
    for (std::size_t ky = 0; ky < 3; ++ky)
      for (std::size_t kx = 0; kx < 3; ++kx) {
        const double a = abs_d(static_cast<double>(QL::kernel_weight(p, f, ky, kx)));
        max_abs = a > max_abs ? a : max_abs;
      }
  const double needed = max_abs * in.scale * 32768.0 / 32767.0;
  if (!(out.scale < needed)) return QuantStatus::ok;
  if (!scale_ok(needed * 1.0001)) return QuantStatus::weight_range;
  out.scale = static_cast<float>(needed * 1.0001);
  return QuantStatus::ok;
}

template <class Net, class Cal, std::size_t... I>
QuantStatus tensor_quants(const Cal& cal, float percentile, const float* params, TensorQuant* tq,
                          std::index_sequence<I...>) noexcept {
  using Q = Int8Network<Net>;
  constexpr std::size_t n = Net::layer_count;
  [[maybe_unused]] constexpr bool relu[] = {is_relu<typename Q::template layer<I>>..., false};
  const auto from_tensor = [&](std::size_t t, TensorQuant& out) {
    const Range r = cal.range(t, percentile);
    return tensor_quant_from_range(r.lo, r.hi, out);
  };
  QuantStatus s = from_tensor(0, tq[0]);
  (
      [&] {
        using QL = typename Q::template layer<I>;
        if (s != QuantStatus::ok) return;
        if constexpr (QL::weighted) {
          // A ReLU right after is fused: this output takes the post-ReLU range,
          // unless that is all zero (dead units): then the pre-ReLU one, whose
          // scale follows the layer's (a fixed one could make the next
          // layer's multiplier overflow), zero point 127 for ReLU to clamp.
          const bool fused = I + 1 < n && relu[I + 1];
          s = from_tensor(fused && cal.range(I + 2, percentile).hi > 0.0f ? I + 2 : I + 1, tq[I + 1]);
          if constexpr (QL::mono3x3)
            if (s == QuantStatus::ok) s = fit_mono3x3_output<QL>(params + Net::plan.param_off[I], tq[I], tq[I + 1]);
        } else if constexpr (is_lookup<QL>) {
          s = from_tensor(I + 1, tq[I + 1]);
        } else {
          tq[I + 1] = tq[I];  // ReLU, MaxPool2D and Flatten keep their input's quantisation
        }
      }(),
      ...);
  return s;
}

}  // namespace detail

// Converts net into q with the ranges in cal. On any error q is unchanged:
// everything is checked (into locals) before the first write to q.
template <class Net, std::size_t Kept>
QuantStatus quantize(const Net& net, const Calibrator<Net, Kept>& cal, Int8Network<Net>& q,
                     QuantOptions options = {}) noexcept {
  if (!(options.percentile > 0.0f && options.percentile <= 100.0f)) return QuantStatus::invalid_option;
  if (cal.samples() == 0) return QuantStatus::no_samples;
  const float* params = net.parameters().data();
  if (!all_finite(params, Net::param_count)) return QuantStatus::non_finite_parameters;
  using seq = std::make_index_sequence<Net::layer_count>;
  TensorQuant tq[Net::layer_count + 1];
  QuantStatus s = detail::tensor_quants<Net>(cal, options.percentile, params, tq, seq{});
  if (s == QuantStatus::ok) s = detail::convert_all<Net>(params, tq, nullptr, seq{});
  if (s != QuantStatus::ok) return s;
  detail::convert_all<Net>(params, tq, Access::params(q), seq{});
  for (std::size_t t = 0; t < Net::layer_count + 1; ++t) Access::tensors(q)[t] = tq[t];
  Access::set_ready(q);
  return QuantStatus::ok;
}

}  // namespace tinyadapt::quant
