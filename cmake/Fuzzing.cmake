# tinyadapt_add_fuzz_test(NAME <test> SOURCE <file> CORPUS <dir> SECONDS <s> MAX_LEN <n>
#                         [COMPILE_OPTIONS <opt>...])
# A libFuzzer target (clang: -fsanitize=fuzzer,address,undefined,float-cast-overflow)
# and a ctest that runs it for SECONDS from the committed seed CORPUS; new
# inputs and crash artifacts go to the build tree. Without clang's libFuzzer
# the test is reported missing (an error with TINYADAPT_REQUIRE_DEPENDENCIES).
function(tinyadapt_add_fuzz_test)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "NAME;SOURCE;CORPUS;SECONDS;MAX_LEN" "COMPILE_OPTIONS")
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang" OR CMAKE_CROSSCOMPILING)
    return()
  endif()
  include(CheckCXXSourceCompiles)
  set(CMAKE_REQUIRED_FLAGS "-fsanitize=fuzzer")
  check_cxx_source_compiles([[
    #include <cstddef>
    #include <cstdint>
    extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t*, std::size_t) { return 0; }
  ]] TINYADAPT_HAVE_LIBFUZZER)
  unset(CMAKE_REQUIRED_FLAGS)
  if(NOT TINYADAPT_HAVE_LIBFUZZER)
    tinyadapt_missing("test ${arg_NAME}" "clang cannot link -fsanitize=fuzzer (apt-get install libclang-rt-14-dev)")
    return()
  endif()
  string(REPLACE "." "_" target "tinyadapt_${arg_NAME}")
  set(flags -fsanitize=fuzzer,address,undefined,float-cast-overflow -fno-sanitize-recover=all)
  add_executable(${target} ${arg_SOURCE})
  target_link_libraries(${target} PRIVATE tinyadapt::tinyadapt)
  target_compile_options(${target} PRIVATE ${flags} ${arg_COMPILE_OPTIONS} -fno-omit-frame-pointer -g -O1)
  target_link_options(${target} PRIVATE ${flags})
  tinyadapt_warnings(${target})
  set(dir ${CMAKE_CURRENT_BINARY_DIR}/${arg_NAME})
  file(MAKE_DIRECTORY ${dir}/corpus ${dir}/artifacts)
  add_test(NAME ${arg_NAME}
           COMMAND ${target} -max_total_time=${arg_SECONDS} -error_exitcode=1 -timeout=10 -max_len=${arg_MAX_LEN}
                   -print_final_stats=1 -artifact_prefix=${dir}/artifacts/ ${dir}/corpus ${arg_CORPUS})
  set_tests_properties(${arg_NAME} PROPERTIES TIMEOUT 120)
endfunction()
