// P1 (sine few-shot regression) in a federation: what a device of the fleet
// trains in a round, the same code in the device processes (fleet_device),
// in the server's in-process replay of the same rounds (fleet_server) and on
// the Cortex-M4 (fleet_device_m4), so that the broker-run federation can be
// compared with the in-process one bit for bit (host) or within the
// compilers' floating point (M4).
//
// Device d of a run has its own task for the whole run (amplitude and phase
// from the run seed and d: the fleet's data is heterogeneous, and fixed per
// device); in round r it streams k fresh samples of that task, x from a
// stream of its own (run seed, d, r), one online SGD step each (TinyReptile's
// device, examples/m4/reptile_sine_round.hpp). No heap: it builds for the M4.
#pragma once
#include <cstdint>
#include <cstring>

#include <tinyadapt/io/receive.hpp>
#include <tinyadapt/io/model_message.hpp>

#include "../m4/reptile_sine_round.hpp"

namespace fleet {

namespace ta = tinyadapt;
namespace rm = reptile_m4;
namespace io = tinyadapt::io;
using rm::W1;

// The task seed of device d (odd: P1's training tasks; test tasks are even).
inline std::uint32_t task_seed(std::uint32_t run_seed, std::uint32_t device) {
  ta::Rng r(run_seed, 0xf1ee7000ULL + 2ULL * device);
  return r.next_u32() | 1u;
}

// Device d's samples in round r: fresh x of its own task.
class RoundSamples {
 public:
  RoundSamples(std::uint32_t run_seed, std::uint32_t device, std::uint32_t round)
      : task_(task_seed(run_seed, device)),
        rng_(static_cast<std::uint64_t>(run_seed) << 32 | device, 0x5a3b1e5ULL + 2ULL * round) {}
  const float* next(float* x) {
    x[0] = rng_.uniform(-5.0f, 5.0f);
    y_ = task_.target(x[0]);
    return &y_;
  }
  auto sampler() {
    return [this](std::size_t, float* x) { return next(x); };
  }

 private:
  rm::SineTask task_;
  ta::Rng rng_;
  float y_ = 0.0f;
};

// Device d's round r from θ: φ in net after k online SGD steps.
template <class Opt>
ta::meta::RoundResult device_round(W1& net, Opt& sgd, ta::Span<const float> theta, std::uint32_t run_seed,
                                   std::uint32_t device, std::uint32_t round, std::uint32_t k) {
  RoundSamples samples(run_seed, device, round);
  return ta::meta::device_round<ta::MSE>(net, sgd, theta, k, samples.sampler());
}

// The server's θ messages carry this device id (no device has it).
inline constexpr std::uint32_t server_id = 0xFFFFFFFFu;

// An encoding by its name in io::to_string (float32, int8, sparse, fp16).
inline bool encoding_from(const char* name, io::Encoding& e) {
  for (const io::Encoding c :
       {io::Encoding::float32, io::Encoding::int8_layer, io::Encoding::sparse, io::Encoding::fp16})
    if (std::strcmp(name, io::to_string(c)) == 0) return e = c, true;
  return false;
}

// A device's update message after its round (φ in net): φ itself for
// float32, else Δ = φ − θ in that encoding (int8 per layer, fp16, or the
// top `percent` % entries, sparse), computed in delta (θ on entry). The
// server's in-process replay encodes with the same call, so both runs see
// the same bytes.
inline io::WireStatus encode_update(const W1& net, ta::Span<float> delta, io::Encoding e, float percent,
                                    std::uint32_t round, std::uint32_t device, std::uint32_t samples,
                                    unsigned char* out, std::size_t capacity, std::size_t* written) {
  if (e == io::Encoding::float32)
    return io::encode_message(io::info_for<W1>(io::PayloadKind::phi, e, round, device, samples), net.parameters(),
                              io::groups_of<W1>(), out, capacity, written);
  ta::meta::delta_in_place(net, delta);
  io::MessageInfo info = io::info_for<W1>(io::PayloadKind::delta, e, round, device, samples);
  if (e == io::Encoding::sparse) info.sparse_entries = io::sparse_entries_for(W1::param_count, percent);
  return io::encode_message(info, delta, io::groups_of<W1>(), out, capacity, written);
}

}  // namespace fleet
