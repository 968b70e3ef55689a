#include "agent/publish/api_routes.h"

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
  std::string_view path(request.target().data(), request.target().size());
  path = path.substr(0, path.find('?'));
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
