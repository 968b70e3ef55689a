#include "agent/pinning/type_resolver.h"

#include <stdexcept>

namespace kvhost {
namespace {

ResolvedType Named(const std::string& name, const Catalog& catalog, const char* source,
                   const DomainSummary& domain) {
  const InstanceType* t = catalog.Find(name);
  if (!t)
    throw std::invalid_argument("domain '" + domain.name + "' names instance type '" + name +
                                "' (" + source + "), which the catalog does not have" +
                                catalog.DidYouMean(name));
  return {*t, source, true};
}

}  // namespace

ResolvedType ResolveInstanceType(const DomainSummary& domain, const Catalog& catalog,
                                 const std::optional<std::string>& override_type) {
  if (domain.instance_type) return Named(*domain.instance_type, catalog, "metadata", domain);
  if (override_type) return Named(*override_type, catalog, "--type", domain);
  const InstanceType* match = nullptr;
  unsigned matches = 0;
  std::string names;  // so the operator sees which look-alikes to tell apart
  for (const auto& t : catalog.types) {
    if (t.vcpus == domain.vcpus && t.memory_kib == domain.memory_kib &&
        (t.hugepage_size_kib != 0) == domain.hugepages) {
      match = &t;
      ++matches;
      names += (names.empty() ? "" : ", ") + t.name;
    }
  }
  if (matches == 1) return {*match, "inferred", true};
  // No guess between look-alikes (cx1.medium and rt1.small are both 1 vCPU, 2Gi
  // on hugepages): the domain floats on the shared pool and is reported.
  InstanceType shared;
  shared.name = "unknown";
  shared.vcpus = domain.vcpus;
  shared.memory_kib = domain.memory_kib;
  shared.source = "domain " + domain.name;
  return {shared,
          matches == 0 ? "unknown: no catalog type matches; treated as shared"
                       : "unknown: " + std::to_string(matches) + " catalog types match (" + names +
                             "); treated as shared",
          false};
}

}  // namespace kvhost
