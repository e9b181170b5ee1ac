# Dataset helpers for the examples.
#
#   tinyadapt_find_datasets()
#     Cache variables TINYADAPT_DIGITS_CSV and TINYADAPT_FASHION_DIR (default to
#     the Debian locations, override with -D), finds ZLIB (host builds), and
#     sets TINYADAPT_HAVE_DATASETS in the caller's scope; when FALSE,
#     TINYADAPT_DATASETS_MISSING (also the global property of that name)
#     says what is missing and which package provides it.
#
#   tinyadapt_flash_datasets_available(<var>)
#     Sets <var> to TRUE when tinyadapt_flash_dataset() can work here (data
#     sets present, generator built for the build host with its zlib), else
#     to a sentence saying what is missing.
#
#   tinyadapt_flash_dataset(<target> NAME <name> DIGITS|FASHION [TRAIN n] [TEST n])
#     At build time writes <binary dir>/tinyadapt_data/<name>.hpp with the subset
#     as const uint8 arrays in namespace data::<name> (flash/.rodata) and adds
#     that directory to <target>'s include path.  DIGITS: first TRAIN of the
#     1,437 train rows and first TEST of the last 360 (defaults: all).
#     FASHION: first TRAIN images of the train file and first TEST of t10k
#     (defaults 2000 / 500).  The generator (examples/data/flash_dataset.cpp)
#     is compiled for the build host with TINYADAPT_HOST_CXX, so this also
#     works in the arm-none-eabi cross build.
include_guard(GLOBAL)

set(TINYADAPT_DATASETS_SOURCE_DIR "${CMAKE_CURRENT_LIST_DIR}/../examples/data"
    CACHE INTERNAL "Sources of the dataset loaders and the flash-header generator")

function(tinyadapt_find_datasets)
  set(TINYADAPT_DIGITS_CSV
      "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz"
      CACHE FILEPATH "Digits 8x8 CSV (Debian package python3-sklearn)")
  set(TINYADAPT_FASHION_DIR "/usr/share/datasets/fashion-mnist"
      CACHE PATH "Fashion-MNIST IDX files (Debian package dataset-fashion-mnist)")
  # The cross builds do not link the target's zlib: bare metal only runs the
  # generator (the build host's zlib), a Linux target reads files the build
  # decompressed (examples/data/CMakeLists.txt).
  if(NOT CMAKE_CROSSCOMPILING)
    find_package(ZLIB QUIET)
  endif()
  set(missing "")
  if(NOT EXISTS "${TINYADAPT_DIGITS_CSV}")
    list(APPEND missing "digits data ${TINYADAPT_DIGITS_CSV} (apt-get install python3-sklearn)")
  endif()
  foreach(f train-images-idx3 train-labels-idx1 t10k-images-idx3 t10k-labels-idx1)
    if(NOT EXISTS "${TINYADAPT_FASHION_DIR}/${f}-ubyte.gz")
      list(APPEND missing "Fashion-MNIST in ${TINYADAPT_FASHION_DIR} (apt-get install dataset-fashion-mnist)")
      break()
    endif()
  endforeach()
  if(NOT CMAKE_CROSSCOMPILING AND NOT ZLIB_FOUND)
    list(APPEND missing "zlib (apt-get install zlib1g-dev)")
  endif()
  if(missing)
    set(have FALSE)
    string(REPLACE ";" ", " missing "no ${missing}")
  else()
    set(have TRUE)
  endif()
  # Why the data-set parts are left out, for the messages of every directory.
  set_property(GLOBAL PROPERTY TINYADAPT_DATASETS_MISSING "${missing}")
  set(TINYADAPT_HAVE_DATASETS ${have} PARENT_SCOPE)
  set(TINYADAPT_DATASETS_MISSING "${missing}" PARENT_SCOPE)
  set(ZLIB_FOUND ${ZLIB_FOUND} PARENT_SCOPE)
endfunction()

