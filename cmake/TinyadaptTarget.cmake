# Executables and tests for the Cortex-M4F reference target (MPS2 AN386
# under QEMU). Use with the toolchain file cmake/arm-none-eabi.cmake.
#
#   tinyadapt_add_target_executable(<name> SOURCES <src>...
#       [STACK_BYTES <n>] [LIBRARIES <target>...])
#     Builds <name>.elf from the sources plus the board runtime
#     (cmake/board/mps2-an386: start-up, fault handlers, board.hpp) and links
#     tinyadapt::tinyadapt. STACK_BYTES sets the thread stack (default 32768,
#     multiple of 8); the link fails if stack + .data + .bss exceed 256 KB.
#     A map file <name>.map is written next to the build directory's
#     executables.
#
#   tinyadapt_add_target_test(<name> SOURCES <src>...
#       [STACK_BYTES <n>] [TIMEOUT <seconds>] [LIBRARIES <target>...])
#     Same, and registers a CTest test <name> that runs the ELF under QEMU
#     (CMAKE_CROSSCOMPILING_EMULATOR); pass/fail is the program's exit status.
#     TIMEOUT defaults to 60 s.

include_guard(GLOBAL)

set(TINYADAPT_BOARD_DIR "${CMAKE_CURRENT_LIST_DIR}/board/mps2-an386"
    CACHE INTERNAL "Board support directory for the target build")

# board.hpp only (for libraries such as a test harness).
add_library(tinyadapt_board_headers INTERFACE)
target_include_directories(tinyadapt_board_headers INTERFACE "${TINYADAPT_BOARD_DIR}")

# The runtime is an OBJECT library so that its objects (vector table,
# reset handler) are always linked, not picked from an archive on demand.
add_library(tinyadapt_board OBJECT
  "${TINYADAPT_BOARD_DIR}/startup.cpp"
  "${TINYADAPT_BOARD_DIR}/board.cpp")
target_link_libraries(tinyadapt_board PUBLIC tinyadapt_board_headers)
target_compile_features(tinyadapt_board PUBLIC cxx_std_17)
target_compile_options(tinyadapt_board PRIVATE -Wall -Wextra)

function(tinyadapt_add_target_executable name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "STACK_BYTES" "SOURCES;LIBRARIES")
  if(NOT arg_SOURCES)
    message(FATAL_ERROR "tinyadapt_add_target_executable(${name}): SOURCES is required")
  endif()
  if(NOT DEFINED arg_STACK_BYTES)
    set(arg_STACK_BYTES 32768)
  endif()

  add_executable(${name} ${arg_SOURCES})
  set_target_properties(${name} PROPERTIES SUFFIX ".elf"
    LINK_DEPENDS "${TINYADAPT_BOARD_DIR}/mps2-an386.ld")
  target_link_libraries(${name} PRIVATE tinyadapt_board tinyadapt::tinyadapt ${arg_LIBRARIES})
  target_link_options(${name} PRIVATE
    -nostartfiles
    "-T${TINYADAPT_BOARD_DIR}/mps2-an386.ld"
    "-Wl,--defsym=__stack_size__=${arg_STACK_BYTES}"
    "-Wl,-Map=${CMAKE_CURRENT_BINARY_DIR}/${name}.map")
endfunction()

function(tinyadapt_add_target_test name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "STACK_BYTES;TIMEOUT" "SOURCES;LIBRARIES")
  if(NOT DEFINED arg_TIMEOUT)
    set(arg_TIMEOUT 60)
  endif()
  set(fwd SOURCES ${arg_SOURCES} LIBRARIES ${arg_LIBRARIES})
  if(DEFINED arg_STACK_BYTES)
    list(APPEND fwd STACK_BYTES ${arg_STACK_BYTES})
  endif()
  tinyadapt_add_target_executable(${name} ${fwd})
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES TIMEOUT ${arg_TIMEOUT})
endfunction()
