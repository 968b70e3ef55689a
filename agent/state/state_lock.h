// One agent at a time per state directory: the daemon and a one-shot `pin`
// must not both decide allocations. An flock on <dir>/lock, released by the
// kernel when the process dies, so a crash never leaves it stuck.
#pragma once

#include <filesystem>

namespace kvhost {

class StateLock {
 public:
  // Creates the directory if needed. Throws std::runtime_error naming the lock
  // file when another process holds it (after waiting up to `wait_ms`).
  explicit StateLock(const std::filesystem::path& directory, int wait_ms = 5000);
  ~StateLock();
  StateLock(const StateLock&) = delete;
  StateLock& operator=(const StateLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace kvhost
