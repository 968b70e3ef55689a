#include "base/file_stamp.h"

#include <sys/stat.h>

#include <ctime>

namespace kvhost {
namespace {

int64_t Ns(const timespec& t) { return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec; }

}  // namespace

std::optional<FileStamp> StampOf(const char* path) {
  struct stat st {};
  if (::stat(path, &st) != 0) return std::nullopt;
  return FileStamp{st.st_dev, st.st_ino, st.st_size, Ns(st.st_mtim), Ns(st.st_ctim)};
}

int64_t FileClockNowNs() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  return Ns(now);
}

}  // namespace kvhost
