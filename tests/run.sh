#!/usr/bin/env bash
# The full test run of tinyadapt, as CI runs it (.ci/run calls this script):
#
#   1. cmake/install-deps.sh      install missing Debian packages (with
#                                 python3-torch and gnuplot: every test runs)
#   2. build/host    g++ Release, warnings as errors          build + ctest
#   3. build/asan    g++ RelWithDebInfo, ASan + UBSan + float-cast-overflow   build + ctest
#   4. build/clang   clang++ Release, warnings as errors      build + ctest
#   5. build/aarch64 aarch64-linux-gnu cross build (NEON)     build + ctest (QEMU user mode):
#                    unit tests and the Raspberry Pi examples
#   6. build/m4      arm-none-eabi Cortex-M4 cross build      build + ctest (QEMU)
#   7. build/m4-debug  the Cortex-M4 examples in a Debug build (their stacks
#                    must fit without optimisation too)     build + ctest (QEMU)
#   8. build/demo-quick  examples/demo.sh --quick: both halves of the main
#                    demo (host and Cortex-M4) and its plot
#
# Every configure sets TINYADAPT_REQUIRE_DEPENDENCIES=ON: a part whose
# dependency is missing fails the run instead of being left out.
#
# Stops at the first failure with a nonzero exit status. A missing tool or
# file that a step needs is an error, never a silent skip. Build directories
# are reused between runs (incremental); delete build/ for a clean run.
#
# Environment: TINYADAPT_JOBS  parallel build and test jobs (default 2)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

if [[ $# -ne 0 ]]; then
  echo "usage: tests/run.sh   (no arguments; TINYADAPT_JOBS sets parallelism)" >&2
  exit 2
fi

jobs=${TINYADAPT_JOBS:-2}
if ! [[ $jobs =~ ^[1-9][0-9]*$ ]]; then
  echo "tests/run.sh: TINYADAPT_JOBS must be a positive integer, got '$jobs'" >&2
  exit 2
fi
export TINYADAPT_JOBS=$jobs

step="start"
started=$SECONDS
step_started=$SECONDS
finish() {
  local rc=$?
  if [[ $rc -ne 0 ]]; then
    echo >&2
    echo "tests/run.sh: FAILED in step '$step' (exit status $rc)" >&2
  fi
}
trap finish EXIT

begin() {
  step=$1
  step_started=$SECONDS
  printf '\n===== %s\n' "$step"
}
done_step() {
  printf '===== %s: done in %ss\n' "$step" "$((SECONDS - step_started))"
}
die() {
  echo "tests/run.sh: $*" >&2
  exit 1
}

# configure_build_test <name> <cmake configure arguments...>
configure_build_test() {
  local name=$1
  shift
  local dir="build/$name"
  begin "$name: configure"
  cmake -S . -B "$dir" -DTINYADAPT_REQUIRE_DEPENDENCIES=ON "$@"
  done_step
  begin "$name: build"
  cmake --build "$dir" --parallel "$jobs"
  done_step
  begin "$name: test"
  ctest --test-dir "$dir" --output-on-failure -j "$jobs" --no-tests=error
  done_step
}

begin "dependencies"
cmake/install-deps.sh --with-python-torch --with-plot
for tool in cmake ctest git g++ clang++ aarch64-linux-gnu-g++ qemu-aarch64 arm-none-eabi-g++ qemu-system-arm; do
  command -v "$tool" >/dev/null 2>&1 ||
    die "'$tool' is not on PATH although cmake/install-deps.sh finished"
done
toolchain="$root/cmake/arm-none-eabi.cmake"
[[ -f $toolchain ]] || die "$toolchain is missing: the Cortex-M4 build cannot run"
toolchain_aarch64="$root/cmake/aarch64-linux-gnu.cmake"
[[ -f $toolchain_aarch64 ]] || die "$toolchain_aarch64 is missing: the AArch64 build cannot run"
done_step

configure_build_test host \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_COMPILER=g++ \
  -DTINYADAPT_WERROR=ON

sanitize="-fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all -fno-omit-frame-pointer"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
configure_build_test asan \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=g++ \
  "-DCMAKE_CXX_FLAGS=$sanitize" \
  "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined,float-cast-overflow" \
  "-DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=address,undefined,float-cast-overflow" \
  -DTINYADAPT_BUILD_BENCHMARKS=OFF -DTINYADAPT_BUILD_EXAMPLES=ON

configure_build_test clang \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_COMPILER=clang++ \
  -DTINYADAPT_WERROR=ON \
  -DTINYADAPT_BUILD_BENCHMARKS=OFF -DTINYADAPT_BUILD_EXAMPLES=ON

configure_build_test aarch64 \
  -DCMAKE_BUILD_TYPE=Release \
  "-DCMAKE_TOOLCHAIN_FILE=$toolchain_aarch64" \
  -DTINYADAPT_WERROR=ON -DTINYADAPT_BUILD_EXAMPLES=ON

configure_build_test m4 \
  -DCMAKE_BUILD_TYPE=Release \
  "-DCMAKE_TOOLCHAIN_FILE=$toolchain"

m4_examples=(sine_m4 digits_m4 fashion_m4)
begin "m4-debug: configure"
cmake -S . -B build/m4-debug -DTINYADAPT_REQUIRE_DEPENDENCIES=ON \
  -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_TOOLCHAIN_FILE=$toolchain" -DTINYADAPT_BUILD_BENCHMARKS=OFF
done_step
begin "m4-debug: build"
cmake --build build/m4-debug --parallel "$jobs" --target "${m4_examples[@]}"
done_step
begin "m4-debug: test"
ctest --test-dir build/m4-debug --output-on-failure -j "$jobs" --no-tests=error \
  -R "^($(IFS='|'; echo "${m4_examples[*]}"))\$"
done_step

begin "demo: examples/demo.sh --quick"
TINYADAPT_DEMO_DIR=build/demo-quick examples/demo.sh --quick
done_step

step="finished"
printf '\ntests/run.sh: all steps passed in %ss\n' "$((SECONDS - started))"
