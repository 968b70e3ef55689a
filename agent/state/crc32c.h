// CRC-32C (Castagnoli), the checksum guarding state.pb against torn or flipped
// bytes. Not a defence against tampering: the file is root's, in root's dir.
#pragma once

#include <cstdint>
#include <string_view>

namespace kvhost {

// Standard CRC-32C (Boost.CRC): polynomial 0x1EDC6F41 (0x82F63B78 reflected),
// initial and final XOR 0xFFFFFFFF; Crc32c("123456789") == 0xE3069283.
uint32_t Crc32c(std::string_view bytes);

}  // namespace kvhost
