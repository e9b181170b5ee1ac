// Errors of the int8 module (calibration, conversion, inference), returned as
// values. Every code but ok means nothing was changed: a refused sample
// leaves the calibrator's statistics as they were, a refused quantize() the
// Int8Network bit for bit, a refused forward() the outputs.
#pragma once

namespace tinyadapt::quant {

enum class QuantStatus : unsigned char {
  ok = 0,
  // calibration
  non_finite_sample,      // NaN/Inf in a calibration sample or in the activations it produced
  no_samples,             // quantize() before any calibration sample was observed
  // conversion: the float network or its ranges cannot be represented in int8
  non_finite_parameters,  // NaN/Inf in the float network's parameters (the model is broken)
  activation_range,       // a tensor's range needs a scale outside [FLT_MIN, FLT_MAX / 256]
  multiplier_range,       // a requantisation multiplier s_in s_w / s_out 2^24 would not fit 31 bits
  weight_range,           // a weight does not fit its integer form (mono3x3: 16 bits)
  accumulator_range,      // a row could overflow the kernels' accumulator, or its bias the
                          // int32 start value, at every weight scale tried
  invalid_option,         // QuantOptions out of range (percentile not in (0, 100])
  // inference
  not_quantized,          // forward before a successful quantize()
  non_finite_input,       // NaN/Inf in a float input: nothing ran
};

constexpr const char* to_string(QuantStatus s) noexcept {
  switch (s) {
    case QuantStatus::ok: return "ok";
    case QuantStatus::non_finite_sample: return "non-finite calibration sample (ranges unchanged)";
    case QuantStatus::no_samples: return "no calibration sample observed";
    case QuantStatus::non_finite_parameters: return "non-finite network parameters";
    case QuantStatus::activation_range: return "an activation range has no representable int8 scale";
    case QuantStatus::multiplier_range: return "a requantisation multiplier is out of range (output range too small)";
    case QuantStatus::weight_range: return "a weight does not fit its integer form";
    case QuantStatus::accumulator_range: return "a layer's accumulator could overflow (bias too large for its scales)";
    case QuantStatus::invalid_option: return "invalid quantisation option";
    case QuantStatus::not_quantized: return "int8 network not quantised yet";
    case QuantStatus::non_finite_input: return "non-finite value in input";
  }
  return "unknown status";
}

}  // namespace tinyadapt::quant
