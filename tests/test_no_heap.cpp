// "No heap" is proven, not assumed: operator new and malloc are replaced and
// any call while a network is built, trained or evaluated fails the test.
#include <cstdlib>
#include <new>

#include <tinyadapt/tinyadapt.hpp>

#include "support/test.hpp"

// C allocation too: malloc itself is replaced (glibc's real one is __libc_malloc).
// Sanitizers interpose malloc themselves, so there only operator new is trapped.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TRAP_MALLOC 0
#endif
#endif
#if !defined(TRAP_MALLOC) && defined(__SANITIZE_ADDRESS__)
#define TRAP_MALLOC 0
#endif
#ifndef TRAP_MALLOC
#define TRAP_MALLOC 1
extern "C" void* __libc_malloc(std::size_t);

#endif

namespace {
bool trap = false;
int allocations = 0;
void* counted(std::size_t n) {
  if (trap && !TRAP_MALLOC) ++allocations;  // else malloc below counts it
  void* p = std::malloc(n == 0 ? 1 : n);
  if (!p) std::abort();
  return p;
}
}  // namespace

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // our new is malloc, so free is the match
#endif
#if TRAP_MALLOC
extern "C" void* malloc(std::size_t n) {
  if (trap) ++allocations;
  return __libc_malloc(n);
}
#endif

void* operator new(std::size_t n) { return counted(n); }
void* operator new[](std::size_t n) { return counted(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }


namespace ta = tinyadapt;
using W3 = ta::Sequential<ta::Input<28, 28, 1>, ta::Conv2D<8, 3>, ta::ReLU, ta::MaxPool2D<2>, ta::Conv2D<16, 3>,
                          ta::ReLU, ta::MaxPool2D<2>, ta::Flatten, ta::Dense<10>>;
using W1 = ta::Sequential<ta::Input<1>, ta::Dense<64>, ta::Tanh, ta::Dense<64>, ta::Tanh, ta::Dense<1>>;

TEST_CASE("no heap: the trap itself catches new and malloc") {
  trap = true;
  allocations = 0;
  // Escaping through a volatile keeps compilers from eliding the allocations.
  static void* volatile escape = nullptr;
  (void)escape;
  int* p = new int(3);
  escape = p;
  delete static_cast<int*>(escape);
  void* m = std::malloc(16);
  escape = m;
  std::free(escape);
  trap = false;
  CHECK(allocations == 1 + TRAP_MALLOC);  // sanitizers own malloc
}

TEST_CASE("no heap while building, initialising, training and evaluating") {
  trap = true;
  allocations = 0;
  {
    auto* net = new (std::nothrow) W3;  // counted: excluded below
    allocations = 0;
    ta::Rng rng(3);
    net->init(rng, ta::Init::he_uniform);
    static float x[784];
    for (auto& v : x) v = rng.uniform();
    ta::SGD<W3> sgd(0.01f);
    for (unsigned i = 0; i < 3; ++i) CHECK(ta::train_step<ta::SoftmaxCrossEntropy>(*net, sgd, x, i).ok());
    static ta::Adam<W3> adam(1e-3f);
    CHECK(ta::train_step<ta::SoftmaxCrossEntropy>(*net, adam, x, 1u).ok());
    static ta::GradientAccumulator<W3> acc;
    CHECK(acc.add<ta::SoftmaxCrossEntropy>(*net, x, 2u).ok());
    CHECK(acc.apply(*net, sgd) == ta::Status::ok);
    (void)ta::predict(*net, x);
    W1 small;  // on the stack
    small.init(rng);
    ta::SGDMomentum<W1> mom(0.01f, 0.9f, true);
    const float in = 0.5f, target = 0.25f;
    CHECK(ta::train_step<ta::MSE>(small, mom, &in, &target).ok());
    CHECK(allocations == 0);
    trap = false;
    delete net;
  }
  trap = false;
}
