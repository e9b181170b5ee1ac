// Mean ± sample standard deviation over seeds, for the experiments' tables
// and CSVs (host programs only).
#pragma once
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

struct MeanStd {
  double mean = NAN, std = 0.0;
};

// std over n - 1 (the seeds are a sample); 0 for a single value, NaN mean for none.
inline MeanStd mean_std(const std::vector<double>& v) {
  MeanStd r;
  if (v.empty()) return r;
  double sum = 0.0;
  for (double x : v) sum += x;
  r.mean = sum / static_cast<double>(v.size());
  if (v.size() > 1) {
    double sq = 0.0;
    for (double x : v) sq += (x - r.mean) * (x - r.mean);
    r.std = std::sqrt(sq / static_cast<double>(v.size() - 1));
  }
  return r;
}

// "mean ± std" with fmt for each.
inline std::string pm(const MeanStd& m, const char* fmt = "%.3f") {
  char a[32], b[32];
  std::snprintf(a, sizeof a, fmt, m.mean);
  std::snprintf(b, sizeof b, fmt, m.std);
  return std::string(a) + " ± " + b;
}
inline std::string pm(const std::vector<double>& v, const char* fmt = "%.3f") { return pm(mean_std(v), fmt); }
