#include "agent/state/state_file_format.h"

#include "agent/state/crc32c.h"

namespace kvhost {

namespace {

constexpr std::string_view kMagic = "KVHSTATE";
constexpr uint32_t kFramingVersion = 1;

void AppendLittleEndian(std::string& out, uint32_t value) {
  for (int shift = 0; shift < 32; shift += 8) out += static_cast<char>((value >> shift) & 0xFFu);
}

uint32_t ReadLittleEndian(std::string_view bytes, size_t offset) {
  uint32_t value = 0;
  for (int i = 3; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(bytes[offset + i]);
  return value;
}

std::string Hex(uint32_t value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text = "0x";
  for (int shift = 28; shift >= 0; shift -= 4) text += kDigits[(value >> shift) & 0xFu];
  return text;
}

}  // namespace

std::string FrameStatePayload(std::string_view payload) {
  if (payload.size() > kMaxStatePayload) {
    throw StateFormatError("state payload of " + std::to_string(payload.size()) +
                           " bytes exceeds the limit");
  }
  std::string framed(kMagic);
  AppendLittleEndian(framed, kFramingVersion);
  AppendLittleEndian(framed, static_cast<uint32_t>(payload.size()));
  AppendLittleEndian(framed, Crc32c(payload));
  framed.append(payload);
  return framed;
}

std::string_view UnframeStatePayload(std::string_view bytes) {
  if (bytes.size() < kStateHeaderSize) {
    throw StateFormatError("truncated: " + std::to_string(bytes.size()) +
                           " bytes, shorter than the " + std::to_string(kStateHeaderSize) +
                           "-byte header");
  }
  if (bytes.substr(0, kMagic.size()) != kMagic)
    throw StateFormatError("not a kvhost state file (bad magic)");
  uint32_t version = ReadLittleEndian(bytes, 8);
  if (version != kFramingVersion) {
    throw StateFormatError("unsupported framing version " + std::to_string(version));
  }
  uint32_t length = ReadLittleEndian(bytes, 12);
  size_t actual = bytes.size() - kStateHeaderSize;
  if (length != actual) {
    throw StateFormatError(std::string(actual < length ? "truncated" : "trailing bytes") +
                           ": header says " + std::to_string(length) + " payload bytes, file has " +
                           std::to_string(actual));
  }
  std::string_view payload = bytes.substr(kStateHeaderSize);
  uint32_t expected = ReadLittleEndian(bytes, 16);
  uint32_t computed = Crc32c(payload);
  if (expected != computed) {
    throw StateFormatError("checksum mismatch: header says CRC-32C " + Hex(expected) +
                           ", payload has " + Hex(computed));
  }
  return payload;
}

}  // namespace kvhost
