// The framing of state.pb: a fixed header, then the serialized AgentState.
//
//   offset  size  field
//        0     8  magic "KVHSTATE"
//        8     4  framing version, little endian (1)
//       12     4  payload length in bytes, little endian
//       16     4  CRC-32C of the payload, little endian
//       20     n  payload: kvhost.v1.AgentState, protobuf binary
//
// A protobuf parser accepts many damaged inputs (an empty file is a valid
// empty message), so damage is caught here instead: the exact length catches
// truncation and appended junk, the CRC catches flipped bytes.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace kvhost {

class StateFormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr size_t kStateHeaderSize = 20;
// Far above any real state (a few KiB per VM); refuses to allocate for garbage lengths.
inline constexpr uint32_t kMaxStatePayload = 64u << 20;

std::string FrameStatePayload(std::string_view payload);

// The payload inside file_bytes; throws StateFormatError saying what is wrong.
std::string_view UnframeStatePayload(std::string_view file_bytes);

}  // namespace kvhost
