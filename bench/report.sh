#!/usr/bin/env bash
# Builds the host benchmarks (build/bench, Release), runs them with five
# repetitions and prints a markdown table: per network, the median time of a
# training step and of an inference with tinyadapt and with libtorch, and the
# ratio libtorch / tinyadapt (how many times faster tinyadapt is).
#
#   bench/report.sh [extra bench_host arguments, e.g. --benchmark_min_time=2]
#
# Environment:
#   TINYADAPT_JOBS        parallel build jobs (default 2)
#   TINYADAPT_BENCH_TIME  cpu (default) or real (wall clock): the time compared.
#                         Everything runs on the calling thread (libtorch is set
#                         to one thread), so CPU time is the work done; unlike
#                         wall-clock time it leaves out time the process spent
#                         descheduled on a busy machine.
#
# The raw results stay in build/bench/bench_host.json.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
build=$root/build/bench
jobs=${TINYADAPT_JOBS:-2}
time_kind=${TINYADAPT_BENCH_TIME:-cpu}
case $time_kind in
  real | cpu) ;;
  *)
    echo "bench/report.sh: TINYADAPT_BENCH_TIME must be cpu or real, got '$time_kind'" >&2
    exit 2
    ;;
esac
python=/usr/bin/python3
if [[ ! -x $python ]]; then
  echo "bench/report.sh: $python not found (apt-get install python3)" >&2
  exit 1
fi

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DTINYADAPT_BUILD_TESTS=OFF -DTINYADAPT_BUILD_EXAMPLES=OFF -DTINYADAPT_BUILD_BENCHMARKS=ON \
  -DTINYADAPT_REQUIRE_DEPENDENCIES=ON
cmake --build "$build" --target bench_host -j "$jobs"

json=$build/bench_host.json
"$build/bench/bench_host" \
  --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
  --benchmark_out="$json" --benchmark_out_format=json "$@"

"$python" - "$json" "$time_kind" <<'EOF'
import json
import sys

path, kind = sys.argv[1], sys.argv[2]
with open(path) as f:
    doc = json.load(f)

scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}  # to microseconds
median = {}
reps = set()
for b in doc["benchmarks"]:
    if b.get("run_type") == "aggregate" and b.get("aggregate_name") == "median" and not b.get("error_occurred"):
        median[b["run_name"]] = b[kind + "_time"] * scale[b["time_unit"]]
        reps.add(b.get("repetitions"))

def fmt(us):
    return "n/a" if us is None else (f"{us:.3f} µs" if us < 10 else f"{us:.1f} µs")

def ratio(torch, ours):
    return "n/a" if torch is None or ours is None else f"{torch / ours:.1f}×"

nets = sorted({name.rsplit("/", 1)[1] for name in median})
ctx = doc["context"]
print()
print(f"Median of {'/'.join(str(r) for r in sorted(reps))} repetitions, "
      f"{'wall-clock' if kind == 'real' else 'CPU'} time per sample (batch 1); "
      f"{ctx.get('num_cpus')} × {ctx.get('mhz_per_cpu')} MHz, "
      f"libtorch {ctx.get('libtorch', '?')} with {ctx.get('libtorch_threads', '?')} thread(s), "
      f"tinyadapt {ctx.get('tinyadapt', '?')} ({ctx.get('tinyadapt_kernels', '?')} kernels).")
print()
print("| Network | Train step tinyadapt | Train step libtorch | Ratio | Inference tinyadapt | Inference libtorch | Ratio |")
print("|---|---:|---:|---:|---:|---:|---:|")
for net in nets:
    cells = []
    for what in ("BM_train_step", "BM_inference"):
        ours = median.get(f"{what}/tinyadapt/{net}")
        torch = median.get(f"{what}/libtorch/{net}")
        cells += [fmt(ours), fmt(torch), ratio(torch, ours)]
    print(f"| {net} | " + " | ".join(cells) + " |")
print()
print("Ratio = libtorch time / tinyadapt time.")
EOF
