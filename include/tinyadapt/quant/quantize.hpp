// Post-training int8 quantisation of a trained float Sequential.
//
// 1. Calibrate: run the float network on ~100-200 representative samples
//    (training data) and record the range of every activation tensor.
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
// Errors come back as QuantStatus; nothing is changed when one is returned (a
// NaN sample leaves the ranges as they were, a failed quantize() leaves the
// Int8Network as it was). No heap, no exceptions.
#pragma once
#include <cstddef>
#include <cstdint>
#include <utility>

#include "../core/finite.hpp"
#include "int8_network.hpp"

namespace tinyadapt::quant {

enum class QuantStatus : unsigned char {
  ok = 0,
  non_finite_sample,      // NaN/Inf in a calibration sample or in the activations it produced
  no_samples,             // quantize() before any calibration sample was observed
  non_finite_parameters,  // NaN/Inf in the float network's parameters
  accumulator_range,      // a row could overflow the kernels' accumulator (packed
                          // groups: |start value| + 128 * sum |w_q| >= 2^23;
                          // mono3x3: the same bound in 16-bit weights >= 2^31)
};

constexpr const char* to_string(QuantStatus s) noexcept {
  switch (s) {
    case QuantStatus::ok: return "ok";
    case QuantStatus::non_finite_sample: return "non-finite calibration sample (ranges unchanged)";
    case QuantStatus::no_samples: return "no calibration sample observed";
    case QuantStatus::non_finite_parameters: return "non-finite network parameters";
    case QuantStatus::accumulator_range: return "a layer's accumulator could overflow (bias too large for its scales)";
  }
  return "unknown status";
}

// Records the range of every activation tensor of Net (tensor 0 is the input,
// tensor I + 1 the output of layer I) over the samples it observes. Holds two
// float buffers of the largest tensor: keep it static, or calibrate on a host.
template <class Net>
class Calibrator {
 public:
  static constexpr std::size_t tensor_count = Net::layer_count + 1;

  // Runs the float network on x and widens the ranges. A sample with NaN/Inf,
  // or one whose activations overflow, is rejected and changes nothing.
  QuantStatus observe(const Net& net, const float* x) noexcept {
    if (!all_finite(x, Net::input_size)) return QuantStatus::non_finite_sample;
    float lo[tensor_count], hi[tensor_count];
    min_max(x, Net::input_size, lo[0], hi[0]);
    if (!run_from<0>(net.parameters().data(), x, lo, hi)) return QuantStatus::non_finite_sample;
    for (std::size_t t = 0; t < tensor_count; ++t) {
      if (samples_ == 0 || lo[t] < lo_[t]) lo_[t] = lo[t];
      if (samples_ == 0 || hi[t] > hi_[t]) hi_[t] = hi[t];
    }
    ++samples_;
    return QuantStatus::ok;
  }

  std::size_t samples() const noexcept { return samples_; }
  float range_min(std::size_t t) const noexcept { return lo_[t]; }
  float range_max(std::size_t t) const noexcept { return hi_[t]; }
  void reset() noexcept { samples_ = 0; }

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

