// The read-only HTTP API on a real loopback socket: endpoints, methods, limits,
// and that a crowd of idle connections plus a client that never reads leave
// /healthz answering within a bound.
#include "agent/publish/api_server.h"

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <future>
#include <thread>

#include "publish.pb.h"

namespace kvhost::publish {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// The server on its own io_context thread, as the daemon will run it.
class ApiServerTest : public ::testing::Test {
 protected:
  void Start(ApiOptions options) {
    options.port = 0;
    server_ = std::make_unique<ApiServer>(io_, options);
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    if (!server_) return;
    OnLoop([this] { server_->Stop(); });
    thread_.join();
  }
  void OnLoop(std::function<void()> f) {
    std::promise<void> done;
    asio::post(io_, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }
  void Publish(std::string metrics, std::string json, std::string not_ready = "") {
    auto docs = std::make_shared<ApiDocuments>(
        ApiDocuments{std::move(metrics), std::move(json), std::move(not_ready)});
    OnLoop([&] { server_->Publish(docs); });
  }
  tcp::endpoint Endpoint() const { return {asio::ip::make_address("127.0.0.1"), server_->port()}; }

  // One request on a fresh connection, with a deadline so a stalled server fails the test.
  ApiResponse Request(http::verb verb, const std::string& target) {
    asio::io_context client;
    beast::tcp_stream stream(client);
    stream.expires_after(2s);
    stream.connect(Endpoint());
    ApiRequest request{verb, target, 11};
    request.set(http::field::host, "localhost");
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.skip(verb == http::verb::head);
    http::read(stream, buffer, parser);
    return parser.release();
  }

  asio::io_context io_;
  std::unique_ptr<ApiServer> server_;
  std::thread thread_;
};

TEST_F(ApiServerTest, AnswersItsEndpointsAndIsReadyOnlyAfterAPublish) {
  Start({});
  EXPECT_EQ(Request(http::verb::get, "/healthz").result_int(), 200);
  EXPECT_EQ(Request(http::verb::get, "/readyz").result_int(), 503);
  EXPECT_EQ(Request(http::verb::get, "/metrics").result_int(), 503);
  Publish("kvhost_realtime_ready 1\n", "{\"nodeName\": \"w1\"}");
  EXPECT_EQ(Request(http::verb::get, "/readyz").result_int(), 200);
  const ApiResponse metrics = Request(http::verb::get, "/metrics?x=1");
  EXPECT_EQ(metrics.result_int(), 200);
  EXPECT_EQ(metrics.body(), "kvhost_realtime_ready 1\n");
  EXPECT_EQ(metrics[http::field::content_type], "text/plain; version=0.0.4; charset=utf-8");
  const ApiResponse report = Request(http::verb::get, "/v1/report");
  EXPECT_EQ(report.body(), "{\"nodeName\": \"w1\"}");
  EXPECT_EQ(report[http::field::content_type], "application/json");
  const ApiResponse head = Request(http::verb::head, "/v1/report");
  EXPECT_EQ(head.result_int(), 200);
  EXPECT_EQ(head[http::field::content_length], "18");
  EXPECT_EQ(head.body(), "");
  EXPECT_EQ(Request(http::verb::get, "/nope").result_int(), 404);
  for (auto verb : {http::verb::post, http::verb::put, http::verb::delete_}) {
    const ApiResponse refused = Request(verb, "/metrics");
    EXPECT_EQ(refused.result_int(), 405);
    EXPECT_EQ(refused[http::field::allow], "GET, HEAD");
  }
}

TEST_F(ApiServerTest, IsNotReadyWhileCapacityIsUnknownAndSaysWhy) {
  Start({});
  Publish("kvhost_capacity_known 0\n", "{}", "capacity unknown: /k/config.yaml: absent");
  const ApiResponse ready = Request(http::verb::get, "/readyz");
  EXPECT_EQ(ready.result_int(), 503);
  EXPECT_EQ(ready.body(), "not ready: capacity unknown: /k/config.yaml: absent\n");
  EXPECT_EQ(Request(http::verb::get, "/metrics").result_int(), 200);
  EXPECT_EQ(Request(http::verb::get, "/healthz").result_int(), 200);
  Publish("kvhost_capacity_known 1\n", "{}");
  EXPECT_EQ(Request(http::verb::get, "/readyz").result_int(), 200);
}

TEST_F(ApiServerTest, ServesTheReportAsProtobufJson) {
  Start({});
  v1::NodeReport report;
  report.set_node_name("worker-7");
  report.mutable_stats()->set_refreshes(3);
  const ApiDocuments docs = RenderApiDocuments(report);
  Publish(docs.metrics, docs.report_json);
  v1::NodeReport back;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  Request(http::verb::get, "/v1/report").body(), &back)
                  .ok());
  EXPECT_EQ(back.node_name(), "worker-7");
  EXPECT_EQ(back.stats().refreshes(), 3u);
  EXPECT_NE(Request(http::verb::get, "/metrics").body().find("kvhost_refreshes_total 3"),
            std::string::npos);
}

