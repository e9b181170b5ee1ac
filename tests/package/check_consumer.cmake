# Builds and runs tests/package/consumer against tinyadapt in a fresh
# directory, bringing the library in one way (MODE):
#   subdirectory      add_subdirectory(<source tree>)
#   fetch_git         FetchContent from a file:// git repository holding a
#                     snapshot of the current working tree (committed or not)
#   fetch_url         FetchContent from a local .tar.gz of that snapshot
#   fetch_source_dir  FetchContent with SOURCE_DIR = the source tree
#   find_package      cmake --install into a temporary prefix, then
#                     find_package(tinyadapt 0.1 REQUIRED); also checks that
#                     requests for 0.2 and 1.0 are refused
#
# Usage: cmake -DMODE=... -DTINYADAPT_SOURCE_DIR=... -DCONSUMER_DIR=...
#              -DWORK_DIR=... -DGENERATOR=... -DCXX_COMPILER=...
#              [-DGENERATOR_PLATFORM=...] [-DGENERATOR_TOOLSET=...]
#              [-DMAKE_PROGRAM=...] [-DBUILD_TYPE=...] [-DCXX_FLAGS=...]
#              [-DEXE_LINKER_FLAGS=...] [-DGIT_EXECUTABLE=...]
#              -P check_consumer.cmake
cmake_minimum_required(VERSION 3.21)

foreach(_var MODE TINYADAPT_SOURCE_DIR CONSUMER_DIR WORK_DIR GENERATOR CXX_COMPILER)
  if(NOT ${_var})
    message(FATAL_ERROR "check_consumer.cmake: ${_var} is not set")
  endif()
endforeach()

# A git hook or wrapper may export these; they must not leak into the
# temporary repositories or into FetchContent's clone.
foreach(_var GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY
             GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_CEILING_DIRECTORIES)
  unset(ENV{${_var}})
endforeach()

set(_jobs 2)
if(DEFINED ENV{TINYADAPT_JOBS} AND "$ENV{TINYADAPT_JOBS}" MATCHES "^[1-9][0-9]*$")
  set(_jobs "$ENV{TINYADAPT_JOBS}")
endif()

# _run(<what> COMMAND <cmd>... [WORKING_DIRECTORY <dir>] [EXPECT_FAILURE]
#      [OUTPUT_VARIABLE <var>])
# Runs a command, stops the test with its output if it did not end as
# expected, and hands the combined output back on request.
function(_run what)
  cmake_parse_arguments(PARSE_ARGV 1 arg "EXPECT_FAILURE"
                        "WORKING_DIRECTORY;OUTPUT_VARIABLE" "COMMAND")
  if(NOT arg_WORKING_DIRECTORY)
    set(arg_WORKING_DIRECTORY "${WORK_DIR}")
  endif()
  execute_process(COMMAND ${arg_COMMAND}
                  WORKING_DIRECTORY "${arg_WORKING_DIRECTORY}"
                  RESULT_VARIABLE _rc
                  OUTPUT_VARIABLE _out
                  ERROR_VARIABLE _out
                  TIMEOUT 300)
  if(arg_EXPECT_FAILURE)
    if(_rc EQUAL 0)
      message(FATAL_ERROR "${what}: succeeded but should have failed\n${_out}")
    endif()
  elseif(NOT _rc EQUAL 0)
    string(REPLACE ";" " " _cmd "${arg_COMMAND}")
    message(FATAL_ERROR "${what}: failed (${_rc})\ncommand: ${_cmd}\n${_out}")
  endif()
  message(STATUS "${what}: ok")
  if(arg_OUTPUT_VARIABLE)
    set(${arg_OUTPUT_VARIABLE} "${_out}" PARENT_SCOPE)
  endif()
endfunction()

# Generator, compiler and flags of the outer build.
set(_gen_args -G "${GENERATOR}")
if(GENERATOR_PLATFORM)
  list(APPEND _gen_args -A "${GENERATOR_PLATFORM}")
