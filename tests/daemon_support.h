// `kvhost-agent run` as a child of a test: a copied fixture root (so the test
// may edit its sysfs), a config, libvirt's test:/// driver, a NOTIFY_SOCKET the
// test binds (what systemd would receive) and a plain HTTP client.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <chrono>
#include <fstream>
#include <mutex>

#include "agent_process_support.h"

namespace kvhost::it {

// An unbound, free loopback port (bound then released; good enough for a test).
inline unsigned short FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

// One GET with Connection: close, given `within` to answer: "" when the
// connection fails or the answer does not end in time.
inline std::string HttpGetWithin(unsigned short port, const std::string& target,
                                 std::chrono::milliseconds within = 2s) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval timeout{};
  timeout.tv_sec = within.count() / 1000;
  timeout.tv_usec = (within.count() % 1000) * 1000;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string answer;
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    const std::string request =
        "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      char buffer[65536];
      ssize_t n = 0;
      while ((n = recv(fd, buffer, sizeof buffer, 0)) > 0) answer.append(buffer, n);
      if (n < 0) answer.clear();  // timed out: not a whole answer
    }
  }
  close(fd);
  return answer;
}

// One GET over HTTP/1.1 with Connection: close; the whole answer, or "" when
// the connection fails (bounded, so a frozen daemon fails a test, never hangs it).
inline std::string HttpGet(unsigned short port, const std::string& target) {
  return HttpGetWithin(port, target, std::chrono::seconds(30));
}

// The datagram socket systemd listens on (NOTIFY_SOCKET): every message kept.
class NotifySocket {
 public:
  explicit NotifySocket(const fs::path& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
    if (bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
      throw std::runtime_error("bind " + path.string() + ": " + std::strerror(errno));
  }
  ~NotifySocket() { close(fd_); }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  // Every message received so far (one per sd_notify call).
  const std::vector<std::string>& Messages() {
    char buffer[4096];
    for (ssize_t n; (n = recv(fd_, buffer, sizeof buffer, 0)) > 0;)
      messages_.emplace_back(buffer, n);
    return messages_;
  }
  bool Received(const std::string& part) {
    for (const auto& m : Messages())
      if (m.find(part) != std::string::npos) return true;
    return false;
  }
  std::string Env() const { return "NOTIFY_SOCKET=" + path_.string(); }

 private:
  fs::path path_;
  int fd_ = -1;
  std::vector<std::string> messages_;
};

inline void WriteText(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

}  // namespace kvhost::it
