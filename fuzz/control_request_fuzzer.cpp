// The control socket's request decoder, as the daemon runs it on bytes from a
// client: the frame header, then the payload (fuzzed directly too, so
// mutations reach the protobuf parse and the checks behind it).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/control/control_protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::string why;
  kvhost::control::DecodeRequest(bytes, &why);
  if (size >= 4) {
    const auto length =
        kvhost::control::FrameLength(bytes.substr(0, 4), kvhost::control::kMaxFrameBytes, &why);
    if (length && *length <= size - 4)
      kvhost::control::DecodeRequest(bytes.substr(4, *length), &why);
  }
  return 0;
}
