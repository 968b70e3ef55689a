#include "agent/control/control_client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "agent/control/control_protocol.h"

namespace kvhost::control {
namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

[[noreturn]] void Fail(const std::filesystem::path& path, const std::string& what) {
  throw std::runtime_error("control socket " + path.string() + ": " + what);
}

void ReadExactly(int fd, char* data, size_t size, const std::filesystem::path& path) {
  while (size > 0) {
    const ssize_t n = recv(fd, data, size, 0);
    if (n == 0) Fail(path, "the daemon hung up without an answer");
    if (n < 0) {
      if (errno == EINTR) continue;
      Fail(path, errno == EAGAIN ? "no answer in time" : std::strerror(errno));
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
}

v1::ControlResponse ReadResponse(int fd, const std::filesystem::path& path) {
  char header[4];
  ReadExactly(fd, header, sizeof header, path);
  std::string why;
  const auto length = FrameLength(std::string_view(header, 4), kMaxResponseBytes, &why);
  if (!length) Fail(path, "bad answer: " + why);
  std::string payload(*length, '\0');
  ReadExactly(fd, payload.data(), payload.size(), path);
  v1::ControlResponse response;
  if (!response.ParseFromString(payload)) Fail(path, "bad answer: not a ControlResponse");
  return response;
}

}  // namespace

std::optional<v1::ControlResponse> AskDaemon(const std::filesystem::path& path,
                                             const v1::ControlRequest& request,
                                             std::chrono::seconds timeout) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.string().size() >= sizeof address.sun_path) Fail(path, "path too long");
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  const Fd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) Fail(path, std::strerror(errno));
  if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    if (errno == ENOENT || errno == ECONNREFUSED) return std::nullopt;
    Fail(path, std::strerror(errno));
  }
  const timeval wait{.tv_sec = static_cast<time_t>(timeout.count()), .tv_usec = 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  const std::string frame = EncodeFrame(request);
  const ssize_t sent = send(fd.get(), frame.data(), frame.size(), MSG_NOSIGNAL);
  if (sent == static_cast<ssize_t>(frame.size())) return ReadResponse(fd.get(), path);
  // The daemon refuses some peers before it reads (another uid; a frame over
  // its limit): it answers and closes at once, so the send can fail (EPIPE)
  // with the answer, which says why, already here to read.
  const std::string send_error =
      sent < 0 ? std::strerror(errno)
               : "sent " + std::to_string(sent) + " of " + std::to_string(frame.size()) + " bytes";
  try {
    return ReadResponse(fd.get(), path);
  } catch (const std::runtime_error&) {
    Fail(path, "sending the request: " + send_error);
  }
}

}  // namespace kvhost::control
