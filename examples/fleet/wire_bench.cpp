// wire_bench: what the wire encodings cost and lose on real TinyReptile
// deltas (P1 sine, W1, one device round of k = 10 online SGD steps from θ),
// and how fast a host server takes messages in.
//
// For each encoding: bytes per message and the ratio to float32; the error
// of the decoded Δ (largest |error| relative to max |Δ|, and ‖error‖ / ‖Δ‖);
// host encode and decode time per message; and submit_update (decode into
// staging + meta::Server::add_delta) per message, as devices per second.
//
//   wire_bench [--quick] [--tasks N] [--csv FILE] [--plot FILE.png]
//
// --quick (the CTest) uses fewer tasks and repetitions and asserts: float32
// exact, fp16 and int8 within their stated bounds, int8 at least 3.5x smaller
// than float32, sparse keeps its share of entries.
#include <tinyadapt/io/decoder.hpp>
#include <tinyadapt/io/encoder.hpp>
#include <tinyadapt/io/model_message.hpp>
#include <tinyadapt/io/to_server.hpp>
#include <tinyadapt/tinyadapt.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../gnuplot.hpp"

namespace ta = tinyadapt;
namespace io = tinyadapt::io;

namespace {

using W1 = ta::Sequential<ta::Input<1>, ta::Dense<64>, ta::Tanh, ta::Dense<64>, ta::Tanh, ta::Dense<1>>;
constexpr std::size_t N = W1::param_count;
using Clock = std::chrono::steady_clock;

struct Codec {
  const char* name;
  io::Encoding encoding;
  float percent;  // sparse only
};
const Codec codecs[] = {{"float32", io::Encoding::float32, 0},  {"fp16", io::Encoding::fp16, 0},
                        {"int8", io::Encoding::int8_layer, 0},  {"sparse10", io::Encoding::sparse, 10},
                        {"sparse1", io::Encoding::sparse, 1}};

struct Row {
  std::size_t bytes = 0;
  double worst_rel = 0, l2_rel = 0;  // worst over tasks
  double encode_us = 1e30, decode_us = 1e30, submit_us = 1e30;  // best over repetitions
};

// Δ of one P1 device round (k = 10, SGD lr 0.02) from θ (the W1 init of seed 1).
void device_delta(std::uint64_t task, std::vector<float>& delta) {
  static W1 net;
  ta::Rng init(1);
  net.init(init);
  std::vector<float> theta(net.parameters().begin(), net.parameters().end());
  ta::Rng rng(1000 + task);
  const float amp = rng.uniform(0.1f, 5.0f), phase = rng.uniform(0.0f, 6.2831853f);
  ta::SGD<W1> opt(0.02f);
  float y = 0.0f;
  const auto r = ta::meta::device_round<ta::MSE>(net, opt, ta::Span<const float>(theta.data(), N), 10,
                                                 [&](std::size_t, float* x) {
                                                   x[0] = rng.uniform(-5.0f, 5.0f);
                                                   y = amp * std::sin(x[0] + phase);
                                                   return static_cast<const float*>(&y);
                                                 });
  if (!r.ok()) {
    std::fprintf(stderr, "wire_bench: device round failed: %s\n", ta::to_string(r.status));
    std::exit(1);
  }
  delta.resize(N);
  for (std::size_t i = 0; i < N; ++i) delta[i] = net.parameters()[i] - theta[i];
}

template <class F>
double best_us(int reps, F&& f) {
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = Clock::now();
    f();
    const double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
    best = us < best ? us : best;
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  bool quick = false;
  int tasks = 50, reps = 200;
  std::string csv = "wire_bench.csv", png;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") quick = true, tasks = 5, reps = 20;
    else if (a == "--tasks" && i + 1 < argc) tasks = std::atoi(argv[++i]);
    else if (a == "--csv" && i + 1 < argc) csv = argv[++i];
    else if (a == "--plot" && i + 1 < argc) png = argv[++i];
    else {
      std::fprintf(stderr, "usage: wire_bench [--quick] [--tasks N] [--csv FILE] [--plot FILE.png]\n");
      return 2;
    }
  }
  if (tasks < 1) tasks = 1;
  Row rows[sizeof codecs / sizeof codecs[0]];
  std::vector<float> delta, out(N);
  std::vector<unsigned char> msg(io::max_message_bytes<W1>());
  static W1 net;
  ta::Rng init(1);
  net.init(init);
  static ta::meta::Server<W1> server(net, ta::LinearDecayLR{0.1f, 0.0f, 1000000});
  static ta::meta::Parameters<W1> staging;
  int failures = 0;
  const auto t_start = Clock::now();
  for (int t = 0; t < tasks; ++t) {
    device_delta(static_cast<std::uint64_t>(t), delta);
    double norm = 0, max_abs = 0;
    for (float d : delta) norm += double{d} * d, max_abs = std::fmax(max_abs, std::fabs(d));
    for (std::size_t c = 0; c < sizeof codecs / sizeof codecs[0]; ++c) {
      io::MessageInfo info = io::info_for<W1>(io::PayloadKind::delta, codecs[c].encoding, server.round(), 1, 10);
      info.sparse_entries = io::sparse_entries_for(N, codecs[c].percent);
      std::size_t n = 0;
      const ta::Span<const float> d(delta.data(), N);
      if (io::encode_message(info, d, io::groups_of<W1>(), msg.data(), msg.size(), &n) != io::WireStatus::ok) {
        std::fprintf(stderr, "wire_bench: %s: encode failed\n", codecs[c].name);
        return 1;
      }
      const io::Expect expect = io::expect_for<W1>(io::update_kinds);
      if (io::decode_message(msg.data(), n, expect, ta::Span<float>(out.data(), N)) != io::WireStatus::ok) {
        std::fprintf(stderr, "wire_bench: %s: decode failed\n", codecs[c].name);
        return 1;
      }
      double err2 = 0, worst = 0;
      for (std::size_t i = 0; i < N; ++i) {
        const double e = std::fabs(double{out[i]} - delta[i]);
        err2 += e * e, worst = std::fmax(worst, e);
      }
      Row& r = rows[c];
      r.bytes = n;
      r.worst_rel = std::fmax(r.worst_rel, worst / max_abs);
      r.l2_rel = std::fmax(r.l2_rel, std::sqrt(err2 / norm));
      if (t == 0) {  // timings on the first task's Δ
        std::vector<unsigned char> scratch(msg.size());
        r.encode_us = best_us(reps, [&] {
          io::encode_message(info, d, io::groups_of<W1>(), scratch.data(), scratch.size());
        });
        r.decode_us = best_us(reps, [&] {
          io::StreamDecoder dec(expect, ta::Span<float>(out.data(), N));
          dec.feed(msg.data(), n);
          if (dec.finish() != io::WireStatus::ok) ++failures;
        });
        r.submit_us = best_us(reps, [&] {
          if (!io::submit_update(server, msg.data(), n, staging).ok()) ++failures;
        });
      }
    }
    const double s = std::chrono::duration<double>(Clock::now() - t_start).count();
    std::printf("progress: task %d/%d, %.1f s\n", t + 1, tasks, s);
  }
  std::printf("\nW1 (%zu parameters), Δ of P1 device rounds (k = 10, SGD lr 0.02), %d tasks\n", N, tasks);
  std::printf("%-9s %7s %6s %12s %10s %10s %10s %10s %12s\n", "encoding", "bytes", "ratio", "max|err|/max", "l2 rel",
              "enc us", "dec us", "submit us", "devices/s");
  std::FILE* f = std::fopen(csv.c_str(), "w");
  if (f != nullptr)
    std::fprintf(f, "encoding,bytes,ratio_to_float32,worst_abs_error_rel_max,l2_error_rel,encode_us,decode_us,submit_us\n");
  for (std::size_t c = 0; c < sizeof codecs / sizeof codecs[0]; ++c) {
    const Row& r = rows[c];
    const double ratio = static_cast<double>(rows[0].bytes) / static_cast<double>(r.bytes);
    std::printf("%-9s %7zu %6.2f %12.2e %10.2e %10.2f %10.2f %10.2f %12.0f\n", codecs[c].name, r.bytes, ratio,
                r.worst_rel, r.l2_rel, r.encode_us, r.decode_us, r.submit_us, 1e6 / r.submit_us);
    if (f != nullptr)
      std::fprintf(f, "%s,%zu,%.4f,%.4e,%.4e,%.3f,%.3f,%.3f\n", codecs[c].name, r.bytes, ratio, r.worst_rel, r.l2_rel,
                   r.encode_us, r.decode_us, r.submit_us);
  }
  if (f != nullptr) {
    std::fclose(f);
    std::printf("csv: %s\n", csv.c_str());
  }
  if (!png.empty()) {
    Plot figure(png + ".gnuplot", png, csv);
    if (std::FILE* g = figure.script())
      std::fprintf(g,
                   "set terminal pngcairo size 900,450 font \",11\"\nset output \"%s\"\nset datafile separator \",\"\n"
                   "set title \"W1 delta messages: bytes and error by encoding\"\nset style data histograms\n"
                   "set style fill solid 0.6\nset ylabel \"bytes\"\nset y2label \"l2 error / ||delta||\"\n"
                   "set logscale y2\nset y2tics\nset grid\n"
                   "plot \"%s\" using 2:xtic(1) title \"bytes\", \"\" using 0:5 axes x1y2 with linespoints lw 2 "
                   "title \"l2 error (right)\"\n",
                   png.c_str(), csv.c_str());
    if (!figure.run()) ++failures;
  }
  // What the wire format promises (README): checked on every run.
  const double s = 1.0 / 127.0;  // int8: |err| <= s (1/2 + 2^-16) of the layer's max |Δ| <= the model's
  if (rows[0].worst_rel != 0.0) ++failures, std::printf("FAIL: float32 is not exact\n");
  if (rows[1].worst_rel > 0x1p-11 + 1e-9 && rows[1].l2_rel > 0x1p-11) ++failures, std::printf("FAIL: fp16 bound\n");
  if (rows[2].worst_rel > s * (0.5 + 0x1p-16)) ++failures, std::printf("FAIL: int8 bound\n");
  if (static_cast<double>(rows[0].bytes) / static_cast<double>(rows[2].bytes) < 3.5)
    ++failures, std::printf("FAIL: int8 is not 3.5x smaller than float32\n");
  if (rows[3].bytes != io::message_header_bytes + 8 * io::sparse_entries_for(N, 10) + io::message_trailer_bytes)
    ++failures, std::printf("FAIL: sparse10 size\n");
  if (failures != 0) {
    std::printf("%d failures\n", failures);
    return 1;
  }
  std::printf("all checks passed%s\n", quick ? " (quick)" : "");
  return 0;
}