endif()
if(GENERATOR_TOOLSET)
  list(APPEND _gen_args -T "${GENERATOR_TOOLSET}")
endif()
if(MAKE_PROGRAM)
  list(APPEND _gen_args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()
list(APPEND _gen_args
  "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
  "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}"
  "-DCMAKE_EXE_LINKER_FLAGS=${EXE_LINKER_FLAGS}")
if(BUILD_TYPE)
  list(APPEND _gen_args "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}")
  set(_config_args --config "${BUILD_TYPE}")
  set(_ctest_config_args -C "${BUILD_TYPE}")
else()
  set(_config_args "")
  set(_ctest_config_args -C Debug)
endif()

# The version the library declares in project(... VERSION x.y.z).
file(READ "${TINYADAPT_SOURCE_DIR}/CMakeLists.txt" _top)
if(NOT _top MATCHES "project\\([ \t\r\n]*tinyadapt[ \t\r\n]+VERSION[ \t\r\n]+([0-9]+\\.[0-9]+\\.[0-9]+)")
  message(FATAL_ERROR "no project(tinyadapt VERSION x.y.z) in ${TINYADAPT_SOURCE_DIR}/CMakeLists.txt")
endif()
set(_version "${CMAKE_MATCH_1}")

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

# Copies the working tree as it is now (tracked and untracked files, minus
# ignored ones such as build directories) to <dest>, without touching the
# source repository. Falls back to a plain copy without build*/ and .git
# when the source is not a git checkout.
function(_snapshot dest)
  file(MAKE_DIRECTORY "${dest}")
  set(_files "")
  if(GIT_EXECUTABLE)
    execute_process(COMMAND "${GIT_EXECUTABLE}" rev-parse --is-inside-work-tree
                    WORKING_DIRECTORY "${TINYADAPT_SOURCE_DIR}"
                    RESULT_VARIABLE _rc OUTPUT_QUIET ERROR_QUIET)
    if(_rc EQUAL 0)
      execute_process(
        COMMAND "${GIT_EXECUTABLE}" -c core.quotepath=off ls-files
                --cached --others --exclude-standard
        WORKING_DIRECTORY "${TINYADAPT_SOURCE_DIR}"
        RESULT_VARIABLE _rc OUTPUT_VARIABLE _listing ERROR_VARIABLE _err)
      if(NOT _rc EQUAL 0)
        message(FATAL_ERROR "git ls-files failed: ${_err}")
      endif()
      string(REPLACE ";" "\\;" _listing "${_listing}")
      string(REPLACE "\n" ";" _files "${_listing}")
    endif()
  endif()
  if(NOT _files)
    file(GLOB_RECURSE _files RELATIVE "${TINYADAPT_SOURCE_DIR}"
         "${TINYADAPT_SOURCE_DIR}/*")
    list(FILTER _files EXCLUDE REGEX "(^|/)(build[^/]*|\\.git)/")
  endif()
  # Leave out any build tree (a directory holding a CMakeCache.txt) that
  # .gitignore does not cover.
  set(_build_trees "")
  foreach(_f IN LISTS _files)
    if(_f STREQUAL "CMakeCache.txt")
      message(FATAL_ERROR "${TINYADAPT_SOURCE_DIR} is itself a build tree")
    elseif(_f MATCHES "^(.*/)CMakeCache\\.txt$")
      list(APPEND _build_trees "${CMAKE_MATCH_1}")
    endif()
  endforeach()
  set(_kept "")
  foreach(_f IN LISTS _files)
    set(_keep TRUE)
    foreach(_tree IN LISTS _build_trees)
      string(FIND "${_f}" "${_tree}" _at)
      if(_at EQUAL 0)
        set(_keep FALSE)
        break()
      endif()
    endforeach()
    if(_keep)
      list(APPEND _kept "${_f}")
    endif()
  endforeach()
  set(_files "${_kept}")
  set(_copied 0)
  foreach(_f IN LISTS _files)
    # Tracked files deleted in the working tree are still listed by git.
    if(_f AND EXISTS "${TINYADAPT_SOURCE_DIR}/${_f}"
       AND NOT IS_DIRECTORY "${TINYADAPT_SOURCE_DIR}/${_f}")
      get_filename_component(_d "${dest}/${_f}" DIRECTORY)
      file(MAKE_DIRECTORY "${_d}")
      file(COPY_FILE "${TINYADAPT_SOURCE_DIR}/${_f}" "${dest}/${_f}")
      math(EXPR _copied "${_copied} + 1")
    endif()
  endforeach()
  if(NOT EXISTS "${dest}/CMakeLists.txt")
    message(FATAL_ERROR "snapshot of ${TINYADAPT_SOURCE_DIR} has no CMakeLists.txt")
  endif()
  message(STATUS "snapshot of the working tree: ${_copied} files")
endfunction()

set(_consumer_build "${WORK_DIR}/consumer-build")
set(_consumer_args "-DTINYADAPT_CONSUME_MODE=${MODE}"
                   "-DTINYADAPT_EXPECTED_VERSION=${_version}")
set(_lib_binary_dir "")

if(MODE STREQUAL "subdirectory")
  list(APPEND _consumer_args "-DTINYADAPT_SOURCE=${TINYADAPT_SOURCE_DIR}")
  set(_lib_binary_dir "${_consumer_build}/tinyadapt")

elseif(MODE STREQUAL "fetch_source_dir")
  list(APPEND _consumer_args "-DTINYADAPT_SOURCE=${TINYADAPT_SOURCE_DIR}")
  set(_lib_binary_dir "${_consumer_build}/_deps/tinyadapt-build")

elseif(MODE STREQUAL "fetch_git")
  if(NOT GIT_EXECUTABLE)
    message(FATAL_ERROR "git was not found; it is required for the FetchContent git test")
  endif()
  _snapshot("${WORK_DIR}/snapshot")
  set(_git "${GIT_EXECUTABLE}" -c user.name=tinyadapt-tests
           -c user.email=tinyadapt-tests@localhost -c commit.gpgsign=false
           -c init.defaultBranch=main -c core.autocrlf=false)
  _run("git init snapshot" COMMAND ${_git} init -q .
       WORKING_DIRECTORY "${WORK_DIR}/snapshot")
  _run("git add snapshot" COMMAND ${_git} add -A -f .
       WORKING_DIRECTORY "${WORK_DIR}/snapshot")
  _run("git commit snapshot" COMMAND ${_git} commit -q -m "working tree snapshot"
       WORKING_DIRECTORY "${WORK_DIR}/snapshot")
  _run("git clone --bare" COMMAND ${_git} clone -q --bare snapshot tinyadapt.git)
  _run("git rev-parse" COMMAND ${_git} rev-parse HEAD
       WORKING_DIRECTORY "${WORK_DIR}/tinyadapt.git" OUTPUT_VARIABLE _sha)
  string(STRIP "${_sha}" _sha)
  list(APPEND _consumer_args "-DTINYADAPT_GIT_URL=file://${WORK_DIR}/tinyadapt.git"
                             "-DTINYADAPT_GIT_TAG=${_sha}")
  set(_lib_binary_dir "${_consumer_build}/_deps/tinyadapt-build")

elseif(MODE STREQUAL "fetch_url")
  _snapshot("${WORK_DIR}/tinyadapt-${_version}")
  set(_archive "${WORK_DIR}/tinyadapt-${_version}.tar.gz")
  _run("pack archive" COMMAND "${CMAKE_COMMAND}" -E tar czf "${_archive}"
                              "tinyadapt-${_version}")
  file(REMOVE_RECURSE "${WORK_DIR}/tinyadapt-${_version}")
  file(SHA256 "${_archive}" _hash)
  list(APPEND _consumer_args "-DTINYADAPT_URL=file://${_archive}"
                             "-DTINYADAPT_URL_SHA256=${_hash}")
  set(_lib_binary_dir "${_consumer_build}/_deps/tinyadapt-build")

elseif(MODE STREQUAL "find_package")
  # Install the library alone (no tests/benchmarks/examples), then move the
  # prefix elsewhere so that the package must be relocatable.
  set(_lib_build "${WORK_DIR}/lib-build")
  set(_stage "${WORK_DIR}/stage")
  set(_prefix "${WORK_DIR}/prefix")
  _run("configure library" COMMAND "${CMAKE_COMMAND}" -S "${TINYADAPT_SOURCE_DIR}"
       -B "${_lib_build}" ${_gen_args}
       -DTINYADAPT_BUILD_TESTS=OFF -DTINYADAPT_BUILD_BENCHMARKS=OFF
       -DTINYADAPT_BUILD_EXAMPLES=OFF "-DCMAKE_INSTALL_PREFIX=${WORK_DIR}/unused-prefix")
  _run("build library" COMMAND "${CMAKE_COMMAND}" --build "${_lib_build}"
       --parallel ${_jobs} ${_config_args})
  _run("install library" COMMAND "${CMAKE_COMMAND}" --install "${_lib_build}"
       --prefix "${_stage}" ${_config_args})
  if(EXISTS "${WORK_DIR}/unused-prefix")
    message(FATAL_ERROR "cmake --install ignored --prefix")
  endif()

  # Every public header is installed, and the package files are there.
  file(GLOB_RECURSE _src_headers RELATIVE "${TINYADAPT_SOURCE_DIR}/include"
       "${TINYADAPT_SOURCE_DIR}/include/*")
  foreach(_h IN LISTS _src_headers)
    if(NOT EXISTS "${_stage}/include/${_h}")
      message(FATAL_ERROR "header ${_h} was not installed")
    endif()
  endforeach()
  foreach(_f tinyadaptConfig.cmake tinyadaptConfigVersion.cmake tinyadaptTargets.cmake)
    if(NOT EXISTS "${_stage}/share/cmake/tinyadapt/${_f}")
      message(FATAL_ERROR "share/cmake/tinyadapt/${_f} was not installed")
    endif()
  endforeach()
  if(NOT EXISTS "${_stage}/share/pkgconfig/tinyadapt.pc")
    message(FATAL_ERROR "share/pkgconfig/tinyadapt.pc was not installed")
  endif()
  file(GLOB_RECURSE _installed_files RELATIVE "${_stage}" "${_stage}/*")
  list(FILTER _installed_files EXCLUDE REGEX "^(include/|share/cmake/tinyadapt/|share/pkgconfig/tinyadapt\\.pc$)")
  if(_installed_files)
    message(FATAL_ERROR "unexpected installed files: ${_installed_files}")
  endif()
  file(RENAME "${_stage}" "${_prefix}")

  # pkg-config: the installed tinyadapt.pc (relocated with the prefix) gives
  # the flags that build a consumer.
  find_program(_pkg_config NAMES pkg-config pkgconf REQUIRED)
  set(ENV{PKG_CONFIG_PATH} "${_prefix}/share/pkgconfig")
  _run("pkg-config --modversion" COMMAND "${_pkg_config}" --modversion tinyadapt OUTPUT_VARIABLE _pc_version)
  string(STRIP "${_pc_version}" _pc_version)
  if(NOT _pc_version STREQUAL _version)
    message(FATAL_ERROR "pkg-config says version '${_pc_version}', the project ${_version}")
  endif()
  _run("pkg-config --cflags" COMMAND "${_pkg_config}" --cflags tinyadapt OUTPUT_VARIABLE _pc_cflags)
  separate_arguments(_pc_cflags UNIX_COMMAND "${_pc_cflags}")
  _run("build a consumer with pkg-config's flags" COMMAND "${CXX_COMPILER}" -std=c++17 ${_pc_cflags}
       "${CONSUMER_DIR}/../pkgconfig_consumer.cpp" -o "${WORK_DIR}/pkgconfig_consumer")
  _run("run the pkg-config consumer" COMMAND "${WORK_DIR}/pkgconfig_consumer" OUTPUT_VARIABLE _out)
  if(NOT _out STREQUAL "tinyadapt ${_version}\n")
    message(FATAL_ERROR "the pkg-config consumer printed '${_out}'")
  endif()

  set(_find_args "-DCMAKE_PREFIX_PATH=${_prefix}"
                 "-DTINYADAPT_EXPECTED_PREFIX=${_prefix}"
                 -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
  # A request above the installed version must be refused.
  foreach(_too_high 1.0 0.2)
    _run("find_package(tinyadapt ${_too_high}) refused" EXPECT_FAILURE
         COMMAND "${CMAKE_COMMAND}" -S "${CONSUMER_DIR}"
         -B "${WORK_DIR}/consumer-${_too_high}" ${_gen_args} ${_consumer_args}
         ${_find_args} "-DTINYADAPT_REQUEST_VERSION=${_too_high}"
         OUTPUT_VARIABLE _out)
    string(REPLACE "." "\\." _re "${_too_high}")
    if(NOT _out MATCHES "compatible with requested version \"${_re}\"")
      message(FATAL_ERROR "find_package(tinyadapt ${_too_high}) failed for "
                          "another reason than the version:\n${_out}")
    endif()
  endforeach()
  list(APPEND _consumer_args ${_find_args} -DTINYADAPT_REQUEST_VERSION=0.1)

else()
  message(FATAL_ERROR "unknown MODE '${MODE}'")
endif()

_run("configure consumer (${MODE})" COMMAND "${CMAKE_COMMAND}" -S "${CONSUMER_DIR}"
     -B "${_consumer_build}" ${_gen_args} ${_consumer_args})
_run("build consumer" COMMAND "${CMAKE_COMMAND}" --build "${_consumer_build}"
     --parallel ${_jobs} ${_config_args})

# The consumer registers exactly one test; anything more means the library
# added its own tests to a project that merely uses it.
_run("list consumer tests" COMMAND "${CMAKE_CTEST_COMMAND}" -N ${_ctest_config_args}
     WORKING_DIRECTORY "${_consumer_build}" OUTPUT_VARIABLE _listing)
if(NOT _listing MATCHES "Total Tests: 1\n")
  message(FATAL_ERROR "the consumer build should have exactly one test:\n${_listing}")
endif()
if(_lib_binary_dir)
  if(NOT IS_DIRECTORY "${_lib_binary_dir}")
    message(FATAL_ERROR "library binary directory ${_lib_binary_dir} is missing")
  endif()
  foreach(_sub tests bench examples)
    if(EXISTS "${_lib_binary_dir}/${_sub}")
      message(FATAL_ERROR "${_sub}/ was configured although tinyadapt is not top-level")
    endif()
  endforeach()
  file(STRINGS "${_consumer_build}/CMakeCache.txt" _opts
       REGEX "^TINYADAPT_BUILD_(TESTS|BENCHMARKS|EXAMPLES):BOOL=")
  list(LENGTH _opts _n)
  if(NOT _n EQUAL 3)
    message(FATAL_ERROR "expected 3 TINYADAPT_BUILD_* options in the consumer cache, got: ${_opts}")
  endif()
  foreach(_o IN LISTS _opts)
    if(NOT _o MATCHES "=OFF$")
      message(FATAL_ERROR "consumer cache has ${_o}")
    endif()
  endforeach()
endif()

_run("run consumer" COMMAND "${_consumer_build}/bin/consumer" OUTPUT_VARIABLE _out)
if(NOT _out STREQUAL "tinyadapt ${_version}\n")
  message(FATAL_ERROR "consumer printed '${_out}', expected 'tinyadapt ${_version}'")
endif()
_run("ctest in consumer" COMMAND "${CMAKE_CTEST_COMMAND}" --output-on-failure
     ${_ctest_config_args} WORKING_DIRECTORY "${_consumer_build}")
message(STATUS "tinyadapt ${_version} consumed via ${MODE}")
