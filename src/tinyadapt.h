// Arduino and PlatformIO entry point: the library's headers live in
// include/tinyadapt/ (the CMake and pkg-config include path); an Arduino
// build only puts src/ on the include path, so this header forwards to them.
//
//   #include <tinyadapt.h>
#pragma once
#include "../include/tinyadapt/tinyadapt.hpp"
