# Configures the library as a newcomer would, in a fresh directory, and
# checks what happens (CASE):
#   no_dependencies   a machine without doctest, Google Benchmark and zlib
#                     (simulated: find_* calls ignore /usr, /usr/local and /):
#                     no build type given, all defaults. The configure must
#                     pass with one message per part left out, the build type
#                     must default to Release, the build must pass (examples
#                     that need zlib left out) and `cmake --install` must work.
#   testing_off       the same machine with -DBUILD_TESTING=OFF: no tests are
#                     configured and CMake does not call the switch unused.
#   required          the same machine with -DTINYADAPT_REQUIRE_DEPENDENCIES=ON:
#                     the configure fails and names what is missing.
#
# Usage: cmake -DCASE=... -DTINYADAPT_SOURCE_DIR=... -DWORK_DIR=...
#              -DGENERATOR=... -DCXX_COMPILER=... [-DMAKE_PROGRAM=...]
#              -P check_configure.cmake
cmake_minimum_required(VERSION 3.23)  # CMAKE_IGNORE_PREFIX_PATH

foreach(_var CASE TINYADAPT_SOURCE_DIR WORK_DIR GENERATOR CXX_COMPILER)
  if(NOT ${_var})
    message(FATAL_ERROR "check_configure.cmake: ${_var} is not set")
  endif()
endforeach()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(_build "${WORK_DIR}/build")
# The list goes through an initial-cache file: on a command line its
# semicolons would split the argument.
file(WRITE "${WORK_DIR}/no-system-packages.cmake"
     "set(CMAKE_IGNORE_PREFIX_PATH /usr /usr/local / CACHE STRING \"\")\n")
set(_args -S "${TINYADAPT_SOURCE_DIR}" -B "${_build}" -G "${GENERATOR}"
          "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
          -C "${WORK_DIR}/no-system-packages.cmake")
if(MAKE_PROGRAM)
  list(APPEND _args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()

function(_run what expect_ok out_var)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE _rc OUTPUT_VARIABLE _out
                  ERROR_VARIABLE _out TIMEOUT 300)
  if(expect_ok AND NOT _rc EQUAL 0)
    message(FATAL_ERROR "${what}: failed (${_rc})\n${_out}")
  elseif(NOT expect_ok AND _rc EQUAL 0)
    message(FATAL_ERROR "${what}: succeeded but should have failed\n${_out}")
  endif()
  message(STATUS "${what}: ok")
  set(${out_var} "${_out}" PARENT_SCOPE)
endfunction()

function(_expect text regex)
  if(NOT text MATCHES "${regex}")
    message(FATAL_ERROR "output does not match '${regex}':\n${text}")
  endif()
endfunction()

function(_reject text regex)
  if(text MATCHES "${regex}")
    message(FATAL_ERROR "output matches '${regex}':\n${text}")
  endif()
endfunction()

if(CASE STREQUAL "no_dependencies")
  _run("configure without doctest, benchmark, zlib" TRUE _out "${CMAKE_COMMAND}" ${_args})
  _reject("${_out}" "CMake (Error|Warning)")
  _expect("${_out}" "tinyadapt: the test suite left out: doctest/doctest.h not found \\(apt-get install doctest-dev\\)")
  _expect("${_out}" "tinyadapt: the host benchmarks left out: Google Benchmark not found")
  _expect("${_out}" "tinyadapt: example train_fashion left out: no zlib \\(apt-get install zlib1g-dev\\)")
  file(STRINGS "${_build}/CMakeCache.txt" _type REGEX "^CMAKE_BUILD_TYPE:")
  if(NOT _type MATCHES "=Release$")
    message(FATAL_ERROR "no build type given: expected Release, got '${_type}'")
  endif()
  _run("build" TRUE _out "${CMAKE_COMMAND}" --build "${_build}" --parallel 2)
  if(NOT EXISTS "${_build}/examples/sine_regression")
    message(FATAL_ERROR "sine_regression (no dependencies) was not built")
  endif()
  _run("install" TRUE _out "${CMAKE_COMMAND}" --install "${_build}" --prefix "${WORK_DIR}/prefix")
  if(NOT EXISTS "${WORK_DIR}/prefix/include/tinyadapt/tinyadapt.hpp")
    message(FATAL_ERROR "cmake --install did not install the headers")
  endif()

elseif(CASE STREQUAL "testing_off")
  _run("configure with BUILD_TESTING=OFF" TRUE _out "${CMAKE_COMMAND}" ${_args} -DBUILD_TESTING=OFF)
  _reject("${_out}" "CMake (Error|Warning)|not used by the project|doctest")
  file(STRINGS "${_build}/CMakeCache.txt" _tests REGEX "^TINYADAPT_BUILD_TESTS:")
  if(NOT _tests MATCHES "=OFF$" OR EXISTS "${_build}/tests")
    message(FATAL_ERROR "BUILD_TESTING=OFF was ignored: ${_tests}")
  endif()
  _run("install" TRUE _out "${CMAKE_COMMAND}" --install "${_build}" --prefix "${WORK_DIR}/prefix")

elseif(CASE STREQUAL "required")
  _run("configure with TINYADAPT_REQUIRE_DEPENDENCIES=ON" FALSE _out "${CMAKE_COMMAND}" ${_args}
       -DTINYADAPT_REQUIRE_DEPENDENCIES=ON)
  _expect("${_out}" "tinyadapt: the test suite cannot be built: doctest/doctest.h not found")

else()
  message(FATAL_ERROR "unknown CASE '${CASE}'")
endif()
message(STATUS "configure case ${CASE}: ok")
