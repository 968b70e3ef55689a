// Domain XML and the kvhost metadata element, through domain_xml.h's public
// functions only (the parser behind them may change).
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string_view>

#include "agent/libvirt/domain_xml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view xml(reinterpret_cast<const char*>(data), size);
  // Bad markup is an exception of the parser's choosing; only a crash is a bug.
  try {
    kvhost::DomainXmlRequestsHugepages(xml);
  } catch (const std::exception&) {
  }
  try {
    kvhost::ParseInstanceTypeElement(xml);
  } catch (const std::exception&) {
  }
  return 0;
}
