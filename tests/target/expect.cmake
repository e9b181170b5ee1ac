# Runs a command and checks its exit status and output, for tests whose
# expected outcome is a particular failure (a fault, a failed link).
#
#   cmake -DEXPECT_EXIT=<n|nonzero> [-DEXPECT1=<regex> ... -DEXPECT9=<regex>]
#         [-DREJECT=<regex>] -P expect.cmake -- <command> [<args>...]
#
# Passes when the exit status matches, every EXPECTn regex matches the
# combined stdout/stderr and REJECT does not.

set(cmd "")
set(after_dashes FALSE)
math(EXPR last "${CMAKE_ARGC} - 1")
foreach(i RANGE ${last})
  if(after_dashes)
    list(APPEND cmd "${CMAKE_ARGV${i}}")
  elseif(CMAKE_ARGV${i} STREQUAL "--")
    set(after_dashes TRUE)
  endif()
endforeach()
if(NOT cmd)
  message(FATAL_ERROR "expect.cmake: no command after --")
endif()

execute_process(COMMAND ${cmd} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE out)
message("${out}")
message("exit status: ${status}")

set(ok TRUE)
if(EXPECT_EXIT STREQUAL "nonzero")
  if(status STREQUAL "0" OR NOT status MATCHES "^[0-9]+$")
    message("expected a nonzero exit status")
    set(ok FALSE)
  endif()
elseif(NOT status STREQUAL "${EXPECT_EXIT}")
  message("expected exit status ${EXPECT_EXIT}")
  set(ok FALSE)
endif()
foreach(n RANGE 1 9)
  if(DEFINED EXPECT${n} AND NOT out MATCHES "${EXPECT${n}}")
    message("output does not match: ${EXPECT${n}}")
    set(ok FALSE)
  endif()
endforeach()
if(DEFINED REJECT AND out MATCHES "${REJECT}")
  message("output must not match: ${REJECT}")
  set(ok FALSE)
endif()
if(NOT ok)
  message(FATAL_ERROR "FAILED")
endif()
