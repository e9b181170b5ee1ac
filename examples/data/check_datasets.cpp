// Sanity checks for datasets.hpp (CTest datasets.load) and, when built with
// TINYADAPT_CHECK_FLASH, for the header made by tinyadapt_flash_dataset().
#include "datasets.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#ifdef TINYADAPT_CHECK_FLASH
#include "digits.hpp"
#endif

namespace {

int failures = 0;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "FAIL: %s\n", what);
    ++failures;
  }
}

bool pixels_in_unit_range(const data::Dataset& d) {
  return std::all_of(d.x.begin(), d.x.end(), [](float v) { return v >= 0.0f && v <= 1.0f; });
}

bool all_labels_present(const data::Dataset& d) {
  bool seen[10] = {};
  for (unsigned char c : d.y) {
    if (c > 9) return false;
    seen[c] = true;
  }
  return std::all_of(seen, seen + 10, [](bool b) { return b; });
}

// Full sets as raw bytes (fast even unoptimised), float API on a prefix.
void check_fashion(bool train, std::size_t expected) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<unsigned char> x, y;
  check(data::load_fashion_u8(x, y, train), "load_fashion_u8");
  const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
  std::printf("fashion %s: %zu samples (uint8) in %.3f s\n", train ? "train" : "test", y.size(),
              dt.count());
  check(y.size() == expected && x.size() == expected * 784, "fashion size");
  check(*std::max_element(y.begin(), y.end()) == 9 &&
            std::count(y.begin(), y.end(), 0) == static_cast<std::ptrdiff_t>(expected / 10),
        "fashion labels 0..9, balanced");

  data::Dataset d;
  check(data::load_fashion(d, train, 1000), "load_fashion max_samples");
  check(d.size() == 1000 && d.features == 784 && d.x.size() == 1000 * 784, "fashion prefix size");
  check(pixels_in_unit_range(d), "fashion pixels in [0,1]");
  check(all_labels_present(d), "fashion prefix labels 0..9, all present");
  bool same = std::equal(d.y.begin(), d.y.end(), y.begin());
  for (std::size_t i = 0; i < d.x.size(); ++i) same = same && d.x[i] == static_cast<float>(x[i]) * (1.0f / 255.0f);
  check(same, "fashion float prefix == uint8 * (1/255)");
}

}  // namespace

int main() {
  data::Dataset digits, train, test;
  check(data::load_digits(digits), "load_digits");
  check(digits.size() == 1797 && digits.features == 64, "digits size");
  check(digits.x.size() == 1797 * 64, "digits x size");
  check(pixels_in_unit_range(digits), "digits pixels in [0,1]");
  check(all_labels_present(digits), "digits labels 0..9, all present");
  check(digits.sample(1)[3] == 12.0f / 16.0f && digits.y[1] == 1, "digits row 1");

  data::split_digits(digits, train, test);
  check(train.size() == 1437 && test.size() == 360, "digits split sizes");
  check(train.features == 64 && test.x.size() == 360 * 64, "digits split features");
  check(std::equal(test.x.begin(), test.x.end(), digits.sample(1437)) &&
            test.y.back() == digits.y.back(),
        "digits test split is the last 360");

  const auto a = data::shuffled_indices(1000, 42), b = data::shuffled_indices(1000, 42);
  auto sorted = a;
  std::sort(sorted.begin(), sorted.end());
  bool permutation = true;
  for (std::size_t i = 0; i < sorted.size(); ++i) permutation = permutation && sorted[i] == i;
  check(a == b && permutation, "shuffled_indices is a seeded permutation");
  check(a != data::shuffled_indices(1000, 43), "different seeds give different orders");
  check(data::SplitMix64(0).next() == 0xE220A8397B1DCDAFull, "splitmix64 reference value");

#ifdef TINYADAPT_CHECK_FLASH
  std::vector<unsigned char> x, y;
  check(data::load_digits_u8(x, y), "load_digits_u8");
  check(data::digits::train_count == 1437 && data::digits::test_count == 360 &&
            data::digits::features == 64,
        "flash header counts");
  check(std::equal(x.begin(), x.begin() + 1437 * 64, data::digits::train_x) &&
            std::equal(y.begin(), y.begin() + 1437, data::digits::train_y) &&
            std::equal(x.begin() + 1437 * 64, x.end(), data::digits::test_x) &&
            std::equal(y.begin() + 1437, y.end(), data::digits::test_y),
        "flash header matches load_digits_u8");
#endif

  check_fashion(true, 60000);
  check_fashion(false, 10000);

  data::Dataset none;
  check(!data::load_digits(none, "/nonexistent/digits.csv.gz"), "missing file reports false");

  std::printf(failures ? "%d check(s) failed\n" : "all dataset checks passed\n", failures);
  return failures ? 1 : 0;
}
