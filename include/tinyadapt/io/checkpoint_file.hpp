// Checkpoint files on a host (POSIX): the server's state (meta::Server::save,
// or any bytes) written so that a kill or a power cut at any moment leaves
// a loadable checkpoint, the new one or the one before it.
//
// File: a 24-byte envelope, then the content:
//   offset  size  field
//        0     4  magic "TAFC"
//        4     4  version (1)
//        8     4  generation (the caller's: e.g. the round; larger is newer)
//       12     4  content bytes C
//       16     4  CRC-32 of the content
//       20     4  CRC-32 of bytes 0..19
//       24     C  content
//
// save: write PATH.tmp, fsync it; rename PATH to PATH.prev (the previous
// generation stays); rename PATH.tmp to PATH; fsync the directory. At every
// point between these steps one of PATH, PATH.tmp (complete and synced once
// renamed from) or PATH.prev is a valid checkpoint; load takes the newest
// valid generation among the three, so a torn or corrupted newest file falls
// back to the previous one. Host only (POSIX calls); no heap.
#pragma once
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bytes.hpp"
#include "crc32.hpp"
#include "wire_status.hpp"

namespace tinyadapt {
namespace io {

inline constexpr std::size_t checkpoint_file_header_bytes = 24;
inline constexpr std::size_t checkpoint_path_max = 4096;

struct FileCheckpoint {
  std::uint32_t generation = 0;
  std::size_t bytes = 0;  // content bytes
  int source = -1;        // 0 PATH, 1 PATH.tmp, 2 PATH.prev
};

namespace detail {
inline bool with_suffix(char (&out)[checkpoint_path_max], const char* path, const char* suffix) noexcept {
  const int n = std::snprintf(out, sizeof out, "%s%s", path, suffix);
  return n > 0 && static_cast<std::size_t>(n) < sizeof out;
}
inline bool write_all(int fd, const unsigned char* p, std::size_t n) noexcept {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w, n -= static_cast<std::size_t>(w);
  }
  return true;
}
inline bool sync_directory_of(const char* path) noexcept {
  char dir[checkpoint_path_max];
  if (!with_suffix(dir, path, "")) return false;
  char* slash = std::strrchr(dir, '/');
  if (slash == nullptr) dir[0] = '.', dir[1] = '\0';
  else if (slash == dir) dir[1] = '\0';
  else *slash = '\0';
  const int fd = ::open(dir, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  return ::close(fd) == 0 && ok;
}
// Reads and checks one file into out; ok or why not.
inline WireStatus read_checked(const char* path, unsigned char* out, std::size_t capacity, FileCheckpoint& c) noexcept {
  const int fd = ::open(path, O_RDONLY);
  if (fd < 0) return WireStatus::no_checkpoint;
  unsigned char h[checkpoint_file_header_bytes];
  WireStatus s = WireStatus::ok;
  ssize_t got = ::read(fd, h, sizeof h);
  std::uint32_t bytes = 0;
  if (got != static_cast<ssize_t>(sizeof h)) s = WireStatus::truncated;
  else if (std::memcmp(h, "TAFC", 4) != 0) s = WireStatus::bad_magic;
  else if (get32(h + 4) != 1) s = WireStatus::unsupported_version;
  else if (crc32(h, 20) != get32(h + 20)) s = WireStatus::header_corrupted;
  else if ((bytes = get32(h + 12)) > capacity) s = WireStatus::buffer_too_small;
  std::size_t have = 0;
  while (s == WireStatus::ok && have < bytes) {
    got = ::read(fd, out + have, bytes - have);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) s = WireStatus::truncated;
    else have += static_cast<std::size_t>(got);
  }
  unsigned char extra = 0;
  if (s == WireStatus::ok && ::read(fd, &extra, 1) != 0) s = WireStatus::oversized;
  if (s == WireStatus::ok && crc32(out, bytes) != get32(h + 16)) s = WireStatus::payload_corrupted;
  ::close(fd);
  if (s == WireStatus::ok) c.generation = get32(h + 8), c.bytes = bytes;
  return s;
}
}  // namespace detail

// Writes content as generation `generation` of the checkpoint at path.
inline WireStatus save_checkpoint_file(const char* path, const unsigned char* content, std::size_t size,
                                       std::uint32_t generation) noexcept {
  char tmp[checkpoint_path_max], prev[checkpoint_path_max];
  if (size > 0xFFFFFFFFu || !detail::with_suffix(tmp, path, ".tmp") || !detail::with_suffix(prev, path, ".prev"))
    return WireStatus::bad_argument;
  unsigned char h[checkpoint_file_header_bytes];
  std::memcpy(h, "TAFC", 4);
  detail::put32(h + 4, 1);
  detail::put32(h + 8, generation);
  detail::put32(h + 12, static_cast<std::uint32_t>(size));
  detail::put32(h + 16, crc32(content, size));
  detail::put32(h + 20, crc32(h, 20));
  const int fd = ::open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return WireStatus::storage_error;
  bool ok = detail::write_all(fd, h, sizeof h) && detail::write_all(fd, content, size) && ::fsync(fd) == 0;
  ok = ::close(fd) == 0 && ok;
  if (!ok) return WireStatus::storage_error;
  struct stat st;
  if (::stat(path, &st) == 0 && ::rename(path, prev) != 0) return WireStatus::storage_error;
  if (::rename(tmp, path) != 0 || !detail::sync_directory_of(path)) return WireStatus::storage_error;
  return WireStatus::ok;
}

// The newest valid generation among PATH, PATH.tmp and PATH.prev into
// out[0, capacity); no_checkpoint (out may hold a refused file's bytes) if none.
inline WireStatus load_checkpoint_file(const char* path, unsigned char* out, std::size_t capacity,
                                       FileCheckpoint* loaded = nullptr) noexcept {
  char names[3][checkpoint_path_max];
  if (!detail::with_suffix(names[0], path, "") || !detail::with_suffix(names[1], path, ".tmp") ||
      !detail::with_suffix(names[2], path, ".prev"))
    return WireStatus::bad_argument;
  FileCheckpoint best;
  for (int i = 0; i < 3; ++i) {
    FileCheckpoint c;
    if (detail::read_checked(names[i], out, capacity, c) == WireStatus::ok && (best.source < 0 || c.generation > best.generation))
      best = c, best.source = i;
  }
  if (best.source < 0) return WireStatus::no_checkpoint;
  FileCheckpoint again;  // the newest into out (a later candidate may have overwritten it)
  if (detail::read_checked(names[best.source], out, capacity, again) != WireStatus::ok ||
      again.generation != best.generation)
    return WireStatus::no_checkpoint;
  if (loaded != nullptr) *loaded = best;
  return WireStatus::ok;
}

}  // namespace io
}  // namespace tinyadapt
