// The daemon's control socket: a unix stream socket (mode 0600) on the
// daemon's io_context; one framed request and one framed response per
// connection. Only root (SO_PEERCRED uid 0) is served: pinning moves other
// VMs' CPUs; a refused uid is logged the first time. Bounded: a few sessions at once, each with a
// deadline, so a client that connects and says nothing cannot hold the daemon.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>

#include "control.pb.h"

namespace kvhost::control {

// Runs on the io_context's thread: it may use everything the daemon owns.
using Handler = std::function<v1::ControlResponse(const v1::ControlRequest&)>;

struct ServerOptions {
  std::filesystem::path path;
  size_t max_sessions = 8;
  std::chrono::milliseconds request_timeout{5000};
  // Tests run the daemon as root; a non-root test client proves the refusal
  // by setting this to a uid it does not have.
  uid_t allowed_uid = 0;
};

class Server {
 public:
  // Replaces a stale socket at the path (never another kind of file); throws
  // std::runtime_error naming the path when it cannot bind.
  Server(boost::asio::io_context& io, ServerOptions options, Handler handler);
  ~Server();  // closes and removes the socket file
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace kvhost::control