# Compiles the generator for the build host at configure time (again whenever
# its sources change) and returns its path, or "" with the reason in err_var.
function(_tinyadapt_flash_generator out_var err_var)
  set(${out_var} "" PARENT_SCOPE)
  find_program(TINYADAPT_HOST_CXX NAMES c++ g++ clang++ NO_CMAKE_FIND_ROOT_PATH
               DOC "C++ compiler for the build host (dataset header generator)")
  if(NOT TINYADAPT_HOST_CXX)
    set(${err_var} "no C++ compiler for the build host (set TINYADAPT_HOST_CXX)" PARENT_SCOPE)
    return()
  endif()
  set(src "${TINYADAPT_DATASETS_SOURCE_DIR}/flash_dataset.cpp")
  set(hdr "${TINYADAPT_DATASETS_SOURCE_DIR}/datasets.hpp")
  set(exe "${CMAKE_BINARY_DIR}/tinyadapt_data/flash_dataset${CMAKE_HOST_EXECUTABLE_SUFFIX}")
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${src}" "${hdr}")
  if(NOT EXISTS "${exe}" OR "${src}" IS_NEWER_THAN "${exe}" OR "${hdr}" IS_NEWER_THAN "${exe}")
    file(MAKE_DIRECTORY "${CMAKE_BINARY_DIR}/tinyadapt_data")
    execute_process(
      COMMAND "${TINYADAPT_HOST_CXX}" -std=c++17 -O2 -o "${exe}" "${src}" -lz
      RESULT_VARIABLE rc ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
      file(REMOVE "${exe}")
      set(${err_var} "building the data-set header generator with ${TINYADAPT_HOST_CXX} "
                     "failed (needs zlib1g-dev on the build host):\n${err}" PARENT_SCOPE)
      return()
    endif()
  endif()
  set(${out_var} "${exe}" PARENT_SCOPE)
endfunction()

function(tinyadapt_flash_datasets_available out_var)
  if(NOT DEFINED TINYADAPT_HAVE_DATASETS)
    tinyadapt_find_datasets()
  endif()
  if(NOT TINYADAPT_HAVE_DATASETS)
    set(${out_var} "${TINYADAPT_DATASETS_MISSING}" PARENT_SCOPE)
    return()
  endif()
  _tinyadapt_flash_generator(generator err)
  if(generator)
    set(${out_var} TRUE PARENT_SCOPE)
  else()
    set(${out_var} "${err}" PARENT_SCOPE)
  endif()
endfunction()

function(tinyadapt_flash_dataset target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "DIGITS;FASHION" "NAME;TRAIN;TEST" "")
  if(arg_UNPARSED_ARGUMENTS OR NOT arg_NAME MATCHES "^[A-Za-z_][A-Za-z0-9_]*$"
     OR (arg_DIGITS AND arg_FASHION) OR NOT (arg_DIGITS OR arg_FASHION))
    message(FATAL_ERROR "usage: tinyadapt_flash_dataset(<target> NAME <identifier> "
                        "DIGITS|FASHION [TRAIN n] [TEST n])")
  endif()
  if(NOT DEFINED TINYADAPT_DIGITS_CSV OR NOT DEFINED TINYADAPT_FASHION_DIR)
    tinyadapt_find_datasets()
  endif()
  if(arg_DIGITS)
    set(kind digits)
    set(source "${TINYADAPT_DIGITS_CSV}")
    set(inputs "${source}")
    set(train 1437)
    set(test 360)
  else()
    set(kind fashion)
    set(source "${TINYADAPT_FASHION_DIR}")
    set(inputs "")
    foreach(f train-images-idx3 train-labels-idx1 t10k-images-idx3 t10k-labels-idx1)
      list(APPEND inputs "${source}/${f}-ubyte.gz")
    endforeach()
    set(train 2000)
    set(test 500)
  endif()
  foreach(f IN LISTS inputs)
    if(NOT EXISTS "${f}")
      message(FATAL_ERROR "tinyadapt_flash_dataset: ${f} not found (apt-get install "
                          "python3-sklearn dataset-fashion-mnist, or set "
                          "TINYADAPT_DIGITS_CSV / TINYADAPT_FASHION_DIR)")
    endif()
  endforeach()
  if(DEFINED arg_TRAIN)
    set(train ${arg_TRAIN})
  endif()
  if(DEFINED arg_TEST)
    set(test ${arg_TEST})
  endif()
  if(NOT train MATCHES "^[1-9][0-9]*$" OR NOT test MATCHES "^[1-9][0-9]*$")
    message(FATAL_ERROR "tinyadapt_flash_dataset: TRAIN and TEST must be positive integers")
  endif()

  _tinyadapt_flash_generator(generator err)
  if(NOT generator)
    message(FATAL_ERROR "tinyadapt_flash_dataset: ${err}")
  endif()
  set(dir "${CMAKE_CURRENT_BINARY_DIR}/tinyadapt_data")
  set(header "${dir}/${arg_NAME}.hpp")
  add_custom_command(
    OUTPUT "${header}"
    COMMAND "${CMAKE_COMMAND}" -E make_directory "${dir}"
    COMMAND "${generator}" "${header}" ${arg_NAME} ${kind} "${source}" ${train} ${test}
    DEPENDS "${generator}" ${inputs}
    COMMENT "Generating ${arg_NAME}.hpp (${kind}, ${train} train + ${test} test)"
    VERBATIM)
  add_custom_target(${target}_${arg_NAME}_data DEPENDS "${header}")
  add_dependencies(${target} ${target}_${arg_NAME}_data)
  target_include_directories(${target} PRIVATE "${dir}")
endfunction()
