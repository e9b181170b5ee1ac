// Errors that come from data are values, never exceptions.
//
// Every status but ok means nothing was written: parameters and optimizer
// state are bit-identical to before the call. Codes up to gradient_overflow
// blame the sample; non_finite_model and model_diverged blame the model
// (restore a last good copy, see nn/health.hpp); the rest blame the caller.
#pragma once

namespace tinyadapt {

enum class Status : unsigned char {
  ok = 0,
  // the sample
  non_finite_input,     // NaN or Inf in an input sample
  non_finite_target,    // NaN or Inf in a regression/BCE target
  bad_label,            // class label outside the output range
  out_of_domain,        // a value outside what the loss accepts (BCE: not a probability)
  input_out_of_range,   // the sample is outside the declared InputRange
  non_finite_output,    // the network's output overflowed on this input
  non_finite_loss,      // the loss overflowed: nothing was updated
  non_finite_gradient,  // a gradient overflowed or its update could not be proven finite
  // the model
  non_finite_model,     // the parameters hold NaN or Inf
  model_diverged,       // parameters finite, but huge (> 2^50) or a probe input gives a non-finite output
  not_initialised,      // the network was never initialised (init(), or parameters() written)
  // the caller
  bad_hyperparameter,   // learning rate, momentum, betas, eps, decay or clip norm out of range
  empty_batch,          // an optimizer step (or a server round) was asked with nothing accumulated
  size_mismatch,        // a buffer whose size does not match the network's
  // meta-learning: a device's update
  non_finite_update,    // weights or delta with NaN/Inf, or too large to add: excluded, θ unchanged
  // model size adaption
  capacity_exceeded,    // growing a layer beyond its maximum width: the network unchanged
};

constexpr const char* to_string(Status s) noexcept {
  switch (s) {
    case Status::ok: return "ok";
    case Status::non_finite_input: return "non-finite value in input";
    case Status::non_finite_target: return "non-finite value in target";
    case Status::bad_label: return "class label out of range";
    case Status::out_of_domain: return "value outside the loss's domain (weights unchanged)";
    case Status::input_out_of_range: return "input outside the declared range (weights unchanged)";
    case Status::non_finite_output: return "non-finite network output (weights unchanged)";
    case Status::non_finite_loss: return "non-finite loss (weights unchanged)";
    case Status::non_finite_gradient: return "non-finite gradient (weights unchanged)";
    case Status::non_finite_model: return "the model's parameters are not finite: restore a good copy";
    case Status::model_diverged: return "the model diverged (non-finite output on a probe): restore a good copy";
    case Status::not_initialised: return "the network was never initialised";
    case Status::bad_hyperparameter: return "hyper-parameter out of range (weights unchanged)";
    case Status::empty_batch: return "nothing accumulated";
    case Status::size_mismatch: return "buffer size does not match the network";
    case Status::non_finite_update: return "update with non-finite or oversized values (excluded)";
    case Status::capacity_exceeded: return "beyond the layer's maximum width (network unchanged)";
  }
  return "unknown status";
}

// True when the model, not the sample, is why a step failed.
constexpr bool is_model_error(Status s) noexcept {
  return s == Status::non_finite_model || s == Status::model_diverged || s == Status::not_initialised;
}

}  // namespace tinyadapt
