# Checks that include/tinyadapt/version.hpp agrees with project(VERSION) in
# the top-level CMakeLists.txt (and with the version CMake configured).
# Usage: cmake -DTINYADAPT_SOURCE_DIR=... [-DCONFIGURED_VERSION=...] -P check_version.cmake
cmake_minimum_required(VERSION 3.21)

file(READ "${TINYADAPT_SOURCE_DIR}/CMakeLists.txt" _top)
if(NOT _top MATCHES "project\\([ \t\r\n]*tinyadapt[ \t\r\n]+VERSION[ \t\r\n]+([0-9]+)\\.([0-9]+)\\.([0-9]+)")
  message(FATAL_ERROR "no project(tinyadapt VERSION x.y.z) in CMakeLists.txt")
endif()
set(_want_major "${CMAKE_MATCH_1}")
set(_want_minor "${CMAKE_MATCH_2}")
set(_want_patch "${CMAKE_MATCH_3}")
set(_want "${_want_major}.${_want_minor}.${_want_patch}")

if(DEFINED CONFIGURED_VERSION AND NOT CONFIGURED_VERSION STREQUAL _want)
  message(FATAL_ERROR "the build was configured for ${CONFIGURED_VERSION} but "
                      "CMakeLists.txt now says ${_want}: re-run cmake")
endif()

set(_header "${TINYADAPT_SOURCE_DIR}/include/tinyadapt/version.hpp")
file(READ "${_header}" _hpp)
set(_failed FALSE)
foreach(_part MAJOR MINOR PATCH)
  string(TOLOWER "${_part}" _lower)
  if(NOT _hpp MATCHES "#define[ \t]+TINYADAPT_VERSION_${_part}[ \t]+([0-9]+)[ \t]*\n")
    message(SEND_ERROR "version.hpp: no numeric TINYADAPT_VERSION_${_part}")
    set(_failed TRUE)
  elseif(NOT CMAKE_MATCH_1 STREQUAL _want_${_lower})
    message(SEND_ERROR "version.hpp: TINYADAPT_VERSION_${_part} is ${CMAKE_MATCH_1}, "
                       "CMakeLists.txt says ${_want_${_lower}}")
    set(_failed TRUE)
  endif()
endforeach()
if(NOT _hpp MATCHES "#define[ \t]+TINYADAPT_VERSION_STRING[ \t]+\"([^\"]*)\"")
  message(SEND_ERROR "version.hpp: no TINYADAPT_VERSION_STRING")
  set(_failed TRUE)
elseif(NOT CMAKE_MATCH_1 STREQUAL _want)
  message(SEND_ERROR "version.hpp: TINYADAPT_VERSION_STRING is \"${CMAKE_MATCH_1}\", "
                     "CMakeLists.txt says ${_want}")
  set(_failed TRUE)
endif()
if(_failed)
  message(FATAL_ERROR "include/tinyadapt/version.hpp does not match project(VERSION ${_want})")
endif()
message(STATUS "version.hpp matches project(VERSION ${_want})")
