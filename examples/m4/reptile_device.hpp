// The device side of a meta-learning round on the Cortex-M4 (MPS2 AN386
// under QEMU): θ arrives as a host file through semihosting, φ leaves the
// same way, both in the io::save_parameters format (32-byte header with the
// model signature and a checksum, then float32 little-endian).
//
// θ is streamed straight into the network's parameters (no receive buffer:
// a 17 KB copy of W1 would not fit the 24 KB budget), then checked exactly as
// io::load_parameters checks a blob: magic, version, dtype, signature, count,
// length, checksum, finiteness. A θ that fails any check is never trained
// on: the program stops with exit_theta_refused. φ is sent from the
// network's parameters, again without a copy.
//
// Command line (QEMU -append, read by the board runtime through
// SYS_GET_CMDLINE): <theta file> <phi file> <task seed> [k]
// Output: readable lines and one line for programs,
//   ROUND method=... k=... trained=... skipped=... loss=... ram_static=...
//   stack=... instr_receive=... instr_round=... instr_send=... instr_step=...
//   instr_fixed=... bytes_in=... bytes_out=...
// and exit status 0, or exit_over_budget when the RAM used (static + stack
// high water) exceeds the program's budget (φ is written all the same).
#pragma once
#include <stdint.h>

#include <cstring>

#include "board.hpp"
#include "report.hpp"
#include "reptile_sine_round.hpp"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the parameter format is little-endian, as is the M4");

