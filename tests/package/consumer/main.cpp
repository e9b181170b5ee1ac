// Downstream program for the packaging tests: compiles against the headers
// that tinyadapt::tinyadapt exposes and checks the version they report.
#include <tinyadapt/version.hpp>

#if defined(__has_include)
#if __has_include(<tinyadapt/tinyadapt.hpp>)
#include <tinyadapt/tinyadapt.hpp>
#endif
#endif

#include <cstdio>
#include <cstring>

static_assert(__cplusplus >= 201703L, "tinyadapt::tinyadapt must require C++17");
static_assert(TINYADAPT_VERSION_MAJOR == CONSUMER_EXPECT_MAJOR, "major version mismatch");
static_assert(TINYADAPT_VERSION_MINOR == CONSUMER_EXPECT_MINOR, "minor version mismatch");
static_assert(TINYADAPT_VERSION_PATCH == CONSUMER_EXPECT_PATCH, "patch version mismatch");
static_assert(tinyadapt::version_major == TINYADAPT_VERSION_MAJOR, "version_major");
static_assert(tinyadapt::version_minor == TINYADAPT_VERSION_MINOR, "version_minor");
static_assert(tinyadapt::version_patch == TINYADAPT_VERSION_PATCH, "version_patch");
static_assert(TINYADAPT_VERSION == TINYADAPT_VERSION_MAJOR * 10000 +
                                       TINYADAPT_VERSION_MINOR * 100 +
                                       TINYADAPT_VERSION_PATCH,
              "TINYADAPT_VERSION");

int main() {
  char built[32];
  std::snprintf(built, sizeof built, "%d.%d.%d", tinyadapt::version_major,
                tinyadapt::version_minor, tinyadapt::version_patch);
  if (std::strcmp(built, tinyadapt::version_string) != 0 ||
      std::strcmp(built, CONSUMER_EXPECT_STRING) != 0) {
    std::printf("version mismatch: numbers %s, string %s, package %s\n", built,
                tinyadapt::version_string, CONSUMER_EXPECT_STRING);
    return 1;
  }
  std::printf("tinyadapt %s\n", tinyadapt::version_string);
  return 0;
}
