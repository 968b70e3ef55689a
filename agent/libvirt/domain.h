// One libvirt domain as the agent sees it: an owning handle plus the facts
// read from it. Name and UUID are captured when the handle is made, so errors
// can name a domain even after it vanished from libvirt.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "agent/libvirt/handles.h"

namespace kvhost {

enum class DomainState {
  kNoState,
  kRunning,
  kBlocked,
  kPaused,
  kShutdown,
  kShutoff,
  kCrashed,
  kPmSuspended,
  kUnknown
};

struct DomainSummary {
  std::string name;
  std::string uuid;
  DomainState state = DomainState::kUnknown;
  bool active = false;                       // has a running (or paused) instance
  unsigned id = 0;                           // libvirt's id of that instance, new at every start
  bool persistent = false;                   // defined, not transient
  unsigned vcpus = 0;                        // maximum vCPUs: every one of them gets pinned
  uint64_t memory_kib = 0;                   // maximum memory
  std::optional<std::string> instance_type;  // from <kvhost:instance type=...>
  std::string metadata_problem;              // why a present <kvhost:instance> was not understood
  bool hugepages = false;                    // <memoryBacking><hugepages/>
};

class LibvirtDomain {
 public:
  // Takes ownership; throws LibvirtError when even the name cannot be read.
  explicit LibvirtDomain(DomainHandle handle);

  const std::string& name() const { return name_; }
  const std::string& uuid() const { return uuid_; }
  virDomainPtr raw() const { return handle_.get(); }

  DomainState State() const;
  bool IsActive() const;
  bool IsPersistent() const;
  unsigned MaxVcpus() const;
  // libvirt's id of the running instance, new at every start; 0 when it does not run.
  unsigned Id() const;
  // Throws LibvirtError (DomainVanished() when it is gone) naming the domain.
  DomainSummary Summarize() const;

  // "domain 'vm-a'": the phrase every error about this domain starts with.
  std::string Describe() const;

 private:
  DomainHandle handle_;
  std::string name_;
  std::string uuid_;
};

}  // namespace kvhost
