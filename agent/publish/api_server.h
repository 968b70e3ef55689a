// The read-only HTTP API (Boost.Beast) on the agent's io_context: /healthz,
// /readyz, /metrics, /v1/report. Loopback only.
//
// Bounded so that slow or many clients cannot stall the loop or grow memory:
// - at most `max_connections` sessions; at the limit a new connection evicts
//   the oldest session that is waiting for a request (an idle keep-alive or a
//   client that never sends), and is refused only when every session is busy
//   writing, so a health probe still gets through a crowd of idle sockets;
// - request header and body limits (Beast's parser refuses more);
// - per-connection deadlines (beast::tcp_stream expires_after) for receiving a
//   request and for writing the answer, so a client that never reads is cut
//   off after `write_timeout`; all I/O is asynchronous, nothing blocks the loop.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "agent/publish/api_routes.h"

namespace kvhost::publish {

struct ApiOptions {
  bool enabled = true;
  std::string address = "127.0.0.1";
  unsigned short port = 9478;  // 0: any free port (tests)
  size_t max_connections = 64;
  std::chrono::milliseconds request_timeout{10000};  // to receive a whole request
  std::chrono::milliseconds write_timeout{10000};    // to send a whole answer
  size_t max_header_bytes = 8192;
  size_t max_body_bytes = 1024;  // GET and HEAD carry none
};

class ApiServer {
 public:
  // Binds and starts accepting. Throws std::invalid_argument for an address
  // that is not loopback, boost::system::system_error when the bind fails.
  ApiServer(boost::asio::io_context& io, const ApiOptions& options);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Call on the io_context's thread. /readyz answers 200 from the first one on.
  void Publish(std::shared_ptr<const ApiDocuments> documents);
  // Closes the listener and every connection (on the io_context's thread).
  void Stop();

  unsigned short port() const;
  size_t connections() const;  // open sessions; any thread

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace kvhost::publish
