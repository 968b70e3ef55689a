#include "agent/libvirt/connection.h"

#include <libvirt/virterror.h>

#include <algorithm>
#include <cctype>

#include "agent/libvirt/libvirt_error.h"

namespace kvhost {

namespace {

HypervisorDriver DetectDriver(virConnectPtr connection) {
  const char* type = virConnectGetType(connection);  // static string, not ours to free
  std::string name = type != nullptr ? type : "";
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return name == "test" ? HypervisorDriver::kTest : HypervisorDriver::kOther;
}

bool LooksLikeUuid(std::string_view key) {
  if (key.size() != 36) return false;
  for (size_t i = 0; i < key.size(); ++i) {
    bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_position ? key[i] != '-' : !std::isxdigit(static_cast<unsigned char>(key[i])))
      return false;
  }
  return true;
}

}  // namespace

LibvirtConnection LibvirtConnection::Open(const std::string& uri, DomainFilter filter) {
  EnsureLibvirtInitialized();
  ConnectionHandle handle(virConnectOpen(uri.c_str()));
  if (!handle) ThrowLastLibvirtError("open libvirt connection '" + uri + "'");
  HypervisorDriver driver = DetectDriver(handle.get());
  return LibvirtConnection(std::move(handle), uri, driver, std::move(filter));
}

ConnectionHandle LibvirtConnection::NewReference() const {
  if (virConnectRef(raw()) < 0)
    ThrowLastLibvirtError("reference libvirt connection '" + uri_ + "'");
  return ConnectionHandle(raw());
}

unsigned LibvirtConnection::HostCpuCount() const {
  int map_cpus = virNodeGetCPUMap(raw(), nullptr, nullptr, 0);
  if (map_cpus < 0) TakeLastLibvirtError();  // the node info below may still answer
  virNodeInfo info{};
  int node_cpus =
      virNodeGetInfo(raw(), &info) == 0 ? static_cast<int>(VIR_NODEINFO_MAXCPUS(info)) : -1;
  if (map_cpus <= 0 && node_cpus <= 0)
    ThrowLastLibvirtError("count the host CPUs of '" + uri_ + "'");
  return static_cast<unsigned>(std::max(map_cpus, node_cpus));
}

std::vector<LibvirtDomain> LibvirtConnection::ListAllDomains() const {
  std::vector<LibvirtDomain> managed;
  for (LibvirtDomain& domain : ListEveryDomain(0))
    if (filter_.Manages(domain.name())) managed.push_back(std::move(domain));
  return managed;
}

std::vector<LibvirtDomain> LibvirtConnection::ListRunningUnmanagedDomains() const {
  std::vector<LibvirtDomain> unmanaged;
  if (filter_.ManagesEvery()) return unmanaged;
  for (LibvirtDomain& domain : ListEveryDomain(VIR_CONNECT_LIST_DOMAINS_ACTIVE))
    if (!filter_.Manages(domain.name())) unmanaged.push_back(std::move(domain));
  return unmanaged;
}

std::vector<LibvirtDomain> LibvirtConnection::ListEveryDomain(unsigned flags) const {
  virDomainPtr* raw_domains = nullptr;
  int count = virConnectListAllDomains(raw(), &raw_domains, flags);
  if (count < 0) ThrowLastLibvirtError("list the domains of '" + uri_ + "'");
  // Take ownership of every handle before anything can throw, then free the array.
  std::vector<DomainHandle> handles;
  handles.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) handles.emplace_back(raw_domains[i]);
  LibvirtMemoryFreer{}(raw_domains);

  std::vector<LibvirtDomain> domains;
  domains.reserve(handles.size());
  for (DomainHandle& handle : handles) domains.emplace_back(std::move(handle));
  return domains;
}

std::vector<DomainSummary> LibvirtConnection::ListDomainSummaries() const {
  std::vector<DomainSummary> summaries;
  for (const LibvirtDomain& domain : ListAllDomains()) {
    try {
      summaries.push_back(domain.Summarize());
    } catch (const LibvirtError& e) {
      // Undefined between the listing and the read: it is simply no longer there.
      if (!e.DomainVanished()) throw;
    }
  }
  return summaries;
}

LibvirtDomain LibvirtConnection::LookupDomain(std::string_view key) const {
  std::string text(key);
  DomainHandle handle(LooksLikeUuid(key) ? virDomainLookupByUUIDString(raw(), text.c_str())
                                         : virDomainLookupByName(raw(), text.c_str()));
  if (!handle) ThrowLastLibvirtError("look up domain '" + text + "' on '" + uri_ + "'");
  LibvirtDomain domain(std::move(handle));
  if (!filter_.Manages(domain.name())) throw DomainNotManaged(domain.name(), filter_);
  return domain;
}

}  // namespace kvhost
