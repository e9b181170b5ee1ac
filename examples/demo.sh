#!/usr/bin/env bash
# The main demo: trains the W3 image network on Fashion-MNIST on the host,
# online and inside a 57 KB training budget, then trains the same network
# on an emulated Cortex-M4 (QEMU mps2-an386, 256 KB RAM) from data in flash.
# Installs what it lacks from Debian's packages first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cmake/install-deps.sh
jobs=${TINYADAPT_JOBS:-2}

echo "== host: W3 on Fashion-MNIST (60,000 samples, 3 epochs, online SGD)"
cmake -S . -B build/demo-host -DCMAKE_BUILD_TYPE=Release -DTINYADAPT_BUILD_TESTS=OFF \
  -DTINYADAPT_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build build/demo-host --target train_fashion --parallel "$jobs" >/dev/null
time build/demo-host/examples/train_fashion

if [[ -f examples/m4/CMakeLists.txt ]]; then
  echo
  echo "== Cortex-M4 (QEMU): W3 trained on the device from a Fashion-MNIST subset in flash"
  cmake -S . -B build/demo-m4 -DCMAKE_BUILD_TYPE=Release -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake \
    -DTINYADAPT_BUILD_BENCHMARKS=OFF >/dev/null
  cmake --build build/demo-m4 --target fashion_m4 --parallel "$jobs" >/dev/null
  ctest --test-dir build/demo-m4 -R '^example\.fashion_m4$' --verbose | sed -n 's/^[0-9]*: //p'
fi
