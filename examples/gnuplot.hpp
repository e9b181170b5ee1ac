// Plots through Debian's gnuplot, for the host programs. The caller writes
// its data files whatever happens; the plot is skipped with a message when
// gnuplot is missing, and a gnuplot that fails or writes no PNG is an error
// the caller turns into a nonzero exit status — never a silent "done".
//
//   Plot p(stem + ".gnuplot", png, data);
//   if (std::FILE* g = p.script()) std::fprintf(g, "set terminal pngcairo ...\nplot ...\n");
//   return p.run();
#pragma once
#include <cstdio>
#include <cstdlib>
#include <string>

class Plot {
 public:
  Plot(std::string script, std::string png, std::string data)
      : script_path_(std::move(script)), png_(std::move(png)), data_(std::move(data)) {
    if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
      std::printf("gnuplot not found (apt-get install gnuplot-nox): plot %s skipped (data in %s)\n", png_.c_str(),
                  data_.c_str());
      return;
    }
    script_ = std::fopen(script_path_.c_str(), "w");
    if (script_ == nullptr) {
      std::printf("cannot write %s: no plot\n", script_path_.c_str());
      failed_ = true;
    }
  }
  Plot(const Plot&) = delete;
  Plot& operator=(const Plot&) = delete;
  ~Plot() {
    if (script_ != nullptr) std::fclose(script_);
  }

  // Where the gnuplot commands go; nullptr when there is no plot to make.
  std::FILE* script() const { return script_; }

  // Runs the script: true when the PNG was written or gnuplot is missing.
  bool run() {
    if (script_ == nullptr) return !failed_;
    std::fclose(script_);
    script_ = nullptr;
    std::remove(png_.c_str());
    const std::string cmd = "gnuplot \"" + script_path_ + "\"";
    if (std::system(cmd.c_str()) != 0) {
      std::printf("gnuplot failed on %s: no plot\n", script_path_.c_str());
      return false;
    }
    std::FILE* p = std::fopen(png_.c_str(), "rb");
    const bool written = p != nullptr && std::fseek(p, 0, SEEK_END) == 0 && std::ftell(p) > 0;
    if (p != nullptr) std::fclose(p);
    if (!written) {
      std::printf("gnuplot wrote no %s\n", png_.c_str());
      return false;
    }
    std::printf("plot: %s (data %s)\n", png_.c_str(), data_.c_str());
    return true;
  }

 private:
  std::string script_path_, png_, data_;
  std::FILE* script_ = nullptr;
  bool failed_ = false;
};