namespace reptile_m4 {

struct Args {
  const char* theta = nullptr;
  const char* phi = nullptr;
  uint32_t seed = 0;
  uint32_t k = default_k;
};

inline bool parse_uint(const char* s, uint32_t& out) {
  if (s == nullptr || *s == '\0') return false;
  uint64_t v = 0;
  for (; *s != '\0'; ++s) {
    if (*s < '0' || *s > '9') return false;
    v = v * 10 + static_cast<uint32_t>(*s - '0');
    if (v > 0xFFFFFFFFu) return false;
  }
  out = static_cast<uint32_t>(v);
  return true;
}

// argv[1..3] (and argv[4] = k when with_k); false after printing the usage.
inline bool parse_args(int argc, char** argv, bool with_k, Args& a) {
  const int max_args = with_k ? 5 : 4;
  bool ok = argc >= 4 && argc <= max_args;
  if (ok) {
    a.theta = argv[1];
    a.phi = argv[2];
    ok = parse_uint(argv[3], a.seed);
    if (ok && argc == 5) ok = parse_uint(argv[4], a.k) && a.k >= 1 && a.k <= max_k;
  }
  if (!ok) {
    board::print("usage (QEMU -append \"...\"): <theta file> <phi file> <task seed>");
    board::print(with_k ? " [k, 1..100000, default 10]\n" : "\n");
    board::print("(the semihosting command line holds at most 160 characters, the ELF's path included)\n");
  }
  return ok;
}

// nullptr when θ is in net and passed every check, else why not.
inline const char* receive_theta(const char* name, W1& net, uint32_t& bytes_in) {
  namespace io = ta::io;
  bytes_in = 0;
  const int h = board::file_open(name, board::FileMode::read_binary);
  if (h < 0) return "cannot open the theta file";
  unsigned char header[io::parameter_header_bytes];
  const int32_t length = board::file_length(h);
  io::ParameterHeader hd;
  const char* why = nullptr;
  if (board::file_read(h, header, sizeof header) != sizeof header) {
    why = io::to_string(io::ParamStatus::truncated);
  } else if (const io::ParamStatus s = io::read_parameter_header(header, sizeof header, hd); s != io::ParamStatus::ok) {
    why = io::to_string(s);
  } else if (hd.dtype != io::DType::float32) {
    why = io::to_string(io::ParamStatus::wrong_dtype);
  } else if (hd.signature != io::model_signature<W1>()) {
    why = io::to_string(io::ParamStatus::signature_mismatch);
  } else if (hd.count != W1::param_count) {
    why = io::to_string(io::ParamStatus::count_mismatch);
  } else if (length != static_cast<int32_t>(io::parameter_bytes<W1>())) {
    why = length < static_cast<int32_t>(io::parameter_bytes<W1>()) ? io::to_string(io::ParamStatus::truncated)
                                                                   : "theta file longer than the parameters";
  } else {
    bytes_in = sizeof header;
    const ta::Span<float> p = net.parameters();
    constexpr uint32_t payload = 4 * W1::param_count;
    bytes_in += board::file_read(h, p.data(), payload);
    if (bytes_in != io::parameter_bytes<W1>()) {
      why = io::to_string(io::ParamStatus::truncated);
    } else if (io::detail::fnv1a32(reinterpret_cast<const unsigned char*>(p.data()), payload) != hd.checksum) {
      why = io::to_string(io::ParamStatus::checksum_mismatch);
    } else if (!ta::all_finite(p.data(), p.size())) {
      why = io::to_string(io::ParamStatus::non_finite_value);
    }
  }
  board::file_close(h);
  return why;
}

// Writes φ = net's parameters; false when the host did not take all bytes.
inline bool send_phi(const char* name, const W1& net, uint32_t& bytes_out) {
  namespace io = ta::io;
  bytes_out = 0;
  const ta::Span<const float> p = net.parameters();
  constexpr uint32_t payload = 4 * W1::param_count;
  const auto* bytes = reinterpret_cast<const unsigned char*>(p.data());
  unsigned char header[io::parameter_header_bytes] = {'T', 'A', 'P', 'R'};
  io::detail::put(header + 4, io::parameter_format_version, 2);
  io::detail::put(header + 6, io::parameter_header_bytes, 2);
  header[8] = static_cast<unsigned char>(io::DType::float32);
  io::detail::put(header + 12, W1::param_count, 4);
  io::detail::put(header + 16, io::model_signature<W1>(), 8);
  io::detail::put(header + 24, io::detail::fnv1a32(bytes, payload), 4);
  const int h = board::file_open(name, board::FileMode::write_binary);
  if (h < 0) return false;
  bytes_out = board::file_write(h, header, sizeof header);
  bytes_out += board::file_write(h, bytes, payload);
  return board::file_close(h) && bytes_out == io::parameter_bytes<W1>();
}

struct Figures {
  const char* method = "";
  uint32_t k = 0;
  ta::meta::RoundResult result;
  uint32_t instr_receive = 0, instr_round = 0, instr_send = 0, instr_step = 0;
  uint32_t instr_fixed = 0;  // the round's cost besides its k steps (0: not measured)
  uint32_t bytes_in = 0, bytes_out = 0;
};

inline void print_field(const char* key, uint32_t v) {
  board::print(" ");
  board::print(key);
  board::print("=");
  board::print_uint(v);
}

// The readable report and the ROUND line; call last (stack high water).
// False when the RAM used exceeds ram_budget.
inline bool print_figures(const Figures& f, uint32_t ram_budget) {
  const uint32_t stat = board::static_ram_bytes();
  const uint32_t stack = board::stack_high_water_bytes();
  board::print("round: ");
  board::print(f.method);
  board::print(", ");
  board::print_uint(f.result.trained);
  board::print(" samples trained, ");
  board::print_uint(f.result.skipped);
  board::print(" skipped, mean loss ");
  board::print_float(f.result.mean_loss, 4);
  board::print("\n");
  m4::print_line("instructions, receive + check theta: ", f.instr_receive, "");
  m4::print_line("instructions, round (theta -> phi):  ", f.instr_round, "");
  m4::print_line("instructions, send phi:              ", f.instr_send, "");
  m4::print_line("instructions, one SGD step of W1:    ", f.instr_step, "");
  if (f.instr_fixed != 0) {
    m4::print_line("instructions, the same round, k = 0: ", f.instr_fixed,
                   " (loading and checking theta, health of phi)");
    board::print("round / (k x one step):              ");
    board::print_float(static_cast<float>(f.instr_round) / (static_cast<float>(f.k) * static_cast<float>(f.instr_step)),
                       3);
    board::print("\n");
  }
  m4::print_line("bytes in (theta):  ", f.bytes_in);
  m4::print_line("bytes out (phi):   ", f.bytes_out);
  const bool ram_ok = m4::check_ram(ram_budget);
  board::print("ROUND method=");
  board::print(f.method);
  print_field("k", f.k);
  print_field("trained", f.result.trained);
  print_field("skipped", f.result.skipped);
  board::print(" loss=");
  board::print_float(f.result.mean_loss, 6);
  print_field("ram_static", stat);
  print_field("stack", stack);
  print_field("instr_receive", f.instr_receive);
  print_field("instr_round", f.instr_round);
  print_field("instr_send", f.instr_send);
  print_field("instr_step", f.instr_step);
  print_field("instr_fixed", f.instr_fixed);
  print_field("bytes_in", f.bytes_in);
  print_field("bytes_out", f.bytes_out);
  board::print("\n");
  return ram_ok;
}

// Instructions of one online SGD step of W1 (after 3 warm-up steps), measured
// in the program's own build; changes net, so run it after φ is sent.
template <class Opt>
uint32_t single_step_instructions(W1& net, Opt& sgd) {
  const float x = 0.3f, y = 0.7f;
  auto step = [&] { (void)ta::train_step<ta::MSE>(net, sgd, &x, &y); };
  for (int i = 0; i < 3; ++i) step();
  return board::count_instructions(step);
}

// The device program: receive θ, round(theta, args) → φ, send φ, report.
// round(theta, args) with args.k = 0 (when with_k) is the round's fixed cost.
// Returns the exit status.
template <class Round, class Opt>
int run_device(int argc, char** argv, const char* method, bool with_k, W1& net, Opt& sgd, uint32_t ram_budget,
               Round&& round) {
  Args a;
  if (!parse_args(argc, argv, with_k, a)) return exit_usage;
  if (!board::icount_active()) {
    board::print("instruction counts unavailable: QEMU is not running with -icount shift=8\n");
  }
  Figures f;
  f.method = method;
  f.k = a.k;
  const char* why = nullptr;
  f.instr_receive = board::count_instructions([&] { why = receive_theta(a.theta, net, f.bytes_in); });
  if (why != nullptr) {
    board::print("theta refused (");
    board::print(a.theta);
    board::print("): ");
    board::print(why);
    board::print("; nothing trained, no phi written\n");
    return exit_theta_refused;
  }
  const ta::Span<const float> theta = static_cast<const W1&>(net).parameters();
  f.instr_round = board::count_instructions([&] { f.result = round(theta, a); });
  if (!f.result.ok()) {
    board::print("round failed: ");
    board::print(ta::to_string(f.result.status));
    board::print("; no phi written\n");
    return exit_round_failed;
  }
  bool sent = false;
  f.instr_send = board::count_instructions([&] { sent = send_phi(a.phi, net, f.bytes_out); });
  if (!sent) {
    board::print("cannot write phi to ");
    board::print(a.phi);
    board::print("\n");
    return exit_send_failed;
  }
  f.instr_step = single_step_instructions(net, sgd);
  if (with_k) {
    Args none = a;
    none.k = 0;
    ta::meta::RoundResult unused;
    f.instr_fixed = board::count_instructions([&] { unused = round(theta, none); });
  }
  return print_figures(f, ram_budget) ? 0 : exit_over_budget;
}

}  // namespace reptile_m4
