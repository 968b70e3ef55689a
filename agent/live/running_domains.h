// What libvirt says runs, as plain values for the loader: gathered at the
// libvirt edge (agent/pinning/live_domains.h) and handed to LoadLiveHost, so
// agent/live never links libvirt and tests can describe a busy host directly.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/allocator/host_resources.h"
#include "agent/allocator/placement.h"
#include "agent/catalog/instance_type.h"
#include "agent/libvirt/domain_types.h"

namespace kvhost {

struct LiveDomain {
  std::string name;
  std::string uuid;
  std::string uri;  // the connection it runs behind
  // Its instance type as the edge resolved it (metadata, inference); absent
  // when the domain matches no catalog entry.
  std::optional<InstanceType> type;
  DomainPinning pinning;  // as libvirt reports it now
};

struct RunningDomains {
  // The connections that answered: a saved allocation behind any other URI is
  // kept, since an unreachable libvirt says nothing about its domains.
  std::vector<std::string> connected_uris;
  std::vector<LiveDomain> domains;  // active domains only, those the config's `domains` manages
  // UUIDs of the active domains outside `domains`: like any domain the agent
  // did not place and that holds no CPUs of its own, they are charged nothing,
  // and a saved allocation of one (the key changed since) is not counted.
  std::vector<std::string> not_managed_uuids = {};
};

// The placement a dedicated domain holds, read from its pinning: one CPU per
// vCPU (and one for an isolated emulator thread), memory and hugepages on the
// nodes of those CPUs, split in proportion to the vCPUs there. nullopt when
// the pinning does not say where it is (unpinned, a vCPU on several CPUs, a
// CPU the host does not have): such a domain holds nothing exclusively.
std::optional<Placement> PlacementFromPinning(const HostResources& host, const InstanceType& type,
                                              const std::string& vm, const DomainPinning& pinning);

}  // namespace kvhost
