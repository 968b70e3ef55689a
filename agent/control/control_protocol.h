// The control socket's wire format: a 4-byte big-endian length, then a
// protobuf message (proto/control.proto). Pure: bytes in, a checked request or
// a reason out, so the decoder is fuzzed on its own (fuzz/control_request_fuzzer).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "control.pb.h"

namespace kvhost::control {

// A request is a domain name and a type name: a few hundred bytes. Anything
// near this is not a client of ours.
constexpr uint32_t kMaxFrameBytes = 16 * 1024;
// A response is what the command prints: a reconcile of many domains lists them all.
constexpr uint32_t kMaxResponseBytes = 4 * 1024 * 1024;
// libvirt's limit on names is far above real ones; ours bounds what is logged.
constexpr size_t kMaxNameBytes = 1024;

// The 4-byte header of a frame of `length` bytes.
std::string FrameHeader(uint32_t length);
// The length a header announces; nullopt (with `why`) when it is 0 or above `max`.
std::optional<uint32_t> FrameLength(std::string_view header, uint32_t max, std::string* why);

std::string EncodeFrame(const google::protobuf::Message& message);

// The request in `payload` (a frame without its header), or nullopt with a
// one-line reason: not a protobuf, no action, an empty or oversized domain or
// type, bytes that are not printable text.
std::optional<v1::ControlRequest> DecodeRequest(std::string_view payload, std::string* why);

}  // namespace kvhost::control
