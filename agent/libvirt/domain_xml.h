// The two facts the agent reads out of libvirt XML, parsed by hand.
//
// No XML library is approved for the agent, so these parsers are deliberately
// minimal: they accept the canonical XML libvirt itself formats (libvirt
// re-serialises every document it returns, so no comments, CDATA or DTDs reach
// us) and reject anything they do not understand with FormatError instead of
// guessing. They rely on XML's rule that '<' never appears unescaped in text or
// attribute values, so a literal "<name" is always a tag.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kvhost {

// The namespace of the agent's <metadata> element in a domain:
//   <metadata><kvhost:instance xmlns:kvhost="https://kvhost.cozystack.io/xmlns/v1"
//             type="cx1.large"/></metadata>
inline constexpr char kInstanceMetadataNamespace[] = "https://kvhost.cozystack.io/xmlns/v1";

// Reads the type attribute of the element virDomainGetMetadata returns, e.g.
// `<instance type="cx1.large"/>` (libvirt strips the prefix). Throws FormatError
// when the element is not <instance>, the attribute is missing or empty, or the
// markup is malformed. Handles both quote styles and the predefined entities.
std::string ParseInstanceTypeElement(std::string_view element_xml);

// True when the domain XML has <memoryBacking><hugepages .../></memoryBacking>.
// Elements inside <metadata> are ignored: they belong to other applications.
bool DomainXmlRequestsHugepages(std::string_view domain_xml);

}  // namespace kvhost
