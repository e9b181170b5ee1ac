# The Cortex-M4 in the broker-run federation, in the bare-metal build
# (included by examples/federation/CMakeLists.txt):
#
#   fleet_device_m4.elf   one P1 fleet round: θ and φ as wire messages through
#                         semihosting, streamed in 256-byte chunks
#   fleet_server, fleet_device, fleet_bridge
#                         the host programs, built for the build host with
#                         TINYADAPT_HOST_CXX (as reptile_m4_driver is), so that
#                         this build's tests run a whole federation: a broker,
#                         the server, host devices and the M4 through the bridge
#
# Stack: about twice the measured high water.
tinyadapt_add_target_executable(fleet_device_m4 SOURCES ${CMAKE_CURRENT_LIST_DIR}/fleet_device_m4.cpp
  STACK_BYTES "$<IF:$<CONFIG:Debug>,4096,2048>")
target_compile_options(fleet_device_m4 PRIVATE -Wall -Wextra)

find_program(TINYADAPT_HOST_CXX NAMES c++ g++ clang++ NO_CMAKE_FIND_ROOT_PATH
             DOC "C++ compiler for the build host")
find_path(TINYADAPT_HOST_MOSQUITTO_INCLUDE mosquitto.h PATHS /usr/include NO_CMAKE_FIND_ROOT_PATH
          DOC "libmosquitto header of the build host (Debian: libmosquitto-dev)")
find_library(TINYADAPT_HOST_MOSQUITTO_LIB mosquitto PATHS /usr/lib/x86_64-linux-gnu /usr/lib NO_CMAKE_FIND_ROOT_PATH
             DOC "libmosquitto of the build host (Debian: libmosquitto-dev)")
if(NOT TINYADAPT_HOST_CXX OR NOT TINYADAPT_HOST_MOSQUITTO_INCLUDE OR NOT TINYADAPT_HOST_MOSQUITTO_LIB)
  tinyadapt_missing("the federation with the Cortex-M4 (fleet_bridge and its test)"
                    "no build-host C++ compiler or libmosquitto (apt-get install libmosquitto-dev)")
  return()
endif()
set(_fed_bin "${CMAKE_CURRENT_BINARY_DIR}/host")
file(MAKE_DIRECTORY "${_fed_bin}")
set(_fed_outputs "")
foreach(_p fleet_server fleet_device fleet_bridge)
  set(_out "${_fed_bin}/${_p}${CMAKE_HOST_EXECUTABLE_SUFFIX}")
  set(_src "${CMAKE_CURRENT_LIST_DIR}/${_p}.cpp")
  add_custom_command(OUTPUT "${_out}"
    COMMAND "${TINYADAPT_HOST_CXX}" -std=c++17 -O2 -Wall -Wextra -Wpedantic -Wshadow -Wconversion
            "-I${PROJECT_SOURCE_DIR}/include" "-I${TINYADAPT_HOST_MOSQUITTO_INCLUDE}"
            -MD -MF "${_out}.d" -o "${_out}" "${_src}" "${TINYADAPT_HOST_MOSQUITTO_LIB}" -pthread
    DEPENDS "${_src}"
    DEPFILE "${_out}.d"
    COMMENT "Building ${_p} for the build host with ${TINYADAPT_HOST_CXX}"
    VERBATIM)
  list(APPEND _fed_outputs "${_out}")
endforeach()
add_custom_target(fleet_host_programs ALL DEPENDS ${_fed_outputs})

if(NOT TINYADAPT_BUILD_TESTS OR NOT TINYADAPT_QEMU_ARM)
  return()
endif()
find_program(TINYADAPT_MOSQUITTO mosquitto PATHS /usr/sbin NO_CMAKE_FIND_ROOT_PATH DOC "Mosquitto MQTT broker")
if(NOT TINYADAPT_MOSQUITTO)
  tinyadapt_missing("test fleet.federation.m4" "mosquitto not found (apt-get install mosquitto mosquitto-clients)")
  return()
endif()
set(_fed_w "${CMAKE_CURRENT_BINARY_DIR}")
list(JOIN CMAKE_CROSSCOMPILING_EMULATOR " " _fed_qemu)
set(_fed_expect "${PROJECT_SOURCE_DIR}/tests/target/expect.cmake")
# 5 host devices and the M4 (device-5), 5 rounds: the server waits for all
# six every round; the M4's φ differs from the host replay by the compilers'
# floating point, so θ and the P1 figures are compared within 1e-3, not the bits.
add_test(NAME fleet.federation.m4
  COMMAND ${CMAKE_COMMAND} -DEXPECT_EXIT=0 "-DEXPECT1=device-5 \\(M4 bridge\\): M4 round 4 in"
          "-DEXPECT2=round 4 closed by quorum after [0-9.]+ s: 6 updates" "-DEXPECT3=\nagree: theta and the MSE after 0-8 steps"
          "-DEXPECT4=run_local: ok: 5 rounds, 6 devices"
          -P "${_fed_expect}" -- bash "${CMAKE_CURRENT_LIST_DIR}/run_local.sh" --bin "${_fed_bin}"
          --m4 "$<TARGET_FILE:fleet_device_m4>" --qemu "${TINYADAPT_QEMU_ARM}" --devices 5 --rounds 5
          --test-tasks 50 --dump --workdir "${_fed_w}/m4_fleet")
set_tests_properties(fleet.federation.m4 PROPERTIES TIMEOUT 120 RESOURCE_LOCK fleet_federation
  FIXTURES_SETUP fleet_m4_messages)
# A θ the server sent (from that run's --dump) with one payload bit flipped:
# the M4 refuses it in the first pass, trains nothing, writes no φ.
add_test(NAME fleet.federation.m4_refuses_corrupt_theta
  COMMAND ${CMAKE_COMMAND} -DEXPECT_EXIT=5
          "-DEXPECT1=theta refused \\(bad.msg\\): message corrupted \\(CRC-32 mismatch\\); nothing trained" "-DREJECT=FLEET "
          -P "${_fed_expect}" -- sh -c "cd '${_fed_w}/m4_fleet' && cp \"$(ls messages/*server_sent_theta_r0.msg | head -1)\" bad.msg && printf '\\125' | dd of=bad.msg bs=1 seek=1000 conv=notrunc 2>/dev/null && rm -f phi_bad.msg && ${_fed_qemu} '$<TARGET_FILE:fleet_device_m4>' -append 'bad.msg phi_bad.msg 5 1 10'; s=$?; test ! -e phi_bad.msg || s=99; exit $s")
set_tests_properties(fleet.federation.m4_refuses_corrupt_theta PROPERTIES TIMEOUT 60
  FIXTURES_REQUIRED fleet_m4_messages)
