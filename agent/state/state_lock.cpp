#include "agent/state/state_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace kvhost {

StateLock::StateLock(const std::filesystem::path& directory, int wait_ms) {
  std::filesystem::create_directories(directory);
  const auto file = directory / "lock";
  fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) throw std::runtime_error(file.string() + ": cannot open: " + std::strerror(errno));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK || std::chrono::steady_clock::now() >= deadline) {
      const int err = errno;
      ::close(fd_);
      throw std::runtime_error(file.string() + ": another kvhost-agent holds the state (" +
                               (err == EWOULDBLOCK ? std::string("locked") : std::strerror(err)) +
                               ")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

StateLock::~StateLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

}  // namespace kvhost
