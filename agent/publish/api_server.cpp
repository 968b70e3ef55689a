#include "agent/publish/api_server.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <list>
#include <optional>
#include <stdexcept>
#include <string_view>

namespace kvhost::publish {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

class Session;

// What the acceptor and every session share; sessions keep it alive, so a
// handler that runs after the server object is gone still finds it.
struct ApiServer::State : std::enable_shared_from_this<ApiServer::State> {
  State(asio::io_context& io, ApiOptions o) : options(std::move(o)), acceptor(io) {}

  void Accept();
  void Admit(tcp::socket socket);

  ApiOptions options;
  tcp::acceptor acceptor;
  std::shared_ptr<const ApiDocuments> documents;
  std::list<Session*> sessions;  // oldest first; each session removes itself
  std::atomic<size_t> open{0};
  bool stopped = false;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<ApiServer::State> state)
      : stream_(std::move(socket)), state_(std::move(state)) {
    entry_ = state_->sessions.insert(state_->sessions.end(), this);
    ++state_->open;
  }
  ~Session() {
    state_->sessions.erase(entry_);
    --state_->open;
  }

  void Read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(state_->options.max_header_bytes));
    parser_->body_limit(state_->options.max_body_bytes);
    stream_.expires_after(state_->options.request_timeout);
    waiting_ = true;
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  // Waiting for a request: the session the connection limit may evict.
  bool waiting() const { return waiting_; }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

 private:
  void OnRead(beast::error_code ec) {
    waiting_ = false;
    if (ec == http::error::header_limit) return Refuse();
    if (ec) return Close();  // timeout, body limit, garbage or a closed peer: nothing to answer
    response_ = Route(parser_->get(), state_->documents.get());
    stream_.expires_after(state_->options.write_timeout);
    http::async_write(
        stream_, response_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnWrite(ec); });
  }

  void OnWrite(beast::error_code ec) {
    if (ec || !response_.keep_alive() || state_->stopped) return Close();
    Read();
  }

  // Over the header limit the client is told why instead of finding the
  // connection closed: 414 when even the request line did not end within it.
  void Refuse() {
    const std::string limit = std::to_string(state_->options.max_header_bytes) + " bytes\n";
    // The parser takes the request line (and sets the target) once it ended.
    response_ =
        parser_->get().target().empty()
            ? RefuseUnreadRequest(http::status::uri_too_long, "request target over " + limit)
            : RefuseUnreadRequest(http::status::request_header_fields_too_large,
                                  "request header over " + limit);
    stream_.expires_after(state_->options.write_timeout);
    http::async_write(stream_, response_,
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        ec ? self->Close() : self->Linger();
                      });
  }

  // Closing while the client's unread bytes are queued sends a reset that can
  // destroy the answer before the client reads it: stop sending, then drop
  // what it still sends until it closes, 64 KiB or a second, whichever first.
  void Linger() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    buffer_.clear();
    stream_.expires_after(std::chrono::seconds(1));
    Drain(0);
  }

  void Drain(size_t dropped) {
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this(), dropped](beast::error_code ec, size_t n) {
                              if (ec || dropped + n > 65536) return self->Close();
                              self->Drain(dropped + n);
                            });
  }

  beast::tcp_stream stream_;
  std::shared_ptr<ApiServer::State> state_;
  std::list<Session*>::iterator entry_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  ApiResponse response_;
  bool waiting_ = false;
};

void ApiServer::State::Accept() {
  acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
    if (self->stopped || ec == asio::error::operation_aborted) return;
    if (!ec) self->Admit(std::move(socket));
    self->Accept();
  });
}

void ApiServer::State::Admit(tcp::socket socket) {
  if (sessions.size() >= options.max_connections) {
    Session* idle = nullptr;
    for (Session* s : sessions)
      if (s->waiting()) {
        idle = s;
        break;
      }
    if (!idle) {
      // Every session is busy writing: refuse rather than grow.
      beast::error_code ignored;
      socket.close(ignored);
      return;
    }
    // Its pending read fails with operation_aborted and the session goes away.
    idle->Close();
  }
  std::make_shared<Session>(std::move(socket), shared_from_this())->Read();
}

ApiServer::ApiServer(asio::io_context& io, const ApiOptions& options)
    : state_(std::make_shared<State>(io, options)) {
  const auto address = asio::ip::make_address(options.address);
  if (!address.is_loopback())
    throw std::invalid_argument("API address " + options.address +
                                " is not a loopback address; the API is for this host only");
  const tcp::endpoint endpoint(address, options.port);
  state_->acceptor.open(endpoint.protocol());
  state_->acceptor.set_option(asio::socket_base::reuse_address(true));
  state_->acceptor.bind(endpoint);
  state_->acceptor.listen(asio::socket_base::max_listen_connections);
  state_->Accept();
}

ApiServer::~ApiServer() { Stop(); }

void ApiServer::Publish(std::shared_ptr<const ApiDocuments> documents) {
  state_->documents = std::move(documents);
}

void ApiServer::Stop() {
  if (state_->stopped) return;
  state_->stopped = true;
  beast::error_code ignored;
  state_->acceptor.close(ignored);
  for (Session* s : state_->sessions) s->Close();
}

unsigned short ApiServer::port() const { return state_->acceptor.local_endpoint().port(); }

size_t ApiServer::connections() const { return state_->open.load(); }

}  // namespace kvhost::publish
