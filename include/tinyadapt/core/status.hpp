// Errors that come from data are values, never exceptions.
#pragma once

namespace tinyadapt {

enum class Status : unsigned char {
  ok = 0,
  non_finite_input,   // NaN or Inf in an input sample
  non_finite_target,  // NaN or Inf in a regression/BCE target
  bad_label,          // class label outside the output range
  non_finite_loss,    // the loss overflowed: nothing was updated
  non_finite_gradient,// an accumulated gradient overflowed: nothing was updated
  empty_batch,        // an optimizer step was asked with no accumulated sample
};

constexpr const char* to_string(Status s) noexcept {
  switch (s) {
    case Status::ok: return "ok";
    case Status::non_finite_input: return "non-finite value in input";
    case Status::non_finite_target: return "non-finite value in target";
    case Status::bad_label: return "class label out of range";
    case Status::non_finite_loss: return "non-finite loss (weights unchanged)";
    case Status::non_finite_gradient: return "non-finite gradient (weights unchanged)";
    case Status::empty_batch: return "no sample accumulated";
  }
  return "unknown status";
}

}  // namespace tinyadapt