TEST_F(ApiServerTest, ListensOnLoopbackOnly) {
  asio::io_context io;
  ApiOptions options;
  options.port = 0;
  for (const char* address : {"0.0.0.0", "::", "192.0.2.1"}) {
    options.address = address;
    EXPECT_THROW(ApiServer(io, options), std::invalid_argument) << address;
  }
  options.address = "::1";
  EXPECT_NO_THROW(ApiServer(io, options));
}

// Sends `request` as raw bytes and reads the answer (the server closes after it).
std::string RawExchange(const tcp::endpoint& server, const std::string& request) {
  asio::io_context client;
  beast::tcp_stream stream(client);
  stream.expires_after(2s);
  stream.connect(server);
  asio::write(stream, asio::buffer(request));
  std::string answer;
  beast::error_code ec;
  char buffer[4096];
  for (size_t n; (n = stream.read_some(asio::buffer(buffer), ec)) > 0 || !ec;)
    answer.append(buffer, n);
  return answer;
}

// Beast's parser stops at the header limit; the client was told nothing.
TEST_F(ApiServerTest, AnswersHeadersOverTheLimitWith431AndCloses) {
  Start({});
  const std::string answer = RawExchange(
      Endpoint(),
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: " + std::string(16384, 'p') + "\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 431 Request Header Fields Too Large\r\n", 0), 0u) << answer;
  EXPECT_NE(answer.find("Connection: close\r\n"), std::string::npos) << answer;
  EXPECT_EQ(Request(http::verb::get, "/healthz").result_int(), 200);
}

TEST_F(ApiServerTest, AnswersATargetOverTheLimitWith414AndCloses) {
  Start({});
  const std::string answer =
      RawExchange(Endpoint(), "GET /" + std::string(16384, 't') + " HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 414 URI Too Long\r\n", 0), 0u) << answer;
  EXPECT_EQ(Request(http::verb::get, "/healthz").result_int(), 200);
}

// RFC 9112 3.2.2: a server must accept the absolute form, as proxies send it.
TEST_F(ApiServerTest, RoutesAbsoluteFormTargetsByTheirPath) {
  Start({});
  Publish("m 1\n", "{}");
  EXPECT_EQ(Request(http::verb::get, "http://localhost/healthz").result_int(), 200);
  EXPECT_EQ(Request(http::verb::get, "HTTP://127.0.0.1:9478/metrics?x=1").body(), "m 1\n");
  EXPECT_EQ(Request(http::verb::get, "http://localhost").result_int(), 404) << "path /";
  EXPECT_EQ(Request(http::verb::get, "http://localhost/nope").result_int(), 404);
}

TEST_F(ApiServerTest, CrowdsAndANonReadingClientDoNotStallHealthz) {
  ApiOptions options;
  options.max_connections = 64;
  options.request_timeout = 1500ms;
  options.write_timeout = 1000ms;
  Start(options);
  Publish("m\n", std::string(1 << 20, 'r'));  // 1 MiB: fills any socket buffer

  asio::io_context client;
  // A client that asks for the big report again and again and never reads.
  tcp::socket hog(client);
  hog.connect(Endpoint());
  std::string requests;
  for (int i = 0; i < 50; ++i) requests += "GET /v1/report HTTP/1.1\r\nHost: x\r\n\r\n";
  asio::write(hog, asio::buffer(requests));
  // 200 connections that send nothing.
  std::vector<tcp::socket> idle;
  for (int i = 0; i < 200; ++i) {
    idle.emplace_back(client);
    idle.back().connect(Endpoint());
  }
  for (int i = 0; i < 20; ++i) {
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(Request(http::verb::get, "/healthz").result_int(), 200);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 500ms) << "round " << i;
  }
  EXPECT_LE(server_->connections(), options.max_connections);
  // Deadlines reclaim everything: idle sockets after request_timeout, the hog after write_timeout.
  std::this_thread::sleep_for(options.request_timeout + options.write_timeout + 500ms);
  EXPECT_EQ(server_->connections(), 0u);
}

}  // namespace
}  // namespace kvhost::publish
