#include "agent/state/crc32c.h"

#include <boost/crc.hpp>

namespace kvhost {

uint32_t Crc32c(std::string_view bytes) {
  // Castagnoli's polynomial in normal form (0x82F63B78 reflected), reflected
  // input and output, as iSCSI, ext4 and every state.pb written so far use.
  boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true> crc;
  crc.process_bytes(bytes.data(), bytes.size());
  return crc.checksum();
}

}  // namespace kvhost
