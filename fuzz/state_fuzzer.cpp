// state.pb: the framing (magic, length, CRC-32C), then the protobuf payload and
// its conversion back to placements, as a load does.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/state/state_file_format.h"
#include "state.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // The framing is checked first; the payload parse is fuzzed directly too, as
  // the CRC would otherwise keep almost every mutation away from it.
  kvhost::v1::AgentState state;
  state.ParseFromArray(data, static_cast<int>(size));
  try {
    const std::string_view payload = kvhost::UnframeStatePayload(bytes);
    state.ParseFromArray(payload.data(), static_cast<int>(payload.size()));
  } catch (const kvhost::StateFormatError&) {
  }
  return 0;
}
