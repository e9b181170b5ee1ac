# Toolchain file: AArch64 Linux (Raspberry Pi 4, Cortex-A72), Debian's cross
# compiler (g++-aarch64-linux-gnu). Selects the NEON kernels.
#
#   cmake -S . -B build/aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
#
# Executables run under QEMU user mode (qemu-aarch64, Debian package
# qemu-user) through CMAKE_CROSSCOMPILING_EMULATOR, so add_test() on a target
# runs it there; -L points QEMU at the target's dynamic loader and libraries.
# The build has the unit tests only (examples and benchmarks default to OFF).

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(TINYADAPT_AARCH64_SYSROOT /usr/aarch64-linux-gnu CACHE PATH "Target libraries (Debian: libc6-arm64-cross)")
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES TINYADAPT_AARCH64_SYSROOT)

set(CMAKE_C_COMPILER   aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

set(CMAKE_C_FLAGS_INIT   "-mcpu=cortex-a72")
set(CMAKE_CXX_FLAGS_INIT "-mcpu=cortex-a72")

# Never pick up the build host's headers, libraries or packages (e.g.
# /usr/include); programs (the host's tools) come from the host.
set(CMAKE_FIND_ROOT_PATH ${TINYADAPT_AARCH64_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

find_program(TINYADAPT_QEMU_AARCH64 qemu-aarch64)
if(TINYADAPT_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${TINYADAPT_QEMU_AARCH64} -L ${TINYADAPT_AARCH64_SYSROOT})
endif()
