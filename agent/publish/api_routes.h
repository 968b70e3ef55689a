// The read-only HTTP API's answers, as a pure function of the request and the
// last published documents (rendered once per publish, not per request).
#pragma once

#include <boost/beast/http.hpp>
#include <memory>
#include <string>

namespace kvhost::publish {

// What a publish hands the API: every body it serves, already rendered.
struct ApiDocuments {
  std::string metrics;      // Prometheus text (FormatMetrics)
  std::string report_json;  // protobuf JSON mapping of the NodeReport
  std::string not_ready;    // non-empty: why /readyz answers 503 (capacity unknown)
};

using ApiRequest = boost::beast::http::request<boost::beast::http::string_body>;
using ApiResponse = boost::beast::http::response<boost::beast::http::string_body>;

// /healthz, /readyz (ready once a publish happened whose capacity is known;
// 503 with the reason otherwise), /metrics, /v1/report;
// GET and HEAD only (405 otherwise), 404 elsewhere, 503 before the first publish.
// Targets in absolute form ("http://host/healthz") are routed by their path.
ApiResponse Route(const ApiRequest& request, const ApiDocuments* documents);

// The answer to a request that was not read whole (431 headers, 414 target
// over the limit): HTTP/1.1, and the connection closes after it.
ApiResponse RefuseUnreadRequest(boost::beast::http::status status, std::string body);

}  // namespace kvhost::publish

namespace kvhost::v1 {
class NodeReport;
}

namespace kvhost::publish {

// Renders every document once per publish: FormatMetrics and the protobuf
// JSON mapping of the report.
ApiDocuments RenderApiDocuments(const v1::NodeReport& report);

}  // namespace kvhost::publish
