// The two facts the agent reads out of libvirt XML, parsed with libxml2.
//
// libvirt re-serialises every document it returns, so a DOCTYPE never reaches
// us from it: one is refused outright, which also refuses external entities
// (XXE) and entity expansion bombs before libxml2 acts on them. Input is
// capped at libvirt's own RPC string limit. Anything malformed throws
// FormatError with libxml2's reason and line.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace kvhost {

// The namespace of the agent's <metadata> element in a domain:
//   <metadata><kvhost:instance xmlns:kvhost="https://kvhost.cozystack.io/xmlns/v1"
//             type="cx1.large"/></metadata>
inline constexpr char kInstanceMetadataNamespace[] = "https://kvhost.cozystack.io/xmlns/v1";

// libvirt's REMOTE_STRING_MAX: no domain XML larger than this can come through
// libvirtd, so a larger input is refused rather than parsed.
inline constexpr size_t kMaxLibvirtXmlBytes = 4u << 20;

// Reads the type attribute of the element virDomainGetMetadata returns, e.g.
// `<instance type="cx1.large"/>` (with or without a prefix). Throws FormatError
// when the element is not <instance>, the unprefixed type attribute is missing,
// empty or not ASCII, or the markup is malformed.
std::string ParseInstanceTypeElement(std::string_view element_xml);

// True when the <domain> has <memoryBacking><hugepages .../></memoryBacking>.
// Elements inside <metadata> are ignored: they belong to other applications.
bool DomainXmlRequestsHugepages(std::string_view domain_xml);

}  // namespace kvhost
