# Optional dependencies of the project's own parts (the library itself needs
# only CMake and a C++17 compiler):
#
#   tests        doctest (Debian: doctest-dev); not on bare metal, which has
#                its own harness
#   benchmarks   Google Benchmark (libbenchmark-dev), host builds only
#   examples     zlib (zlib1g-dev) and the data sets (python3-sklearn,
#                dataset-fashion-mnist) for the data-set examples; checked
#                where they are defined (examples/, tests/)
#
# A part whose dependency is missing is switched off with one message,
# unless TINYADAPT_REQUIRE_DEPENDENCIES is ON: then the configure fails.
include_guard(GLOBAL)

# tinyadapt_missing(<what is left out> <why, and what to install>)
function(tinyadapt_missing what why)
  if(TINYADAPT_REQUIRE_DEPENDENCIES)
    message(FATAL_ERROR "tinyadapt: ${what} cannot be built: ${why} "
                        "(TINYADAPT_REQUIRE_DEPENDENCIES is ON)")
  endif()
  message(NOTICE "tinyadapt: ${what} left out: ${why}")
endfunction()

if(TINYADAPT_BUILD_TESTS AND NOT TINYADAPT_BARE_METAL)
  # A cross build must not search the build host's /usr/include: the tests
  # copy doctest's single header into a private include directory.
  find_path(TINYADAPT_DOCTEST_DIR doctest/doctest.h NO_CMAKE_FIND_ROOT_PATH
            DOC "Directory holding doctest/doctest.h (Debian: doctest-dev)")
  if(NOT TINYADAPT_DOCTEST_DIR)
    tinyadapt_missing("the test suite" "doctest/doctest.h not found (apt-get install doctest-dev)")
    set(TINYADAPT_BUILD_TESTS OFF)
  endif()
endif()

if(TINYADAPT_BUILD_BENCHMARKS AND NOT CMAKE_CROSSCOMPILING)
  find_package(benchmark QUIET)
  if(NOT benchmark_FOUND)
    tinyadapt_missing("the host benchmarks"
                      "Google Benchmark not found (apt-get install libbenchmark-dev)")
    set(TINYADAPT_BUILD_BENCHMARKS OFF)
  endif()
endif()
