#include "agent/control/control_server.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <array>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <set>
#include <utility>

#include "agent/control/control_protocol.h"

namespace kvhost::control {

using boost::asio::local::stream_protocol;

struct Server::State : std::enable_shared_from_this<Server::State> {
  State(boost::asio::io_context& io, ServerOptions opts, Handler h)
      : options(std::move(opts)), handler(std::move(h)), acceptor(io) {}

  void Accept();

  // Logs a refused peer the first time its uid is refused: a user retrying
  // in a loop must not flood the log, and a bounded set cannot grow with it.
  void LogRefusal(uid_t uid, pid_t pid) {
    constexpr size_t kMaxLoggedUids = 64;
    if (refused_uids.size() >= kMaxLoggedUids || !refused_uids.insert(uid).second) return;
    spdlog::warn(
        "control socket: refused uid {} (pid {}): only uid {} may pin; further refusals of "
        "uid {} are not logged",
        uid, pid, options.allowed_uid, uid);
  }

  ServerOptions options;
  Handler handler;
  stream_protocol::acceptor acceptor;
  size_t sessions = 0;
  std::set<uid_t> refused_uids;
  bool peercred_failure_logged = false;
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<Server::State> server, stream_protocol::socket socket)
      : server_(std::move(server)), socket_(std::move(socket)), deadline_(socket_.get_executor()) {
    ++server_->sessions;
  }
  ~Session() { --server_->sessions; }

  void Start() {
    deadline_.expires_after(server_->options.request_timeout);
    deadline_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->Close();
    });
    if (const std::string refusal = PeerRefusal(); !refusal.empty()) return Answer(Error(refusal));
    // A peer that closed (or broke) frees its slot now, not at the deadline:
    // eight that connect and close would otherwise refuse everyone for 5 s.
    boost::asio::async_read(
        socket_, boost::asio::buffer(header_),
        [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
          ec ? self->Close() : self->ReadBody();
        });
  }

 private:
  static v1::ControlResponse Error(const std::string& why) {
    v1::ControlResponse response;
    response.set_exit_code(2);
    response.set_error("control socket: " + why);
    return response;
  }

  // Only the allowed uid (root) may act through the daemon.
  std::string PeerRefusal() {
    ucred peer{};
    socklen_t length = sizeof peer;
    if (getsockopt(socket_.native_handle(), SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0) {
      if (!std::exchange(server_->peercred_failure_logged, true))
        spdlog::warn("control socket: refused a peer: SO_PEERCRED failed: {}",
                     std::strerror(errno));
      return "cannot tell who is asking (SO_PEERCRED failed)";
    }
    if (peer.uid == server_->options.allowed_uid) return "";
    server_->LogRefusal(peer.uid, peer.pid);
    return "uid " + std::to_string(peer.uid) + " may not pin (only uid " +
           std::to_string(server_->options.allowed_uid) + ")";
  }

  void ReadBody() {
    std::string why;
    const auto length =
        FrameLength(std::string_view(header_.data(), header_.size()), kMaxFrameBytes, &why);
    if (!length) return Answer(Error(why));
    body_.resize(*length);
    boost::asio::async_read(
        socket_, boost::asio::buffer(body_),
        [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
          ec ? self->Close() : self->Handle();
        });
  }

  void Handle() {
    std::string why;
    const auto request = DecodeRequest(body_, &why);
    if (!request) {
      spdlog::warn("control socket: bad request: {}", why);
      return Answer(Error(why));
    }
    try {
      Answer(server_->handler(*request));
    } catch (const std::exception& e) {
      v1::ControlResponse response;
      response.set_exit_code(1);
      response.set_error(e.what());
      Answer(response);
    }
  }

  void Answer(const v1::ControlResponse& response) {
    answer_ = EncodeFrame(response);
    boost::asio::async_write(
        socket_, boost::asio::buffer(answer_),
        [self = shared_from_this()](const boost::system::error_code&, size_t) { self->Close(); });
  }

  void Close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
    deadline_.cancel();
  }

  std::shared_ptr<Server::State> server_;
  stream_protocol::socket socket_;
  boost::asio::steady_timer deadline_;
  std::array<char, 4> header_{};
  std::string body_;
  std::string answer_;
};

// A socket file left by a daemon that died is replaced; any other file at
// the path is someone else's and is refused.
void RemoveStaleSocket(const std::filesystem::path& path) {
  struct stat info {};
  if (lstat(path.c_str(), &info) != 0) return;
  if (!S_ISSOCK(info.st_mode))
    throw std::runtime_error(path.string() +
                             ": exists and is not a socket; refusing to replace it");
  std::filesystem::remove(path);
}

}  // namespace

void Server::State::Accept() {
  acceptor.async_accept([self = shared_from_this()](const boost::system::error_code& ec,
                                                    stream_protocol::socket socket) {
    if (ec == boost::asio::error::operation_aborted || !self->acceptor.is_open()) return;
    if (!ec && self->sessions < self->options.max_sessions)
      std::make_shared<Session>(self, std::move(socket))->Start();
    self->Accept();  // over the limit: the socket closes as it goes out of scope
  });
}

Server::Server(boost::asio::io_context& io, ServerOptions options, Handler handler)
    : state_(std::make_shared<State>(io, std::move(options), std::move(handler))) {
  const auto& path = state_->options.path;
  try {
    RemoveStaleSocket(path);
    const mode_t old_mask = umask(0177);  // born 0600: no window where others may connect
    boost::system::error_code ec;
    state_->acceptor.open(stream_protocol(), ec);
    if (!ec) state_->acceptor.bind(stream_protocol::endpoint(path.string()), ec);
    umask(old_mask);
    if (ec) throw std::runtime_error(ec.message());
    state_->acceptor.listen();
  } catch (const std::exception& e) {
    throw std::runtime_error("control socket " + path.string() + ": " + e.what());
  }
  state_->Accept();
}

Server::~Server() {
  boost::system::error_code ignored;
  state_->acceptor.close(ignored);
  std::error_code not_there;
  std::filesystem::remove(state_->options.path, not_there);
}

}  // namespace kvhost::control
