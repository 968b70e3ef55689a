// The loopback clients of bench/daemon_attack: timed GETs on fresh or
// kept-alive connections, held sockets, oversized requests. Raw sockets, so
// the bench sends exactly the bytes an attacker would; every call is bounded.
#pragma once

#include <chrono>
#include <string>

#include "base/unique_fd.h"
#include "bench/attack_support.h"

namespace kvhost::bench {

// A TCP connection to 127.0.0.1:port (TCP_NODELAY, send and receive bounded
// by `timeout`), or an invalid fd.
UniqueFd ConnectLoopback(unsigned short port, std::chrono::milliseconds timeout);

// Whether the peer closed or reset `fd`: how the daemon drops a connection.
bool PeerClosed(int fd);

std::string GetRequest(const std::string& target, bool keep_alive);

struct HttpAnswer {
  std::string text;
  double ms = 0;          // from the connect (fresh) or the send (kept alive) to the end
  bool complete = false;  // the whole answer arrived in time
  int status() const;     // of the status line; 0 when there is none
};

// One request on a fresh connection, read until the daemon closes it.
HttpAnswer ExchangeOnce(unsigned short port, const std::string& request,
                        std::chrono::milliseconds timeout);

// `count` GETs of /healthz, each on a fresh connection, `interval` apart: the
// latency of each one answered 200; the others are failures.
Latencies ProbeHealthz(unsigned short port, size_t count, std::chrono::milliseconds interval,
                       std::chrono::milliseconds timeout);

// GETs on one kept-alive connection; a closed one is opened again.
class KeepAliveClient {
 public:
  KeepAliveClient(unsigned short port, std::chrono::milliseconds timeout)
      : port_(port), timeout_(timeout) {}
  HttpAnswer Get(const std::string& target);
  int reconnects() const { return reconnects_; }

 private:
  bool ReadAnswer(HttpAnswer& answer);

  unsigned short port_;
  std::chrono::milliseconds timeout_;
  UniqueFd fd_;
  std::string pending_;  // bytes read past the last answer
  int reconnects_ = -1;  // the first connect is not a reconnect
};

// A request far over the header limit, sent while the answer is read (the
// daemon answers after 8 KiB and stops reading), until the daemon closes the
// connection or `timeout` passes.
struct OversizedExchange {
  HttpAnswer answer;
  size_t sent = 0;       // bytes of the request the daemon took
  bool closed = false;   // the daemon closed (FIN or reset) the connection
  double closed_ms = 0;  // when, from the connect
  bool reset = false;    // by a reset
};
OversizedExchange SendOversized(unsigned short port, const std::string& request,
                                std::chrono::milliseconds timeout);

}  // namespace kvhost::bench
