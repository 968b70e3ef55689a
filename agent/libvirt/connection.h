// An open libvirt connection: the agent's one way into libvirt.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "agent/libvirt/affect_flags.h"
#include "agent/libvirt/domain.h"
#include "agent/libvirt/handles.h"

namespace kvhost {

class LibvirtConnection {
 public:
  // Opens read-write. Throws LibvirtError naming the URI and libvirt's reason.
  static LibvirtConnection Open(const std::string& uri);

  const std::string& uri() const { return uri_; }
  virConnectPtr raw() const { return handle_.get(); }
  HypervisorDriver driver() const { return driver_; }

  // A second owning reference to the same connection, for objects (event
  // watchers) that must keep it open as long as they live.
  ConnectionHandle NewReference() const;

  // Number of host CPUs a CPU map covers: the larger of the CPU map count and
  // the node's CPU total, so no CPU libvirt knows about falls off the map.
  unsigned HostCpuCount() const;

  // Every domain, active or not (virConnectListAllDomains).
  std::vector<LibvirtDomain> ListAllDomains() const;
  std::vector<DomainSummary> ListDomainSummaries() const;

  // By UUID when key looks like one, else by name. Throws LibvirtError
  // (DomainVanished()) when there is no such domain.
  LibvirtDomain LookupDomain(std::string_view key) const;

 private:
  LibvirtConnection(ConnectionHandle handle, std::string uri, HypervisorDriver driver)
      : handle_(std::move(handle)), uri_(std::move(uri)), driver_(driver) {}

  ConnectionHandle handle_;
  std::string uri_;
  HypervisorDriver driver_;
};

}  // namespace kvhost
