// A Cortex-M4 program under QEMU (MPS2 AN386, semihosting on stdio,
// -icount shift=8 so that instruction counts are exact), for host programs
// that run device rounds on the emulated board (reptile_m4_driver,
// federation/fleet_bridge). Semihosting file names are relative to QEMU's
// working directory: the ELF is expected there as device.elf, which keeps
// the semihosting command line (at most 160 characters) short. Host only.
#pragma once
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace qemu_m4 {

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

struct Run {
  int status = -1;  // the device program's exit status, -1 if QEMU did not exit normally
  std::string output;
  double seconds = 0.0;
};

// workdir/device.elf under qemu with args as its command line.
inline Run run_device(const std::string& qemu, const std::string& workdir, const std::string& args) {
  const std::string cmd = "cd " + shell_quote(workdir) + " && exec " + shell_quote(qemu) +
                          " -M mps2-an386 -display none -monitor none -serial null"
                          " -chardev stdio,id=sh -semihosting-config enable=on,target=native,chardev=sh"
                          " -icount shift=8,align=off,sleep=off -kernel device.elf -append " +
                          shell_quote(args) + " 2>&1";
  Run r;
  const auto t0 = std::chrono::steady_clock::now();
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) r.output.append(buf, n);
  const int st = pclose(p);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

}  // namespace qemu_m4
