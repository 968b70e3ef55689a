#include "agent/libvirt/domain.h"

#include <libvirt/virterror.h>

#include "agent/libvirt/domain_xml.h"
#include "agent/libvirt/libvirt_error.h"
#include "base/cpu_set.h"

namespace kvhost {

namespace {

DomainState FromLibvirtState(int state) {
  switch (state) {
    case VIR_DOMAIN_NOSTATE:
      return DomainState::kNoState;
    case VIR_DOMAIN_RUNNING:
      return DomainState::kRunning;
    case VIR_DOMAIN_BLOCKED:
      return DomainState::kBlocked;
    case VIR_DOMAIN_PAUSED:
      return DomainState::kPaused;
    case VIR_DOMAIN_SHUTDOWN:
      return DomainState::kShutdown;
    case VIR_DOMAIN_SHUTOFF:
      return DomainState::kShutoff;
    case VIR_DOMAIN_CRASHED:
      return DomainState::kCrashed;
    case VIR_DOMAIN_PMSUSPENDED:
      return DomainState::kPmSuspended;
    default:
      return DomainState::kUnknown;
  }
}

}  // namespace

LibvirtDomain::LibvirtDomain(DomainHandle handle) : handle_(std::move(handle)) {
  const char* name = virDomainGetName(handle_.get());
  if (name == nullptr) ThrowLastLibvirtError("read the name of a domain");
  name_ = name;
  char uuid[VIR_UUID_STRING_BUFLEN] = {};
  if (virDomainGetUUIDString(handle_.get(), uuid) < 0)
    ThrowLastLibvirtError("read the UUID of " + Describe());
  uuid_ = uuid;
}

std::string LibvirtDomain::Describe() const { return "domain '" + name_ + "'"; }

DomainState LibvirtDomain::State() const {
  int state = 0;
  int reason = 0;
  if (virDomainGetState(raw(), &state, &reason, 0) < 0)
    ThrowLastLibvirtError("read the state of " + Describe());
  return FromLibvirtState(state);
}

bool LibvirtDomain::IsActive() const {
  int active = virDomainIsActive(raw());
  if (active < 0) ThrowLastLibvirtError("ask whether " + Describe() + " is active");
  return active == 1;
}

bool LibvirtDomain::IsPersistent() const {
  int persistent = virDomainIsPersistent(raw());
  if (persistent < 0) ThrowLastLibvirtError("ask whether " + Describe() + " is persistent");
  return persistent == 1;
}

unsigned LibvirtDomain::MaxVcpus() const {
  // VCPU_MAXIMUM works on inactive domains too, unlike virDomainGetMaxVcpus.
  int vcpus = virDomainGetVcpusFlags(raw(), VIR_DOMAIN_VCPU_MAXIMUM);
  if (vcpus < 0) ThrowLastLibvirtError("read the vCPU count of " + Describe());
  return static_cast<unsigned>(vcpus);
}

unsigned LibvirtDomain::Id() const {
  // (unsigned)-1 for a domain that does not run: 0 then, which no instance has.
  const unsigned id = virDomainGetID(raw());
  return id == static_cast<unsigned>(-1) ? 0 : id;
}

DomainSummary LibvirtDomain::Summarize() const {
  DomainSummary summary;
  summary.name = name_;
  summary.uuid = uuid_;
  summary.state = State();
  summary.active = IsActive();
  if (summary.active) summary.id = Id();
  summary.persistent = IsPersistent();
  summary.vcpus = MaxVcpus();
  unsigned long max_memory = virDomainGetMaxMemory(raw());
  if (max_memory == 0) ThrowLastLibvirtError("read the memory size of " + Describe());
  summary.memory_kib = max_memory;

  LibvirtString metadata(virDomainGetMetadata(
      raw(), VIR_DOMAIN_METADATA_ELEMENT, kInstanceMetadataNamespace, VIR_DOMAIN_AFFECT_CURRENT));
  if (metadata) {
    try {
      summary.instance_type = ParseInstanceTypeElement(metadata.get());
    } catch (const FormatError& e) {
      // One VM's odd metadata must not hide the others from the listing.
      summary.metadata_problem = e.what();
    }
  } else {
    LastLibvirtError error = TakeLastLibvirtError();
    // No element in our namespace is the normal case for VMs the agent does not manage.
    if (error.code != VIR_ERR_NO_DOMAIN_METADATA) {
      throw LibvirtError("read the kvhost metadata of " + Describe(), error.message, error.code);
    }
  }

  LibvirtString xml(virDomainGetXMLDesc(raw(), 0));
  if (!xml) ThrowLastLibvirtError("read the XML of " + Describe());
  try {
    summary.hugepages = DomainXmlRequestsHugepages(xml.get());
  } catch (const FormatError& e) {
    throw LibvirtError("read <memoryBacking> of " + Describe(), e.what(), 0);
  }
  return summary;
}

}  // namespace kvhost
