#!/usr/bin/env bash
# Installs the Debian packages tinyadapt needs for its builds and tests.
# Only missing packages are installed; `apt-get update` runs once, and only
# when something is missing.
#
#   cmake/install-deps.sh [--host-only] [--with-torch] [--with-python-torch] [--with-plot]
#
#   --host-only   leave out the cross toolchains (Cortex-M4, AArch64) and QEMU
#   --with-torch  also install libtorch-dev and python3-torch (optional: the
#                 side-by-side benchmark, regenerating golden values and the
#                 PyTorch weight converter tools/torch_weights.py)
#   --with-python-torch  also install python3-torch alone (tools/torch_weights.py
#                 and its round-trip test; tests/run.sh asks for it)
#   --with-plot   also install gnuplot-nox (the demo's learning-curve PNG)
set -euo pipefail

usage() {
  sed -n '2,15s/^# \{0,1\}//p' "$0"
}

host_only=0
with_torch=0
with_plot=0
with_python_torch=0
for arg in "$@"; do
  case "$arg" in
    --host-only) host_only=1 ;;
    --with-torch) with_torch=1 ;;
    --with-python-torch) with_python_torch=1 ;;
    --with-plot) with_plot=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install-deps.sh: unknown argument '$arg'" >&2; usage >&2; exit 2 ;;
  esac
done

packages=(cmake g++ clang libclang-rt-14-dev doctest-dev libbenchmark-dev zlib1g-dev
          python3-sklearn dataset-fashion-mnist
          mosquitto mosquitto-clients libmosquitto-dev)
if [[ $host_only -eq 0 ]]; then
  packages+=(gcc-arm-none-eabi libnewlib-arm-none-eabi
             libstdc++-arm-none-eabi-dev qemu-system-arm
             g++-aarch64-linux-gnu qemu-user)
fi
if [[ $with_torch -eq 1 ]]; then
  packages+=(libtorch-dev python3-torch)
fi
if [[ $with_python_torch -eq 1 && $with_torch -eq 0 ]]; then
  packages+=(python3-torch)
fi
if [[ $with_plot -eq 1 ]]; then
  packages+=(gnuplot-nox)
fi

if ! command -v dpkg >/dev/null 2>&1; then
  echo "install-deps.sh: dpkg not found; this script needs Debian or a derivative." >&2
  echo "install-deps.sh: needed packages: ${packages[*]}" >&2
  exit 1
fi

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed$'; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps.sh: all ${#packages[@]} packages are installed"
  exit 0
fi

echo "install-deps.sh: installing ${missing[*]}"
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "install-deps.sh: not root and sudo not found; install as root: ${missing[*]}" >&2
    exit 1
  fi
  sudo=(sudo)
fi
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${missing[@]}"

# Check the result rather than trusting apt-get's exit status alone.
still_missing=()
for pkg in "${missing[@]}"; do
  if ! dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed$'; then
    still_missing+=("$pkg")
  fi
done
if [[ ${#still_missing[@]} -ne 0 ]]; then
  echo "install-deps.sh: still missing after apt-get: ${still_missing[*]}" >&2
  exit 1
fi
