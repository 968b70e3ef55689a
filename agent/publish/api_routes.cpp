#include "agent/publish/api_routes.h"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "agent/publish/metrics.h"
#include "agent/report/host_report.h"
#include "publish.pb.h"

namespace kvhost::publish {
namespace {

namespace http = boost::beast::http;

ApiResponse Answer(const ApiRequest& request, http::status status, const char* content_type,
                   std::string body) {
  ApiResponse response{status, request.version()};
  response.set(http::field::server, "kvhost-agent");
  response.set(http::field::content_type, content_type);
  response.set(http::field::cache_control, "no-store");
  response.keep_alive(request.keep_alive());
  const size_t length = body.size();
  // HEAD: the headers GET would send, no body.
  if (request.method() != http::verb::head) response.body() = std::move(body);
  response.content_length(length);
  return response;
}

// The path of an origin-form target ("/metrics?x=1") or of an absolute-form
// one ("http://host:port/metrics?x=1", as proxies send it; RFC 9112 3.2.2),
// without the query.
std::string_view PathOf(std::string_view target) {
  target = target.substr(0, target.find('?'));
  if (target.starts_with('/')) return target;
  const size_t scheme_end = target.find("://");
  if (scheme_end == std::string_view::npos) return target;
  const std::string_view scheme = target.substr(0, scheme_end);
  const auto is = [&](std::string_view name) {
    return scheme.size() == name.size() &&
           std::equal(scheme.begin(), scheme.end(), name.begin(), [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a)) == b;
           });
  };
  if (!is("http") && !is("https")) return target;
  const size_t path = target.find('/', scheme_end + 3);
  return path == std::string_view::npos ? std::string_view("/") : target.substr(path);
}

}  // namespace

ApiResponse RefuseUnreadRequest(http::status status, std::string body) {
  ApiResponse response{status, 11};
  response.set(http::field::server, "kvhost-agent");
  response.set(http::field::content_type, "text/plain; charset=utf-8");
  response.keep_alive(false);
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

ApiDocuments RenderApiDocuments(const v1::NodeReport& report) {
  return {
      FormatMetrics(report), ToJson(report),
      report.capacity_unknown().empty() ? "" : "capacity unknown: " + report.capacity_unknown()};
}

ApiResponse Route(const ApiRequest& request, const ApiDocuments* documents) {
  constexpr const char* kText = "text/plain; charset=utf-8";
  if (request.method() != http::verb::get && request.method() != http::verb::head) {
    ApiResponse response =
        Answer(request, http::status::method_not_allowed, kText, "read-only API: GET or HEAD\n");
    response.set(http::field::allow, "GET, HEAD");
    return response;
  }
  const std::string_view path = PathOf({request.target().data(), request.target().size()});
  if (path == "/healthz") return Answer(request, http::status::ok, kText, "ok\n");
  const bool known = path == "/readyz" || path == "/metrics" || path == "/v1/report";
  if (!known) return Answer(request, http::status::not_found, kText, "no such endpoint\n");
  if (!documents)
    return Answer(request, http::status::service_unavailable, kText,
                  "not ready: nothing published yet\n");
  if (path == "/readyz")
    return documents->not_ready.empty() ? Answer(request, http::status::ok, kText, "ready\n")
                                        : Answer(request, http::status::service_unavailable, kText,
                                                 "not ready: " + documents->not_ready + "\n");
  if (path == "/metrics")
    return Answer(request, http::status::ok, kMetricsContentType, documents->metrics);
  return Answer(request, http::status::ok, "application/json", documents->report_json);
}

}  // namespace kvhost::publish
