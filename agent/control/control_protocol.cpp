#include "agent/control/control_protocol.h"

#include <algorithm>

namespace kvhost::control {
namespace {

// Names reach logs and libvirt lookups: printable ASCII only (libvirt domain
// names and KubeVirt type names are), so a request cannot forge a log line.
bool PrintableName(std::string_view name) {
  return std::all_of(name.begin(), name.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

bool CheckName(std::string_view what, std::string_view name, bool required, std::string* why) {
  if (required && name.empty()) {
    *why = std::string(what) + " is empty";
    return false;
  }
  if (name.size() > kMaxNameBytes) {
    *why = std::string(what) + " is " + std::to_string(name.size()) + " bytes, at most " +
           std::to_string(kMaxNameBytes);
    return false;
  }
  if (!PrintableName(name)) {
    *why = std::string(what) + " holds bytes that are not printable ASCII";
    return false;
  }
  return true;
}

}  // namespace

std::string FrameHeader(uint32_t length) {
  return {static_cast<char>(length >> 24), static_cast<char>(length >> 16),
          static_cast<char>(length >> 8), static_cast<char>(length)};
}

std::optional<uint32_t> FrameLength(std::string_view header, uint32_t max, std::string* why) {
  if (header.size() != 4) {
    *why = "a frame starts with a 4-byte length";
    return std::nullopt;
  }
  uint32_t length = 0;
  for (char c : header) length = (length << 8) | static_cast<uint8_t>(c);
  if (length == 0 || length > max) {
    *why = "frame length " + std::to_string(length) + " is not within 1-" + std::to_string(max) +
           " bytes";
    return std::nullopt;
  }
  return length;
}

std::string EncodeFrame(const google::protobuf::Message& message) {
  const std::string payload = message.SerializeAsString();
  return FrameHeader(static_cast<uint32_t>(payload.size())) + payload;
}

std::optional<v1::ControlRequest> DecodeRequest(std::string_view payload, std::string* why) {
  v1::ControlRequest request;
  if (payload.size() > kMaxFrameBytes ||
      !request.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    *why = "not a kvhost.v1.ControlRequest";
    return std::nullopt;
  }
  bool ok = true;
  switch (request.action_case()) {
    case v1::ControlRequest::kPin:
      ok = CheckName("pin: domain", request.pin().domain(), true, why) &&
           CheckName("pin: type", request.pin().type(), false, why);
      break;
    case v1::ControlRequest::kUnpin:
      ok = CheckName("unpin: domain", request.unpin().domain(), true, why);
      break;
    case v1::ControlRequest::kReconcile:
      break;
    case v1::ControlRequest::ACTION_NOT_SET:
      *why = "the request names no action (pin, unpin or reconcile)";
      ok = false;
      break;
  }
  if (!ok) return std::nullopt;
  return request;
}

}  // namespace kvhost::control
