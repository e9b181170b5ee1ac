# TinyReptile on the Cortex-M4 (P1 device rounds): included by
# examples/m4/CMakeLists.txt in the bare-metal build.
#
#   reptile_device_m4.elf  one TinyReptile device round (k online SGD steps)
#   reptile_batch_m4.elf   one batch-Reptile device round (50 stored samples)
#   reptile_m4_driver      host program (built with TINYADAPT_HOST_CXX): a
#                          multi-round meta-training whose device rounds run
#                          under QEMU, compared with the same rounds on the host
#
# Stacks: about twice the measured high water (Release 612 / 716 B).
tinyadapt_add_target_executable(reptile_device_m4 SOURCES reptile_device_m4.cpp
  STACK_BYTES "$<IF:$<CONFIG:Debug>,4096,2048>")
tinyadapt_add_target_executable(reptile_batch_m4 SOURCES reptile_batch_m4.cpp
  STACK_BYTES "$<IF:$<CONFIG:Debug>,4096,2048>")
foreach(_t reptile_device_m4 reptile_batch_m4)
  target_include_directories(${_t} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  target_compile_options(${_t} PRIVATE -Wall -Wextra)
endforeach()

find_program(TINYADAPT_HOST_CXX NAMES c++ g++ clang++ NO_CMAKE_FIND_ROOT_PATH
             DOC "C++ compiler for the build host (dataset header generator)")
if(NOT TINYADAPT_HOST_CXX)
  tinyadapt_missing("reptile_m4_driver and the TinyReptile device-round tests"
                    "no C++ compiler for the build host (set TINYADAPT_HOST_CXX)")
  return()
endif()
set(_driver "${CMAKE_CURRENT_BINARY_DIR}/reptile_m4_driver${CMAKE_HOST_EXECUTABLE_SUFFIX}")
set(_driver_src "${PROJECT_SOURCE_DIR}/examples/reptile_m4_driver.cpp")
add_custom_command(OUTPUT "${_driver}"
  COMMAND "${TINYADAPT_HOST_CXX}" -std=c++17 -O2 -Wall -Wextra -Wpedantic -Wshadow -Wconversion
          "-I${PROJECT_SOURCE_DIR}/include" "-I${PROJECT_SOURCE_DIR}/examples"
          -MD -MF "${_driver}.d" -o "${_driver}" "${_driver_src}"
  DEPENDS "${_driver_src}"
  DEPFILE "${_driver}.d"
  COMMENT "Building reptile_m4_driver for the build host with ${TINYADAPT_HOST_CXX}"
  VERBATIM)
add_custom_target(reptile_m4_driver ALL DEPENDS "${_driver}")

if(NOT TINYADAPT_BUILD_TESTS OR NOT TINYADAPT_QEMU_ARM)
  return()
endif()
# The device round under QEMU with a θ file the test writes (pass: exit 0),
# and a corrupted θ, refused with exit status 5 before anything is trained.
set(_wd "${CMAKE_CURRENT_BINARY_DIR}/reptile_m4_test")
file(MAKE_DIRECTORY "${_wd}")
add_test(NAME reptile_m4.write_theta
  COMMAND "${_driver}" --write-theta "${_wd}/theta.bin" --seed 3)
add_test(NAME reptile_m4.write_corrupt_theta
  COMMAND "${_driver}" --write-theta "${_wd}/corrupt.bin" --seed 3 --corrupt)
set_tests_properties(reptile_m4.write_theta reptile_m4.write_corrupt_theta PROPERTIES
  FIXTURES_SETUP reptile_m4_theta)
add_test(NAME reptile_device_m4 COMMAND reptile_device_m4 -append "theta.bin phi.bin 7 10")
add_test(NAME reptile_batch_m4 COMMAND reptile_batch_m4 -append "theta.bin phi_batch.bin 7")
add_test(NAME reptile_device_m4.refuses_corrupt_theta
  COMMAND "${CMAKE_COMMAND}" -DEXPECT_EXIT=5
          "-DEXPECT1=theta refused \\(corrupt.bin\\): parameter data corrupted \\(checksum mismatch\\)"
          "-DREJECT=ROUND " -P "${PROJECT_SOURCE_DIR}/tests/target/expect.cmake" --
          ${CMAKE_CROSSCOMPILING_EMULATOR} "$<TARGET_FILE:reptile_device_m4>"
          -append "corrupt.bin phi_corrupt.bin 7 10")
set_tests_properties(reptile_device_m4 reptile_batch_m4 reptile_device_m4.refuses_corrupt_theta PROPERTIES
  FIXTURES_REQUIRED reptile_m4_theta WORKING_DIRECTORY "${_wd}" TIMEOUT 60
  RESOURCE_LOCK reptile_m4_workdir)
# The driver's device checks (φ against the host's round; corrupted, truncated,
# foreign and non-finite θ refused) for both device programs, and a short
# meta-training whose M4 and host results must agree.
add_test(NAME reptile_m4.check_device
  COMMAND "${_driver}" --check-device --elf "$<TARGET_FILE:reptile_device_m4>"
          --qemu "${TINYADAPT_QEMU_ARM}" --workdir "${_wd}/check_device")
add_test(NAME reptile_m4.check_batch_device
  COMMAND "${_driver}" --check-device --method reptile --elf "$<TARGET_FILE:reptile_batch_m4>"
          --qemu "${TINYADAPT_QEMU_ARM}" --workdir "${_wd}/check_batch_device")
add_test(NAME reptile_m4.driver
  COMMAND "${_driver}" --elf "$<TARGET_FILE:reptile_device_m4>" --rounds 5 --test-tasks 50
          --tolerance 1e-3 --qemu "${TINYADAPT_QEMU_ARM}" --workdir "${_wd}/driver")
add_test(NAME reptile_m4.driver_batch
  COMMAND "${_driver}" --method reptile --elf "$<TARGET_FILE:reptile_batch_m4>" --rounds 3 --test-tasks 50
          --tolerance 1e-3 --qemu "${TINYADAPT_QEMU_ARM}" --workdir "${_wd}/driver_batch")
set_tests_properties(reptile_m4.check_device reptile_m4.check_batch_device reptile_m4.driver
  reptile_m4.driver_batch PROPERTIES TIMEOUT 60)