  float lo_[tensor_count] = {}, hi_[tensor_count] = {};
  std::size_t samples_ = 0;
  alignas(8) float buf_[2][buffer_floats] = {};
  alignas(8) unsigned char state_[state_size] = {};
};

// Activation quantisation from a range: [lo, hi] widened to contain 0, 255
// steps, zero point where 0 lands (-128 when lo = 0).
inline TensorQuant tensor_quant_from_range(float lo, float hi) noexcept {
  lo = lo < 0.0f ? lo : 0.0f;
  hi = hi > 0.0f ? hi : 0.0f;
  float range = hi - lo;
  if (!(range > 1e-30f)) range = 1.0f;  // an all-zero tensor: any scale works
  TensorQuant t;
  t.scale = range / 255.0f;
  const float z = -128.0f - lo / t.scale;
  const float zc = z < -128.0f ? -128.0f : (z > 127.0f ? 127.0f : z);
  t.zero_point = static_cast<std::int32_t>(zc >= 0.0f ? zc + 0.5f : zc - 0.5f);
  return t;
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

inline std::int64_t round_to_int(double v) noexcept {
  return v >= 0.0 ? static_cast<std::int64_t>(v + 0.5) : -static_cast<std::int64_t>(0.5 - v);
}
inline double abs_d(double v) noexcept { return v < 0.0 ? -v : v; }

// One row quantised with weight scale s_w: start value K, multiplier, and
// whether |K| + 128 sum |w_q| stays below 2^23 (the kernels' accumulator
// holds 256 times that) and the multiplier below 2^31. Writes the packed row
// to dst unless null.
template <class QL>
bool convert_row(const float* p, std::size_t r, double s_w, const TensorQuant& in, const TensorQuant& out,
                 std::uint32_t* dst) noexcept {
  using P = typename QL::packing;
  constexpr double two24 = 16777216.0;
  const double s_in = in.scale, s_out = out.scale;
  double m = s_in * s_w / s_out * two24;
  if (m > 2147483647.0) return false;  // the output scale cannot follow
  m = m < 1.0 ? 1.0 : m;
  const std::int64_t mult = round_to_int(m);
  const double r_eff = static_cast<double>(mult) / two24;

  std::int64_t sum_q = 0, sum_abs = 0, sum_even = 0;
  for (std::size_t g = 0; g < P::groups; ++g) {
    int q[4];
    for (std::size_t k = 0; k < 4; ++k) {
      const std::int64_t v = round_to_int(static_cast<double>(QL::weight(p, r, 4 * g + k)) / s_w);
      q[k] = static_cast<int>(v < -127 ? -127 : (v > 127 ? 127 : v));
      sum_q += q[k];
      sum_abs += q[k] < 0 ? -q[k] : q[k];
    }
    sum_even += q[0] + q[2];
    if (dst) dst[P::weight_word(r, g)] = kernels::int8::encode_group(q[0], q[1], q[2], q[3]);
  }
  const std::int64_t k = round_to_int(static_cast<double>(QL::bias(p, r)) / (s_in * s_w) +
                                      static_cast<double>(out.zero_point) / r_eff) -
                         static_cast<std::int64_t>(in.zero_point) * sum_q;
  if ((k < 0 ? -k : k) + 128 * sum_abs >= (std::int64_t{1} << 23)) return false;
  if (dst) {
    const std::int64_t init = 256 * k - 127 * sum_even;
    dst[P::init_word(r)] = static_cast<std::uint32_t>(static_cast<std::int32_t>(init));
    dst[P::mult_word(r)] = static_cast<std::uint32_t>(mult);
  }
  return true;
}

// Quantises the rows of one Dense/Conv2D layer; writes the packed form to dst
// unless dst is null (checking pass). A row whose bias is large against its
// weights (the start value grows as bias / s_w) gets a coarser weight scale,
// doubled until the accumulator bound holds; false if none up to 2^16 times
// max |w| / 127 does.
template <class QL>
bool convert_rows(const float* p, const TensorQuant& in, const TensorQuant& out, std::uint32_t* dst) noexcept {
  for (std::size_t r = 0; r < QL::rows; ++r) {
    double max_abs = 0.0;
    for (std::size_t t = 0; t < QL::taps; ++t) {
      const double a = abs_d(static_cast<double>(QL::weight(p, r, t)));
      max_abs = a > max_abs ? a : max_abs;
    }
    // Weight scale: max |w| / 127; an all-zero row gets any scale (here one
    // giving the multiplier 2^-10).
    double s_w = max_abs > 0.0 ? max_abs / 127.0 : static_cast<double>(out.scale) / in.scale / 1024.0;
    int doublings = 0;
    while (!convert_row<QL>(p, r, s_w, in, out, nullptr)) {
      if (++doublings > 16) return false;
      s_w *= 2.0;
    }
    if (dst) convert_row<QL>(p, r, s_w, in, out, dst);
  }
  return true;
}

// The mono3x3 form of one Conv2D (kernels/int8.hpp): weights
// w = W s_in / s_out 2^15 as int16, start value
// bias / s_out 2^15 + zp_out 2^15 + 2^14 - zp_in sum w. Writes to dst unless
// null; false if a weight or the accumulator bound is out of range.
template <class QL>
bool convert_mono3x3(const float* p, const TensorQuant& in, const TensorQuant& out, std::uint32_t* dst) noexcept {
  namespace m3 = kernels::int8::mono3x3;
  constexpr double one = 32768.0;  // 2^shift
  const double scale = static_cast<double>(in.scale) / out.scale * one;
  for (std::size_t f = 0; f < QL::rows; ++f) {
    std::int32_t w[3][3];
    std::int64_t sum_q = 0, sum_abs = 0;
    for (std::size_t ky = 0; ky < 3; ++ky)
      for (std::size_t kx = 0; kx < 3; ++kx) {
        const std::int64_t v = round_to_int(static_cast<double>(QL::kernel_weight(p, f, ky, kx)) * scale);
        if (v > m3::max_weight || v < -m3::max_weight) return false;
        w[ky][kx] = static_cast<std::int32_t>(v);
        sum_q += v;
        sum_abs += v < 0 ? -v : v;
      }
    const std::int64_t start = round_to_int(static_cast<double>(QL::bias(p, f)) / out.scale * one) +
                               static_cast<std::int64_t>(out.zero_point) * 32768 + 16384 -
                               static_cast<std::int64_t>(in.zero_point) * sum_q;
    if ((start < 0 ? -start : start) + 128 * sum_abs >= (std::int64_t{1} << 31)) return false;
    if (dst) m3::store(dst + f * m3::words_per_channel, static_cast<std::int32_t>(start), w);
  }
  return true;
}

// The table of an element-wise activation: the entry at the byte of input q
// (q & 255) holds the output for q.
template <class QL>
void fill_lookup(const TensorQuant& in, const TensorQuant& out, std::uint32_t* dst) noexcept {
  unsigned char table[256];
  for (int q = -128; q < 128; ++q)
    table[q & 255] = static_cast<unsigned char>(out.quantize(QL::function::f(in.dequantize(static_cast<std::int8_t>(q)))));
  for (std::size_t w = 0; w < 64; ++w)
    dst[w] = static_cast<std::uint32_t>(table[4 * w]) | static_cast<std::uint32_t>(table[4 * w + 1]) << 8 |
             static_cast<std::uint32_t>(table[4 * w + 2]) << 16 | static_cast<std::uint32_t>(table[4 * w + 3]) << 24;
}

template <class Net, std::size_t... I>
bool convert_all(const float* params, const TensorQuant* tq, std::uint32_t* dst, std::index_sequence<I...>) noexcept {
  bool ok = true;
  (
      [&] {
        using QL = typename Int8Network<Net>::template layer<I>;
        if constexpr (is_lookup<QL>) {
          if (dst) fill_lookup<QL>(tq[I], tq[I + 1], dst + Int8Network<Net>::plan.param_off[I]);
        }
        if constexpr (QL::weighted) {
          const float* p = params + Net::plan.param_off[I];
          std::uint32_t* d = dst ? dst + Int8Network<Net>::plan.param_off[I] : nullptr;
          if constexpr (QL::mono3x3) {
            if (ok) ok = convert_mono3x3<QL>(p, tq[I], tq[I + 1], d);
          } else {
            if (ok) ok = convert_rows<QL>(p, tq[I], tq[I + 1], d);
          }
        }
      }(),
      ...);
  return ok;
}

// The output quantisation of a mono3x3 layer, coarsened if needed so that
// its largest weight fits 16 bits (max |W| s_in / s_out 2^15 <= 32767; only
// a layer whose output range is far below one weight times the input range
// needs it).
template <class QL>
TensorQuant fit_mono3x3_output(const float* p, const TensorQuant& in, TensorQuant out, float lo, float hi) noexcept {
  double max_abs = 0.0;
  for (std::size_t f = 0; f < QL::rows; ++f)
    for (std::size_t ky = 0; ky < 3; ++ky)
      for (std::size_t kx = 0; kx < 3; ++kx) {
        const double a = abs_d(static_cast<double>(QL::kernel_weight(p, f, ky, kx)));
        max_abs = a > max_abs ? a : max_abs;
      }
  const double needed = max_abs * in.scale * 32768.0 / 32767.0;
  if (!(out.scale < needed)) return out;
  const float grow = static_cast<float>(needed / out.scale * 1.0001);
  return tensor_quant_from_range(lo * grow, hi * grow);
}

template <class Net, std::size_t... I>
void tensor_quants(const Calibrator<Net>& cal, const float* params, TensorQuant* tq,
                   std::index_sequence<I...>) noexcept {
  using Q = Int8Network<Net>;
  constexpr std::size_t n = Net::layer_count;
  [[maybe_unused]] constexpr bool relu[] = {is_relu<typename Q::template layer<I>>..., false};
  tq[0] = tensor_quant_from_range(cal.range_min(0), cal.range_max(0));
  (
      [&] {
        using QL = typename Q::template layer<I>;
        if constexpr (QL::weighted) {
          // A ReLU right after is fused: this output takes the post-ReLU range.
          const std::size_t t = I + 1 < n && relu[I + 1] ? I + 2 : I + 1;
          const float lo = cal.range_min(t), hi = cal.range_max(t);
          tq[I + 1] = tensor_quant_from_range(lo, hi);
          if constexpr (QL::mono3x3)
            tq[I + 1] = fit_mono3x3_output<QL>(params + Net::plan.param_off[I], tq[I], tq[I + 1], lo, hi);
        } else if constexpr (is_lookup<QL>) {
          tq[I + 1] = tensor_quant_from_range(cal.range_min(I + 1), cal.range_max(I + 1));
        } else {
          tq[I + 1] = tq[I];  // ReLU, MaxPool2D and Flatten keep their input's quantisation
        }
      }(),
      ...);
}

}  // namespace detail

// Converts net into q with the ranges in cal. On any error q is unchanged.
template <class Net>
QuantStatus quantize(const Net& net, const Calibrator<Net>& cal, Int8Network<Net>& q) noexcept {
  if (cal.samples() == 0) return QuantStatus::no_samples;
  const float* params = net.parameters().data();
  if (!all_finite(params, Net::param_count)) return QuantStatus::non_finite_parameters;
  using seq = std::make_index_sequence<Net::layer_count>;
  TensorQuant tq[Net::layer_count + 1];
  detail::tensor_quants(cal, params, tq, seq{});
  if (!detail::convert_all<Net>(params, tq, nullptr, seq{})) return QuantStatus::accumulator_range;
  detail::convert_all<Net>(params, tq, Access::params(q), seq{});
  for (std::size_t t = 0; t < Net::layer_count + 1; ++t) Access::tensors(q)[t] = tq[t];
  Access::set_ready(q);
  return QuantStatus::ok;
}

}  // namespace tinyadapt::quant
