// Host-side loaders for the example datasets (not for the microcontroller).
//
//   Digits 8x8      python3-sklearn        digits.csv.gz, 1,797 samples, 0..16
//   Fashion-MNIST   dataset-fashion-mnist  IDX files, 60,000 + 10,000, 0..255
//
// Pixels are scaled to [0,1]; images are row-major (28x28x1 channel-last for
// Fashion-MNIST).  The *_u8 variants return the raw bytes and are used by the
// flash-header generator.  Needs zlib (link ZLIB::ZLIB), except with
// TINYADAPT_DATASETS_RAW: then a path "name.gz" is read, uncompressed, from
// "name" (a cross build for the Raspberry Pi decompresses the files first).
#pragma once

#if !defined(TINYADAPT_DATASETS_RAW)
#include <zlib.h>
#endif

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#ifndef TINYADAPT_DIGITS_CSV
#define TINYADAPT_DIGITS_CSV "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz"
#endif
#ifndef TINYADAPT_FASHION_DIR
#define TINYADAPT_FASHION_DIR "/usr/share/datasets/fashion-mnist"
#endif

namespace data {

constexpr std::size_t digits_features = 64, digits_train = 1437, digits_test = 360;
constexpr std::size_t fashion_features = 28 * 28;
constexpr std::size_t no_limit = static_cast<std::size_t>(-1);

struct Dataset {
  std::size_t features = 0;
  std::vector<float> x;           // size() * features values in [0,1]
  std::vector<unsigned char> y;   // labels 0..9
  std::size_t size() const { return y.size(); }
  const float* sample(std::size_t i) const { return x.data() + i * features; }
};

namespace detail {

// The file layer: zlib, or plain stdio over the decompressed files.
#if defined(TINYADAPT_DATASETS_RAW)
using GzFile = std::FILE*;
using GzPtr = std::unique_ptr<std::FILE, int (*)(std::FILE*)>;

inline GzPtr open_file(std::string& path) {
  if (path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0) path.resize(path.size() - 3);
  return GzPtr(std::fopen(path.c_str(), "rb"), std::fclose);
}
// Bytes read into p (0 at end of file), or -1 on error.
inline long read_chunk(GzFile f, unsigned char* p, std::size_t n) {
  const std::size_t got = std::fread(p, 1, n, f);
  return std::ferror(f) ? -1 : static_cast<long>(got);
}
inline const char* read_error(GzFile) { return "read error"; }
#else
using GzFile = gzFile;
using GzPtr = std::unique_ptr<gzFile_s, int (*)(gzFile)>;

inline GzPtr open_file(const std::string& path) { return GzPtr(gzopen(path.c_str(), "rb"), gzclose); }
inline long read_chunk(GzFile f, unsigned char* p, std::size_t n) {
  return gzread(f, p, static_cast<unsigned>(n));
}
inline const char* read_error(GzFile f) {
  int err = 0;
  return gzerror(f, &err);
}
#endif

inline GzPtr open_gz(const std::string& path, const char* package) {
  std::string opened = path;
  GzPtr f = open_file(opened);
  if (!f)
    std::fprintf(stderr, "datasets: cannot open %s (install the Debian package %s)\n",
                 opened.c_str(), package);
  return f;
}

// Appends up to n decompressed bytes (fewer at end of file) to out.
inline bool read_gz(const std::string& path, GzFile f, std::vector<unsigned char>& out,
                    std::size_t n) {
  while (n > 0) {
    const std::size_t old = out.size(), chunk = n < (1u << 20) ? n : (1u << 20);
    out.resize(old + chunk);
    const long got = read_chunk(f, out.data() + old, chunk);
    out.resize(old + (got > 0 ? static_cast<std::size_t>(got) : 0));
    if (got < 0) {
      std::fprintf(stderr, "datasets: %s: %s\n", path.c_str(), read_error(f));
      return false;
    }
    if (got == 0) break;
    n -= static_cast<std::size_t>(got);
  }
  return true;
}

inline std::uint32_t be32(const unsigned char* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 |
         std::uint32_t{p[2]} << 8 | std::uint32_t{p[3]};
}

// Reads the first `max` items of an IDX file (magic 0x0000080N, N dims).
inline bool read_idx(const std::string& path, unsigned dims, std::size_t item_bytes,
                     std::size_t max, std::vector<unsigned char>& out) {
  out.clear();
  GzPtr f = open_gz(path, "dataset-fashion-mnist");
  std::vector<unsigned char> head;
  if (!f || !read_gz(path, f.get(), head, 4 + 4 * std::size_t{dims})) return false;
  if (head.size() < 8 || be32(head.data()) != (0x800u | dims)) {
    std::fprintf(stderr, "datasets: %s: not an IDX file with %u dimensions\n", path.c_str(), dims);
    return false;
  }
  const std::size_t n = max < be32(head.data() + 4) ? max : be32(head.data() + 4);
  out.reserve(n * item_bytes);
  if (!read_gz(path, f.get(), out, n * item_bytes)) return false;
  if (out.size() != n * item_bytes) {
    std::fprintf(stderr, "datasets: %s: truncated\n", path.c_str());
    return false;
  }
  return true;
}

inline void to_float(Dataset& out, std::size_t features, std::vector<unsigned char>& x,
                     std::vector<unsigned char>& y, float scale) {
  out.features = features;
  out.x.resize(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) out.x[i] = static_cast<float>(x[i]) * scale;
  out.y = std::move(y);
}

}  // namespace detail

// Raw digits: x holds 1,797 * 64 pixels in 0..16, y the labels.
inline bool load_digits_u8(std::vector<unsigned char>& x, std::vector<unsigned char>& y,
                           const std::string& path = TINYADAPT_DIGITS_CSV) {
  std::vector<unsigned char> text;
  detail::GzPtr f = detail::open_gz(path, "python3-sklearn");
  if (!f || !detail::read_gz(path, f.get(), text, no_limit)) return false;
  x.clear();
  y.clear();
  std::vector<unsigned char> row;
  unsigned value = 0;
  bool in_number = false;
  for (unsigned char c : text) {
    if (c >= '0' && c <= '9') {
      value = value * 10 + static_cast<unsigned>(c - '0');
      in_number = true;
      continue;
    }
    if (in_number) row.push_back(static_cast<unsigned char>(value));
    value = 0;
    in_number = false;
    if (c == '\n' && !row.empty()) {
      if (row.size() != digits_features + 1 || row.back() > 9) {
        std::fprintf(stderr, "datasets: %s: bad row %zu\n", path.c_str(), y.size() + 1);
        return false;
      }
      x.insert(x.end(), row.begin(), row.end() - 1);
      y.push_back(row.back());
      row.clear();
    }
  }
  if (!row.empty() || in_number) {
    std::fprintf(stderr, "datasets: %s: missing final newline\n", path.c_str());
    return false;
  }
  return true;
}

// Raw Fashion-MNIST: the first max_samples images (28*28 bytes each) and labels.
inline bool load_fashion_u8(std::vector<unsigned char>& x, std::vector<unsigned char>& y,
                            bool train, std::size_t max_samples = no_limit,
                            const std::string& dir = TINYADAPT_FASHION_DIR) {
  const std::string prefix = dir + (train ? "/train-" : "/t10k-");
  return detail::read_idx(prefix + "labels-idx1-ubyte.gz", 1, 1, max_samples, y) &&
         detail::read_idx(prefix + "images-idx3-ubyte.gz", 3, fashion_features, y.size(), x);
}

inline bool load_digits(Dataset& out, const std::string& path = TINYADAPT_DIGITS_CSV) {
  std::vector<unsigned char> x, y;
  if (!load_digits_u8(x, y, path)) return false;
  detail::to_float(out, digits_features, x, y, 1.0f / 16.0f);
  return true;
}

inline bool load_fashion(Dataset& out, bool train, std::size_t max_samples = no_limit,
                         const std::string& dir = TINYADAPT_FASHION_DIR) {
  std::vector<unsigned char> x, y;
  if (!load_fashion_u8(x, y, train, max_samples, dir)) return false;
  detail::to_float(out, fashion_features, x, y, 1.0f / 255.0f);
  return true;
}

// Samples [first, first + count) of src, clamped to its size.
inline Dataset slice(const Dataset& src, std::size_t first, std::size_t count) {
  Dataset d;
  d.features = src.features;
  if (first > src.size()) first = src.size();
  if (count > src.size() - first) count = src.size() - first;
  const auto f = static_cast<std::ptrdiff_t>(src.features);
  const auto b = static_cast<std::ptrdiff_t>(first), e = static_cast<std::ptrdiff_t>(first + count);
  d.x.assign(src.x.begin() + b * f, src.x.begin() + e * f);
  d.y.assign(src.y.begin() + b, src.y.begin() + e);
  return d;
}

// The project's fixed digits protocol: first 1,437 samples train, last 360 test.
inline void split_digits(const Dataset& all_samples, Dataset& train, Dataset& test) {
  train = slice(all_samples, 0, digits_train);
  test = slice(all_samples, digits_train, digits_test);
}

// splitmix64: tiny, seedable, identical on every platform.
struct SplitMix64 {
  std::uint64_t state;
  explicit SplitMix64(std::uint64_t seed) : state(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
};

// Fisher-Yates shuffle of idx; the same seed gives the same order everywhere.
inline void shuffle(std::vector<std::size_t>& idx, std::uint64_t seed) {
  SplitMix64 rng(seed);
  for (std::size_t i = idx.size(); i > 1; --i) {
    auto j = static_cast<std::size_t>(rng.next() % i);
    std::swap(idx[i - 1], idx[j]);
  }
}

// 0..n-1 in a seeded random order.
inline std::vector<std::size_t> shuffled_indices(std::size_t n, std::uint64_t seed) {
  std::vector<std::size_t> idx(n);
  for (std::size_t i = 0; i < n; ++i) idx[i] = i;
  shuffle(idx, seed);
  return idx;
}

// Seeded stratified split: in each class, a shuffled train_fraction of its
// samples goes to train and the rest to test (the protocols' alternative to
// the fixed digits split).
inline void split_stratified(const Dataset& all_samples, Dataset& train, Dataset& test, double train_fraction,
                             std::uint64_t seed) {
  train = Dataset{all_samples.features, {}, {}};
  test = Dataset{all_samples.features, {}, {}};
  for (unsigned c = 0; c < 256; ++c) {
    std::vector<std::size_t> idx;
    for (std::size_t i = 0; i < all_samples.size(); ++i)
      if (all_samples.y[i] == c) idx.push_back(i);
    if (idx.empty()) continue;
    shuffle(idx, seed + c);
    const auto n_train = static_cast<std::size_t>(static_cast<double>(idx.size()) * train_fraction + 0.5);
    for (std::size_t k = 0; k < idx.size(); ++k) {
      Dataset& d = k < n_train ? train : test;
      const float* x = all_samples.sample(idx[k]);
      d.x.insert(d.x.end(), x, x + all_samples.features);
      d.y.push_back(all_samples.y[idx[k]]);
    }
  }
}

}  // namespace data
