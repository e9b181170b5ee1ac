# Toolchain file: Cortex-M4F (FPv4-SP, hard float), bare metal, GNU Arm
# Embedded toolchain (arm-none-eabi-gcc) with newlib-nano.
#
#   cmake -S . -B build-m4 -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake
#
# Set ARM_TOOLCHAIN_DIR to the toolchain's bin directory if arm-none-eabi-*
# is not on PATH. Executables run under QEMU (mps2-an386) through
# CMAKE_CROSSCOMPILING_EMULATOR, so add_test() on a target runs it there.

set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(ARM_TOOLCHAIN_DIR "" CACHE PATH "Directory holding arm-none-eabi-gcc (empty: use PATH)")
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES ARM_TOOLCHAIN_DIR)
if(ARM_TOOLCHAIN_DIR)
  set(_tc "${ARM_TOOLCHAIN_DIR}/arm-none-eabi-")
else()
  set(_tc "arm-none-eabi-")
endif()
set(CMAKE_C_COMPILER   ${_tc}gcc)
set(CMAKE_CXX_COMPILER ${_tc}g++)
set(CMAKE_ASM_COMPILER ${_tc}gcc)
set(CMAKE_OBJCOPY      ${_tc}objcopy CACHE FILEPATH "")
set(CMAKE_SIZE         ${_tc}size CACHE FILEPATH "")

# The compiler checks cannot link a bare-metal executable.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(_cpu "-mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 -mfloat-abi=hard")
set(_common "${_cpu} -specs=nano.specs -ffunction-sections -fdata-sections")
set(CMAKE_C_FLAGS_INIT   "${_common}")
set(CMAKE_ASM_FLAGS_INIT "${_cpu}")
set(CMAKE_CXX_FLAGS_INIT "${_common} -fno-exceptions -fno-rtti")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,--gc-sections -Wl,--print-memory-usage")

# Link C++ with the C driver: header-only code built with -fno-exceptions
# -fno-rtti needs nothing from libstdc++/libsupc++ (not installed for this
# target), and the few C++ ABI hooks come from the board runtime. Unlike
# g++, gcc does not add libm by itself.
set(CMAKE_CXX_LINK_EXECUTABLE
    "${_tc}gcc <FLAGS> <CMAKE_CXX_LINK_FLAGS> <LINK_FLAGS> <OBJECTS> -o <TARGET> <LINK_LIBRARIES> -lm")

# Never pick up host headers, libraries or packages (e.g. /usr/include).
set(CMAKE_FIND_ROOT_PATH /usr/lib/arm-none-eabi)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Run target executables on an emulated MPS2 AN386 (Cortex-M4F).
# Semihosting output goes through a chardev to stdout and SYS_EXIT_EXTENDED
# becomes QEMU's exit status. -icount makes virtual time count executed
# instructions (2^8 ns each), which the board runtime turns into exact
# instruction counts.
find_program(TINYADAPT_QEMU_ARM qemu-system-arm)
if(TINYADAPT_QEMU_ARM)
  set(CMAKE_CROSSCOMPILING_EMULATOR
      ${TINYADAPT_QEMU_ARM} -M mps2-an386 -display none -monitor none -serial null
      -chardev stdio,id=sh -semihosting-config enable=on,target=native,chardev=sh
      -icount shift=8,align=off,sleep=off -kernel)
endif()
