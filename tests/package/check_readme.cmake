# Checks that what README.md tells a newcomer works as written (MODE):
#   snippet      the program of "A training program" compiles with
#                -Wall -Wextra -Werror (CXX_COMPILER, host)
#   m4_program   tests/package/m4_consumer (the README's "Your own Cortex-M4
#                program") configures with cmake/arm-none-eabi.cmake, builds,
#                and runs under the README's QEMU command line, which must
#                exit 0 with the program's output
#
# Usage: cmake -DMODE=... -DTINYADAPT_SOURCE_DIR=... -DWORK_DIR=...
#              [-DCXX_COMPILER=...] [-DGENERATOR=...] -P check_readme.cmake
cmake_minimum_required(VERSION 3.21)

foreach(_var MODE TINYADAPT_SOURCE_DIR WORK_DIR)
  if(NOT ${_var})
    message(FATAL_ERROR "check_readme.cmake: ${_var} is not set")
  endif()
endforeach()
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
file(READ "${TINYADAPT_SOURCE_DIR}/README.md" _readme)

function(_run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE _rc OUTPUT_VARIABLE _out
                  ERROR_VARIABLE _out TIMEOUT 300)
  if(NOT _rc EQUAL 0)
    string(REPLACE ";" " " _cmd "${ARGN}")
    message(FATAL_ERROR "${what}: failed (${_rc})\ncommand: ${_cmd}\n${_out}")
  endif()
  message(STATUS "${what}: ok")
  set(_out "${_out}" PARENT_SCOPE)
endfunction()

# The first fenced block of language <lang> after the heading <heading>
# whose text matches <regex>, into <out_var>.
function(_block out_var heading lang regex)
  string(FIND "${_readme}" "\n## ${heading}\n" _at)
  if(_at LESS 0)
    message(FATAL_ERROR "README.md has no section '## ${heading}'")
  endif()
  string(SUBSTRING "${_readme}" ${_at} -1 _rest)
  # One block at a time (a list would split the code at its semicolons).
  while(TRUE)
    string(FIND "${_rest}" "\n```${lang}\n" _open)
    if(_open LESS 0)
      break()
    endif()
    string(LENGTH "\n```${lang}\n" _skip)
    math(EXPR _open "${_open} + ${_skip}")
    string(SUBSTRING "${_rest}" ${_open} -1 _rest)
    string(FIND "${_rest}" "\n```" _close)
    if(_close LESS 0)
      break()
    endif()
    string(SUBSTRING "${_rest}" 0 ${_close} _b)
    string(SUBSTRING "${_rest}" ${_close} -1 _rest)
    if(_b MATCHES "${regex}")
      set(${out_var} "${_b}\n" PARENT_SCOPE)
      return()
    endif()
  endwhile()
  message(FATAL_ERROR "README.md, section '${heading}': no ```${lang} block matching '${regex}'")
endfunction()

if(MODE STREQUAL "snippet")
  _block(_code "A training program" "cpp" "train_step")
  file(WRITE "${WORK_DIR}/readme_program.cpp" "${_code}")
  _run("README program compiles without warnings"
       "${CXX_COMPILER}" -std=c++17 -Wall -Wextra -Werror
       "-I${TINYADAPT_SOURCE_DIR}/include" -c "${WORK_DIR}/readme_program.cpp"
       -o "${WORK_DIR}/readme_program.o")

elseif(MODE STREQUAL "m4_program")
  _run("configure the README's own Cortex-M4 program"
       "${CMAKE_COMMAND}" -S "${TINYADAPT_SOURCE_DIR}/tests/package/m4_consumer"
       -B "${WORK_DIR}/build" -G "${GENERATOR}"
       "-DCMAKE_TOOLCHAIN_FILE=${TINYADAPT_SOURCE_DIR}/cmake/arm-none-eabi.cmake"
       "-DTINYADAPT_SOURCE=${TINYADAPT_SOURCE_DIR}")
  _run("build it" "${CMAKE_COMMAND}" --build "${WORK_DIR}/build" --parallel 2)
  if(NOT EXISTS "${WORK_DIR}/build/my_app.elf" OR NOT EXISTS "${WORK_DIR}/build/my_app.map")
    message(FATAL_ERROR "my_app.elf or my_app.map was not written")
  endif()
  # The README's command line, run on this ELF instead of sine_m4's.
  _block(_sh "Building for each target" "sh" "qemu-system-arm")
  string(REPLACE "\\\n" " " _sh "${_sh}")
  string(STRIP "${_sh}" _sh)
  string(REPLACE "build/m4/examples/m4/sine_m4.elf" "${WORK_DIR}/build/my_app.elf" _line "${_sh}")
  if(_line STREQUAL _sh)
    message(FATAL_ERROR "the README's QEMU line does not run build/m4/examples/m4/sine_m4.elf:\n${_sh}")
  endif()
  _run("README QEMU command line" sh -c "${_line}")
  if(NOT _out MATCHES "my_app: mean loss of the first 100 steps [0-9.]+, of the last 100 [0-9.]+")
    message(FATAL_ERROR "the program's output is missing:\n${_out}")
  endif()

else()
  message(FATAL_ERROR "unknown MODE '${MODE}'")
endif()
