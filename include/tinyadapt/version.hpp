// tinyadapt version. Kept in step with project(VERSION) in the top-level
// CMakeLists.txt; the test tinyadapt.package.version_header checks that.
#ifndef TINYADAPT_VERSION_HPP
#define TINYADAPT_VERSION_HPP

#define TINYADAPT_VERSION_MAJOR 0
#define TINYADAPT_VERSION_MINOR 1
#define TINYADAPT_VERSION_PATCH 0
#define TINYADAPT_VERSION_STRING "0.1.0"

// Single number for preprocessor comparisons: MAJOR * 10000 + MINOR * 100 + PATCH.
#define TINYADAPT_VERSION                                                   \
  (TINYADAPT_VERSION_MAJOR * 10000 + TINYADAPT_VERSION_MINOR * 100 +       \
   TINYADAPT_VERSION_PATCH)

namespace tinyadapt {

inline constexpr int version_major = TINYADAPT_VERSION_MAJOR;
inline constexpr int version_minor = TINYADAPT_VERSION_MINOR;
inline constexpr int version_patch = TINYADAPT_VERSION_PATCH;
inline constexpr const char* version_string = TINYADAPT_VERSION_STRING;

}  // namespace tinyadapt

#endif  // TINYADAPT_VERSION_HPP
