#include "bench/attack_http.h"

#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>

#include <cstring>
#include <thread>

namespace kvhost::bench {

using Clock = std::chrono::steady_clock;

UniqueFd ConnectLoopback(unsigned short port, std::chrono::milliseconds timeout) {
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return fd;
  timeval bound{};
  bound.tv_sec = timeout.count() / 1000;
  bound.tv_usec = (timeout.count() % 1000) * 1000;
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound);
  setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &bound, sizeof bound);  // connect() too
  const int one = 1;
  setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
    return UniqueFd();
  return fd;
}

bool PeerClosed(int fd) {
  pollfd p{.fd = fd, .events = POLLIN | POLLRDHUP, .revents = 0};
  if (poll(&p, 1, 0) <= 0) return false;
  if (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) return true;
  char byte = 0;
  return recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

std::string GetRequest(const std::string& target, bool keep_alive) {
  return "GET " + target +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: " + (keep_alive ? "keep-alive" : "close") +
         "\r\n\r\n";
}

int HttpAnswer::status() const {
  if (text.rfind("HTTP/1.", 0) != 0 || text.size() < 12) return 0;
  return std::atoi(text.c_str() + 9);
}

namespace {

bool SendAll(int fd, const std::string& bytes) {
  for (size_t sent = 0; sent < bytes.size();) {
    const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace

HttpAnswer ExchangeOnce(unsigned short port, const std::string& request,
                        std::chrono::milliseconds timeout) {
  HttpAnswer answer;
  const auto start = Clock::now();
  UniqueFd fd = ConnectLoopback(port, timeout);
  if (!fd.valid() || !SendAll(fd.get(), request)) return answer;
  char buffer[16384];
  ssize_t n = 0;
  while ((n = recv(fd.get(), buffer, sizeof buffer, 0)) > 0) {
    answer.text.append(buffer, static_cast<size_t>(n));
    if (MsSince(start) > static_cast<double>(timeout.count())) return answer;
  }
  answer.complete = n == 0;
  answer.ms = MsSince(start);
  return answer;
}

Latencies ProbeHealthz(unsigned short port, size_t count, std::chrono::milliseconds interval,
                       std::chrono::milliseconds timeout) {
  Latencies out;
  const std::string request = GetRequest("/healthz", false);
  for (size_t i = 0; i < count; ++i) {
    const HttpAnswer answer = ExchangeOnce(port, request, timeout);
    if (answer.complete && answer.status() == 200)
      out.ms.push_back(answer.ms);
    else
      ++out.failures;
    if (interval.count() > 0) std::this_thread::sleep_for(interval);
  }
  return out;
}

HttpAnswer KeepAliveClient::Get(const std::string& target) {
  HttpAnswer answer;
  const std::string request = GetRequest(target, true);
  const auto start = Clock::now();
  if (fd_.valid() && PeerClosed(fd_.get())) fd_ = UniqueFd();
  if (!fd_.valid()) {
    fd_ = ConnectLoopback(port_, timeout_);
    pending_.clear();
    ++reconnects_;
  }
  if (!fd_.valid() || !SendAll(fd_.get(), request) || !ReadAnswer(answer)) {
    fd_ = UniqueFd();
    return answer;
  }
  answer.ms = MsSince(start);
  if (answer.text.find("\r\nConnection: close") != std::string::npos) fd_ = UniqueFd();
  return answer;
}

// Headers to the blank line, then Content-Length bytes of body.
bool KeepAliveClient::ReadAnswer(HttpAnswer& answer) {
  char buffer[16384];
  size_t head_end = std::string::npos, length = 0;
  for (;;) {
    if (head_end == std::string::npos &&
        (head_end = pending_.find("\r\n\r\n")) != std::string::npos) {
      head_end += 4;
      const auto at = pending_.find("Content-Length: ");
      if (at == std::string::npos || at > head_end) return false;
      length = std::strtoul(pending_.c_str() + at + 16, nullptr, 10);
    }
    if (head_end != std::string::npos && pending_.size() >= head_end + length) {
      answer.text = pending_.substr(0, head_end + length);
      pending_.erase(0, head_end + length);
      answer.complete = true;
      return true;
    }
    const ssize_t n = recv(fd_.get(), buffer, sizeof buffer, 0);
    if (n <= 0) return false;
    pending_.append(buffer, static_cast<size_t>(n));
  }
}

namespace {

// One round of the oversized exchange: what poll() said, acted on.
struct Pump {
  int fd;
  const std::string& request;
  OversizedExchange& out;
  Clock::time_point start;
  bool sending = true;

  void Send() {
    const ssize_t n =
        send(fd, request.data() + out.sent, request.size() - out.sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) out.sent += static_cast<size_t>(n);
    if ((n < 0 && errno != EAGAIN && errno != EINTR) || out.sent == request.size())
      sending = false;  // refused (EPIPE, ECONNRESET) or all of it sent
  }
  // False once the connection ended.
  bool Receive() {
    char buffer[16384];
    const ssize_t n = recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n > 0) {
      if (out.answer.text.empty()) out.answer.ms = MsSince(start);
      out.answer.text.append(buffer, static_cast<size_t>(n));
      return true;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
    out.closed = true;
    out.reset = n < 0;
    out.closed_ms = MsSince(start);
    out.answer.complete = !out.answer.text.empty();
    return false;
  }
};

}  // namespace

OversizedExchange SendOversized(unsigned short port, const std::string& request,
                                std::chrono::milliseconds timeout) {
  OversizedExchange out;
  Pump pump{.fd = -1, .request = request, .out = out, .start = Clock::now()};
  UniqueFd fd = ConnectLoopback(port, timeout);
  if (!fd.valid()) return out;
  pump.fd = fd.get();
  const auto deadline = pump.start + timeout;
  while (Clock::now() < deadline) {
    pollfd p{.fd = fd.get(),
             .events = static_cast<short>(POLLIN | (pump.sending ? POLLOUT : 0)),
             .revents = 0};
    if (poll(&p, 1, 50) < 0 && errno != EINTR) break;
    if (p.revents & (POLLIN | POLLHUP | POLLERR) && !pump.Receive()) break;
    if (pump.sending && p.revents & POLLOUT) pump.Send();
  }
  return out;
}

}  // namespace kvhost::bench
