// A device's update message into a RobustRound: decoded straight into the
// round's staging slot (no copy), and committed only when the whole message
// passed every wire check (io/decoder.hpp) for this model and round; then the
// round checks it once more (finite, within 2^40, not a second update of its
// device) and clips it. A refused message leaves the round bit-identical.
// The robust counterpart of io::submit_update (io/to_server.hpp).
#pragma once
#include <cstddef>
#include <cstdint>

#include "../io/decoder.hpp"
#include "../io/model_message.hpp"
#include "robust.hpp"

namespace tinyadapt::meta {

struct RobustSubmit {
  io::WireStatus wire = io::WireStatus::ok;  // the message's verdict
  Admitted round;                            // the round's, when the message passed
  io::MessageHeader header;                  // valid when the header passed
  float norm = 0.0f;                         // |Δ| before clipping, when the round took it (AdaptiveClip::observe)
  constexpr bool ok() const noexcept { return wire == io::WireStatus::ok && round.ok(); }
};

// theta: the θ of the round (for φ messages: Δ = φ − θ).
template <class Net, std::size_t MaxDevices>
RobustSubmit submit_update(RobustRound<Net, MaxDevices>& round, std::uint32_t round_id, Span<const float> theta,
                           const unsigned char* msg, std::size_t size) noexcept {
  RobustSubmit r;
  io::StreamDecoder d(io::expect_for<Net>(io::update_kinds, true, round_id), round.staging());
  d.feed(msg, size);
  r.wire = d.finish();
  if (d.header_ready()) r.header = d.header();
  if (r.wire != io::WireStatus::ok) return r;
  r.round = round.commit(r.header.device, r.header.kind == io::PayloadKind::phi ? theta : Span<const float>{}, &r.norm);
  return r;
}

}  // namespace tinyadapt::meta
