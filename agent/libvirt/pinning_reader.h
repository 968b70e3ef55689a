// What libvirt says a domain is pinned to right now: the read-back half of
// applying a placement, and what reconciliation compares against.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/libvirt/connection.h"
#include "agent/libvirt/domain.h"
#include "agent/libvirt/domain_types.h"

namespace kvhost {

// Reads pinning from one definition: affect_flags is VIR_DOMAIN_AFFECT_CURRENT,
// _LIVE or _CONFIG. Throws LibvirtError naming the domain.
DomainPinning ReadPinning(const LibvirtConnection& connection, const LibvirtDomain& domain,
                          unsigned affect_flags);
// The same, for code outside the libvirt edge that has no libvirt constants.
DomainPinning ReadPinning(const LibvirtConnection& connection, const LibvirtDomain& domain,
                          DomainDefinition definition);

// The stored definition's pinning, which applies at the next start; none
// for a transient domain, which has no stored definition.
std::optional<DomainPinning> ReadStoredPinning(const LibvirtConnection& connection,
                                               const LibvirtDomain& domain);

std::string NumaModeName(int libvirt_mode);

}  // namespace kvhost
