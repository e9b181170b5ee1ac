# Strict warnings for the project's own targets (tests, benchmarks, examples);
# TINYADAPT_WERROR turns them into errors (the test script sets it).
option(TINYADAPT_WERROR "Treat warnings as errors in the project's own targets" OFF)
function(tinyadapt_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Wshadow -Wconversion>
    $<$<AND:$<BOOL:${TINYADAPT_WERROR}>,$<CXX_COMPILER_ID:GNU,Clang>>:-Werror>)
endfunction()
