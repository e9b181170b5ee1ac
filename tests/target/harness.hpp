// A small test harness for the target (Cortex-M4 under QEMU).
//
// It implements the subset of doctest that the shared test sources use:
// TEST_CASE("name"), CHECK(expr), CHECK_FALSE(expr), REQUIRE(expr),
// REQUIRE_FALSE(expr). Comparisons (a == b, a < b, ...) are decomposed as in
// doctest so that a failure prints both values. REQUIRE ends the current test
// case with longjmp (no exceptions on target): objects with destructors in
// the aborted test case are not destroyed, which is harmless for the static
// or trivially destructible data tests use here.
//
// main() (harness.cpp) runs every registered test case in registration order,
// prints each failure as file:line and the expression, then
// "N test cases, M checks, F failed", and returns 1 if anything failed.
// An optional argument -tc=<name> (a trailing * matches any suffix) selects
// test cases.
#pragma once

#include <stdint.h>

#include <type_traits>

namespace harness {

struct TestCase {
  TestCase(const char* name, void (*fn)(), const char* file, int line);
  const char* name;
  void (*fn)();
  const char* file;
  int line;
  TestCase* next = nullptr;
};

// A captured operand, kept small: enough to print it on failure.
struct Value {
  enum Kind : uint8_t { none, boolean, sint, uint, real, pointer } kind = none;
  union {
    int64_t i;
    uint64_t u;
    float f;
    const void* p;
  };
  Value() : u(0) {}
};

template <class T>
Value capture(const T& v) {
  Value r;
  if constexpr (std::is_same_v<T, bool>) {
    r.kind = Value::boolean, r.u = v;
  } else if constexpr (std::is_floating_point_v<T>) {
    r.kind = Value::real, r.f = static_cast<float>(v);
  } else if constexpr (std::is_enum_v<T>) {
    return capture(static_cast<std::underlying_type_t<T>>(v));
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    r.kind = Value::sint, r.i = v;
  } else if constexpr (std::is_integral_v<T>) {
    r.kind = Value::uint, r.u = v;
  } else if constexpr (std::is_pointer_v<T>) {
    r.kind = Value::pointer, r.p = const_cast<const void*>(reinterpret_cast<const volatile void*>(v));
  } else if constexpr (std::is_null_pointer_v<T>) {
    r.kind = Value::pointer, r.p = nullptr;
  }
  return r;  // other types: printed as "?"
}

struct Result {
  bool passed;
  Value lhs, rhs;
  const char* op;  // nullptr: a single value, not a comparison
};

// Suppress the warnings the comparisons would give for the user's operand
// types (doctest does the same).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wfloat-equal"
template <class L>
struct ExprLhs {
  const L& lhs;
  operator Result() const { return {static_cast<bool>(lhs), capture(lhs), Value{}, nullptr}; }
#define HARNESS_BINARY_OP(op)                                \
  template <class R>                                         \
  Result operator op(const R& rhs) const {                   \
    return {(lhs op rhs) ? true : false, capture(lhs), capture(rhs), #op}; \
  }
  HARNESS_BINARY_OP(==)
  HARNESS_BINARY_OP(!=)
  HARNESS_BINARY_OP(<)
  HARNESS_BINARY_OP(<=)
  HARNESS_BINARY_OP(>)
  HARNESS_BINARY_OP(>=)
#undef HARNESS_BINARY_OP
};
#pragma GCC diagnostic pop

struct Decomposer {
  // << binds tighter than the comparisons, so `d << a == b` is `(d << a) == b`.
  template <class L>
  ExprLhs<L> operator<<(const L& lhs) const {
    return {lhs};
  }
};

enum Flags : unsigned { check = 0, negate = 1, require = 2 };

// Records one check; returns false when it failed.
bool report(const Result& r, unsigned flags, const char* macro, const char* expr, const char* file, int line);
// Ends the running test case (REQUIRE).
[[noreturn]] void abort_test_case();

}  // namespace harness

#define HARNESS_CAT2(a, b) a##b
#define HARNESS_CAT(a, b) HARNESS_CAT2(a, b)
#define HARNESS_TEST_CASE(fn, reg, name)                                \
  static void fn();                                                     \
  static ::harness::TestCase reg(name, &fn, __FILE__, __LINE__);        \
  static void fn()
#define TEST_CASE(name) \
  HARNESS_TEST_CASE(HARNESS_CAT(harness_test_, __COUNTER__), HARNESS_CAT(harness_registrar_, __COUNTER__), name)

#define HARNESS_ASSERT(macro, flags, ...)                                                                       \
  do {                                                                                                          \
    if (!::harness::report(::harness::Decomposer() << __VA_ARGS__, flags, macro, #__VA_ARGS__, __FILE__, __LINE__) && \
        ((flags) & ::harness::require))                                                                         \
      ::harness::abort_test_case();                                                                             \
  } while (false)

#define CHECK(...) HARNESS_ASSERT("CHECK", ::harness::check, __VA_ARGS__)
#define CHECK_FALSE(...) HARNESS_ASSERT("CHECK_FALSE", ::harness::negate, __VA_ARGS__)
#define REQUIRE(...) HARNESS_ASSERT("REQUIRE", ::harness::require, __VA_ARGS__)
#define REQUIRE_FALSE(...) HARNESS_ASSERT("REQUIRE_FALSE", ::harness::require | ::harness::negate, __VA_ARGS__)
