// A device's update message into meta::Server: decoded into a staging
// buffer, and only a whole, valid φ or Δ of the server's model and current
// round is handed to add() / add_delta() with its sample count (which
// validates it once more: finite sum, bound). Any refusal leaves θ and the
// round's sum as they were; the staging buffer is scratch either way.
#pragma once
#include <cstddef>

#include "../core/status.hpp"
#include "../meta/parameters.hpp"
#include "../meta/server.hpp"
#include "decoder.hpp"
#include "model_message.hpp"

namespace tinyadapt {
namespace io {

struct SubmitResult {
  WireStatus wire = WireStatus::ok;  // the message's verdict
  Status server = Status::ok;        // the server's, when the message passed
  MessageHeader header;              // valid when the header passed
  constexpr bool ok() const noexcept { return wire == WireStatus::ok && server == Status::ok; }
};

template <class Net, class Schedule>
SubmitResult submit_update(meta::Server<Net, Schedule>& server, const unsigned char* msg, std::size_t size,
                           meta::Parameters<Net>& staging) noexcept {
  SubmitResult r;
  StreamDecoder d(expect_for<Net>(update_kinds, true, server.round()), staging.span());
  d.feed(msg, size);
  r.wire = d.finish();
  if (d.header_ready()) r.header = d.header();
  if (r.wire != WireStatus::ok) return r;
  r.server = r.header.kind == PayloadKind::phi ? server.add(staging.span(), r.header.samples)
                                               : server.add_delta(staging.span(), r.header.samples);
  return r;
}

}  // namespace io
}  // namespace tinyadapt
