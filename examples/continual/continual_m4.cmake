# The continual-learning cycle on the Cortex-M4 (included from
# examples/m4/CMakeLists.txt, after its data-set check): continual_m4 runs
# under QEMU as a test. High water of the stack: see the program's output.
tinyadapt_add_target_test(continual_m4 SOURCES ${CMAKE_CURRENT_LIST_DIR}/continual_m4.cpp
  STACK_BYTES "$<IF:$<CONFIG:Debug>,16384,8192>" TIMEOUT 900)
target_include_directories(continual_m4 PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_options(continual_m4 PRIVATE -Wall -Wextra)
tinyadapt_flash_dataset(continual_m4 NAME digits DIGITS)
