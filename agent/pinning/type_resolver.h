// Which instance type a running domain is: the agent's metadata in the domain
// XML, else the operator's --type, else the one catalog entry whose vCPUs,
// memory and hugepage backing match. Otherwise the domain is shared-CPU.
#pragma once

#include <optional>
#include <string>

#include "agent/catalog/instance_type.h"
#include "agent/libvirt/domain.h"

namespace kvhost {

struct ResolvedType {
  InstanceType type;   // a catalog entry, or a shared stand-in for an unknown domain
  std::string source;  // "metadata", "--type", "inferred", "unknown: treated as shared"
  bool known = false;
};

// Throws std::invalid_argument when metadata or --type names a type the
// catalog does not have (a typo must not silently become "shared").
ResolvedType ResolveInstanceType(const DomainSummary& domain, const Catalog& catalog,
                                 const std::optional<std::string>& override_type);

}  // namespace kvhost
