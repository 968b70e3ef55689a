// An open libvirt connection: the agent's one way into libvirt.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "agent/libvirt/affect_flags.h"
#include "agent/libvirt/domain.h"
#include "agent/libvirt/domain_filter.h"
#include "agent/libvirt/handles.h"

namespace kvhost {

class LibvirtConnection {
 public:
  // Opens read-write. Throws LibvirtError naming the URI and libvirt's reason.
  // Only the domains `filter` manages are listed and looked up through it.
  static LibvirtConnection Open(const std::string& uri, DomainFilter filter = {});

  const std::string& uri() const { return uri_; }
  virConnectPtr raw() const { return handle_.get(); }
  HypervisorDriver driver() const { return driver_; }

  // A second owning reference to the same connection, for objects (event
  // watchers) that must keep it open as long as they live.
  ConnectionHandle NewReference() const;

  // Number of host CPUs a CPU map covers: the larger of the CPU map count and
  // the node's CPU total, so no CPU libvirt knows about falls off the map.
  unsigned HostCpuCount() const;

  const DomainFilter& domain_filter() const { return filter_; }
  // A new config's `domains` (SIGHUP): the next listing and look-up follow it.
  void UseDomainFilter(DomainFilter filter) { filter_ = std::move(filter); }

  // Every domain the filter manages, active or not (virConnectListAllDomains).
  std::vector<LibvirtDomain> ListAllDomains() const;
  std::vector<DomainSummary> ListDomainSummaries() const;
  // The running domains the filter leaves alone, for reports of what was left
  // alone (none when it manages every domain).
  std::vector<LibvirtDomain> ListRunningUnmanagedDomains() const;

  // By UUID when key looks like one, else by name. Throws LibvirtError
  // (DomainVanished()) when there is no such domain, DomainNotManaged when the
  // filter leaves it alone.
  LibvirtDomain LookupDomain(std::string_view key) const;

 private:
  LibvirtConnection(ConnectionHandle handle, std::string uri, HypervisorDriver driver,
                    DomainFilter filter)
      : handle_(std::move(handle)),
        uri_(std::move(uri)),
        driver_(driver),
        filter_(std::move(filter)) {}
  // virConnectListAllDomains with `flags`, whatever the filter says.
  std::vector<LibvirtDomain> ListEveryDomain(unsigned flags) const;

  ConnectionHandle handle_;
  std::string uri_;
  HypervisorDriver driver_;
  DomainFilter filter_;
};

}  // namespace kvhost
