#!/usr/bin/env bash
# Memory and cost table of the Cortex-M4 examples (examples/m4).
#
#   bench/m4_memory.sh [build-dir]      (default: build/m4-memory in the repository)
#
# Configures a Release cross build (cmake/arm-none-eabi.cmake) in build-dir
# when it has none; an existing build-dir must be a Release cross build (the
# counts of any other build type are not the documented ones), else the
# script stops. Builds the examples and prints a markdown table per example
# ELF:
#   - from the link: code and .rodata in flash, .data, .bss, the reserved
#     thread + handler stacks (arm-none-eabi-size -A; the linker script puts
#     .rodata inside the .text output section, so its size is summed from
#     the input sections listed in the map file);
#   - from running the example under QEMU (through CTest, i.e. with
#     CMAKE_CROSSCOMPILING_EMULATOR from the toolchain file): stack high
#     water, static RAM + high water, executed instructions per training
#     step and per inference (and per MAC), the example's result, run time.
#
# Exit status: 0 when every example was built and its test passed, 1 when
# one was missing or failed (the table still shows all of them), 2 for a
# wrong build directory.
#
# Environment: TINYADAPT_M4_EXAMPLES  space-separated example names (default
# "sine_m4 digits_m4 fashion_m4"); TINYADAPT_JOBS build jobs (default 2);
# TINYADAPT_M4_NO_BUILD=1 uses the ELFs as they are (built by another step).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$repo/build/m4-memory}
read -r -a examples <<<"${TINYADAPT_M4_EXAMPLES:-sine_m4 digits_m4 fashion_m4}"
size_tool=${ARM_SIZE:-arm-none-eabi-size}
jobs=${TINYADAPT_JOBS:-2}

if [[ ! -f $build/CMakeCache.txt ]]; then
  echo "m4_memory.sh: configuring a Release cross build in $build" >&2
  cmake -S "$repo" -B "$build" -DCMAKE_TOOLCHAIN_FILE="$repo/cmake/arm-none-eabi.cmake" \
    -DCMAKE_BUILD_TYPE=Release -DTINYADAPT_BUILD_BENCHMARKS=OFF \
    -DTINYADAPT_REQUIRE_DEPENDENCIES=ON >/dev/null
fi
cache_value() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt" | head -n 1; }
build_type=$(cache_value CMAKE_BUILD_TYPE)
toolchain=$(cache_value CMAKE_TOOLCHAIN_FILE)
if [[ $build_type != Release || $toolchain != *arm-none-eabi.cmake ]]; then
  echo "m4_memory.sh: $build is not a Release Cortex-M4 build (CMAKE_BUILD_TYPE='$build_type'," \
       "CMAKE_TOOLCHAIN_FILE='$toolchain'); use an empty directory or one configured with" \
       "-DCMAKE_BUILD_TYPE=Release -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake" >&2
  exit 2
fi
if [[ ${TINYADAPT_M4_NO_BUILD:-0} != 1 ]]; then
  cmake --build "$build" -j"$jobs" --target "${examples[@]}" >/dev/null
fi

# Bytes of .rodata linked into the .text output section: the input sections
# (and fill) between the *(.rodata ...) pattern and *(.init) in the map file.
# Lines with two hex fields in a row carry "address size".
rodata_bytes() {
  awk '
    function hex(s,   v, i) {  # portable (mawk has no strtonum)
      v = 0
      for (i = 3; i <= length(s); ++i) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
      return v
    }
    /^ \*\(\.rodata / { inside = 1; next }
    /^ \*\(\.init\)/  { inside = 0 }
    inside {
      for (i = 1; i < NF; ++i)
        if ($i ~ /^0x[0-9a-f]+$/ && $(i + 1) ~ /^0x[0-9a-f]+$/) { total += hex($(i + 1)); break }
    }
    END { print total + 0 }' "$1"
}

# Size of one section from `size -A` (0 if absent).
section() { awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) print 0 }' "$1"; }

# The number after a printed label, e.g. "stack high water:   3404 B".
field() { sed -n "s/^$2 *\([0-9][0-9]*\).*/\1/p" "$1" | head -n 1; }
per_mac() { sed -n "s/^$2.*, \([0-9.]*\) instructions\/MAC.*/\1/p" "$1" | head -n 1; }

kb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1024 }'; }

failed=()
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

printf '| example | code (flash) | .rodata (flash) | .data | .bss | stack reserved (thread + handler) | RAM reserved by the link | stack high water | RAM used (static + high water) | instructions / training step | per MAC | instructions / inference | per MAC | result | QEMU run |\n'
printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|\n'
for ex in "${examples[@]}"; do
  elf=$(find "$build" -name "$ex.elf" -print -quit)
  map=${elf%.elf}.map
  if [[ -z $elf || ! -f $map ]]; then
    printf '| %s | not built |||||||||||||||\n' "$ex"
    failed+=("$ex (not built)")
    continue
  fi
  "$size_tool" -A "$elf" >"$tmp/size"
  text=$(section "$tmp/size" .text)
  rodata=$(rodata_bytes "$map")
  code=$((text - rodata + $(section "$tmp/size" .ARM.exidx)))
  data=$(section "$tmp/size" .data)
  bss=$(section "$tmp/size" .bss)
  stack=$(section "$tmp/size" .stack)
  handler=$(section "$tmp/size" .handler_stack)
  reserved=$((data + bss + stack + handler))

  # Run the example as its CTest test: same emulator command line, same timeout.
  start=$(date +%s.%N)
  if ctest --test-dir "$build" -R "^$ex\$" -V >"$tmp/ctest" 2>&1; then status=ok; else status=FAILED; fi
  seconds=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  sed -n 's/^[0-9][0-9]*: //p' "$tmp/ctest" >"$tmp/out"

  high=$(field "$tmp/out" "stack high water:")
  used=$(field "$tmp/out" "RAM used (static+stack):")
  step=$(field "$tmp/out" "instructions per training step:")
  infer=$(field "$tmp/out" "instructions per inference:")
  step_mac=$(per_mac "$tmp/out" "instructions per training step:")
  infer_mac=$(per_mac "$tmp/out" "instructions per inference:")
  result=$(sed -n -e 's/^final test accuracy \(.*\)/accuracy \1/p' \
                  -e 's/^final\/initial MSE \([0-9.]*\).*/final\/initial MSE \1/p' "$tmp/out" | head -n 1)
  if [[ $status != ok ]]; then
    result="${result:+$result, }**test failed**"
    failed+=("$ex")
  fi

  printf '| %s | %d | %d | %d | %d | %d + %d | %d (%s KB) | %s | %s (%s KB) | %s | %s | %s | %s | %s | %s s |\n' \
    "$ex" "$code" "$rodata" "$data" "$bss" "$stack" "$handler" "$reserved" "$(kb "$reserved")" \
    "${high:-?}" "${used:-?}" "$( [[ -n $used ]] && kb "$used" || echo ?)" \
    "${step:-n/a}" "${step_mac:-n/a}" "${infer:-n/a}" "${infer_mac:-n/a}" "${result:-?}" "$seconds"
done
printf '\nBytes unless noted. Code includes .ARM.exidx; .rodata holds the flash datasets. RAM budgets (static + stack high water): sine_m4 24 KB, digits_m4 16 KB, fashion_m4 80 KB.\n'
if [[ ${#failed[@]} -ne 0 ]]; then
  echo "m4_memory.sh: FAILED: ${failed[*]}" >&2
  exit 1
fi
