#!/usr/bin/env bash
# The main demo: trains the W3 image network on Fashion-MNIST on the host,
# online and inside a 57 KB training budget, then trains the same network
# on an emulated Cortex-M4 (QEMU mps2-an386, 256 KB RAM) from data in flash,
# and plots both learning curves into a PNG (with Debian's gnuplot).
#
#   examples/demo.sh [--quick]
#
#   --quick   the test suite's mode: the host trains on 4,000 samples for one
#             epoch instead of 60,000 for three; the Cortex-M4 part is the same
#
# Installs what it lacks from Debian's packages first. Exits nonzero when
# any part did not run to its end (build, host training, device training,
# plot; without gnuplot the plot is skipped with a message).
#
# Environment: TINYADAPT_JOBS     parallel build jobs (default 2)
#              TINYADAPT_DEMO_DIR build and output directory (default build/demo)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

quick=0
case "${1:-}" in
  "") ;;
  --quick) quick=1 ;;
  *) echo "usage: examples/demo.sh [--quick]" >&2; exit 2 ;;
esac
[[ $# -le 1 ]] || { echo "usage: examples/demo.sh [--quick]" >&2; exit 2; }
jobs=${TINYADAPT_JOBS:-2}
out=${TINYADAPT_DEMO_DIR:-build/demo}
mkdir -p "$out"
out=$(cd "$out" && pwd)
started=$SECONDS

part="installing dependencies"
trap 'rc=$?; [[ $rc -eq 0 ]] || echo "examples/demo.sh: FAILED while $part (exit status $rc)" >&2' EXIT

# run_logged <log> <command...>: runs a build step quietly; shows its log on failure.
run_logged() {
  local log=$1
  shift
  if ! "$@" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "examples/demo.sh: see $log" >&2
    return 1
  fi
}

if [[ $quick -eq 1 ]]; then
  echo "== tinyadapt demo, quick mode: about a minute on 2 cores (most of it building)"
  host_args=(--quick)
else
  echo "== tinyadapt demo: about 2 minutes on 2 cores (building ~30 s, host training ~45 s," \
       "Cortex-M4 training under QEMU ~15 s)"
  host_args=()
fi
cmake/install-deps.sh --with-plot

part="building the host example"
echo
echo "== host: building train_fashion (Release) in $out/host"
run_logged "$out/host-build.log" cmake -S . -B "$out/host" -DCMAKE_BUILD_TYPE=Release \
  -DTINYADAPT_BUILD_TESTS=OFF -DTINYADAPT_BUILD_BENCHMARKS=OFF -DTINYADAPT_REQUIRE_DEPENDENCIES=ON
run_logged "$out/host-build.log" cmake --build "$out/host" --target train_fashion --parallel "$jobs"

part="training on the host"
if [[ $quick -eq 1 ]]; then
  echo "== host: W3 on Fashion-MNIST (4,000 samples, 1 epoch, online SGD)"
else
  echo "== host: W3 on Fashion-MNIST (60,000 samples, 3 epochs, online SGD)"
fi
host_start=$SECONDS
"$out/host/examples/train_fashion" "${host_args[@]}" --curve "$out/host-curve.txt" | tee "$out/host.log"
host_seconds=$((SECONDS - host_start))
host_result=$(sed -n 's/^epoch \([0-9]*\):.*test accuracy \(.*\)$/\2 after epoch \1/p' "$out/host.log" | tail -n 1)
[[ -n $host_result ]] || { echo "examples/demo.sh: the host run printed no test accuracy" >&2; exit 1; }

part="building the Cortex-M4 example"
echo
echo "== Cortex-M4: building fashion_m4 (Release, arm-none-eabi) in $out/m4"
run_logged "$out/m4-build.log" cmake -S . -B "$out/m4" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake -DTINYADAPT_BUILD_BENCHMARKS=OFF \
  -DTINYADAPT_REQUIRE_DEPENDENCIES=ON
run_logged "$out/m4-build.log" cmake --build "$out/m4" --target fashion_m4 --parallel "$jobs"

part="training on the Cortex-M4"
echo "== Cortex-M4 (QEMU mps2-an386): W3 trained on the device from 2,000 Fashion-MNIST images in flash"
m4_start=$SECONDS
# --no-tests=error: a filter that matches nothing is a failure, not a skip.
ctest --test-dir "$out/m4" -R '^fashion_m4$' --no-tests=error --output-on-failure --verbose |
  sed -u -n -e '/^[0-9]*: \(Test command:\|Working Directory:\|Test timeout \|Environment variables:\)/d' \
    -e 's/^[0-9][0-9]*: //p' | tee "$out/m4.log"
m4_seconds=$((SECONDS - m4_start))
m4_result=$(sed -n 's/^final test accuracy \(.*\)$/\1/p' "$out/m4.log")
[[ -n $m4_result ]] || { echo "examples/demo.sh: the Cortex-M4 run printed no test accuracy" >&2; exit 1; }

part="plotting the learning curves"
png="$out/learning_curve.png"
echo
if command -v gnuplot >/dev/null 2>&1; then
  # Device curve from its progress lines: samples seen and running loss.
  sed -n 's|^progress: epoch \([0-9]*\)/[0-9]*, \([0-9]*\)/\([0-9]*\) samples, .*running loss \([0-9.]*\),.*|\1 \2 \3 \4|p' \
    "$out/m4.log" | awk '{ print ($1 - 1) * $3 + $2, $4 }' >"$out/m4-curve.txt"
  [[ -s $out/m4-curve.txt ]] || { echo "examples/demo.sh: no progress lines from the Cortex-M4 run" >&2; exit 1; }
  rm -f "$png"
  gnuplot <<EOF
set terminal pngcairo size 900,540 font ",11"
set output "$png"
set title "W3 on Fashion-MNIST, online SGD (batch 1): running training loss"
set xlabel "training samples seen (log scale)"
set logscale x
set ylabel "cross-entropy loss"
set grid
set key top right
plot "$out/host-curve.txt" using 1:2 with lines lw 2 title "host (test accuracy $host_result)", \
     "$out/m4-curve.txt" using 1:2 with linespoints lw 2 pt 7 title "Cortex-M4 under QEMU (test accuracy $m4_result)"
EOF
  [[ -s $png ]] || { echo "examples/demo.sh: gnuplot wrote no $png" >&2; exit 1; }
  echo "== learning curves: $png"
else
  echo "== gnuplot not found (apt-get install gnuplot-nox): learning-curve plot skipped"
fi

part="finishing"
echo "== done in $((SECONDS - started)) s: host test accuracy $host_result (training ${host_seconds} s)," \
     "Cortex-M4 test accuracy $m4_result (${m4_seconds} s under QEMU)"
