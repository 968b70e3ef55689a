// The one allocator: keeps the books of what VMs hold, asks its placement
// policy (policy.h) where a VM goes (Place), records it (Commit) and gives it
// back (Release). Capacity is answered by placing into a copy, so what is
// advertised is exactly what pinning will deliver. Pure: no I/O.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agent/allocator/host_resources.h"
#include "agent/allocator/placement.h"
#include "agent/allocator/policy.h"
#include "agent/allocator/refusal_lines.h"
#include "agent/catalog/instance_type.h"

namespace kvhost {

// Ordinary memory a placement binds to each node (KiB); empty when unbound.
std::map<unsigned, uint64_t> BoundMemoryKib(const Placement& p);

class Allocator {
 public:
  // The agent's own policy places (agent/agent_policy.h) until UsePolicy.
  explicit Allocator(std::shared_ptr<const HostResources> host);

  // From now on `policy` decides where VMs go and how many more fit (README
  // "Who places": kubelet mode installs kubelet's). What its own state
  // already holds (kubelet's running pods) counts as held in the free views.
  void UsePolicy(std::unique_ptr<PlacementPolicy> policy);
  const PlacementPolicy& policy() const { return *policy_; }

  // Where `type` would go now; does not change the state.
  PlaceResult Place(const InstanceType& type, const std::string& vm) const;
  // Place's refusals that come before the policy's placement: a name
  // already placed, no vCPUs, a host not realtime-ready, GPUs short. Empty
  // when the policy decides.
  RefusalLines RefusalsBeforePlacing(const InstanceType& type, const std::string& vm) const;
  // Records a placement after the policy checked it; throws AllocationConflict.
  // Taken by value: callers that are done with their placement move it in.
  void Commit(Placement placement);
  // Commit for capacity's throwaway copies: the same checks and the same
  // accounting, but the placement is not kept by name. Nothing reads it back,
  // and keeping thousands of them was most of what a count cost.
  void CommitUnkept(const Placement& placement);
  // Commit for a VM that already ran when the host was discovered: its
  // hugepages are missing from the discovered `free` already, so they are
  // credited back first (never more than the kernel showed as used), lest
  // they be counted twice and the VM's allocation refused.
  void CommitRunning(Placement placement);
  // Returns exactly what `vm` took; false if it holds nothing.
  bool Release(const std::string& vm);
  // Shared guests float on the pool as it is now: after dedicated cores come
  // or go, their recorded CPU set follows (no resource changes hands).
  void SetSharedCpus(const std::string& vm, const CpuSet& cpus);
  CpuSet SharedPoolNow() const { return host_->shared - held_; }

  const std::map<std::string, Placement>& placements() const { return placements_; }
  const HostResources& host() const { return *host_; }

  // Free-resource views (for reports, capacity and the fragmentation score).
  // By reference: placement asks for it once per candidate CPU.
  const CpuSet& HeldCpus() const { return held_; }
  CpuSet FreeDedicatedCpus() const { return host_->dedicated - held_; }
  unsigned FreeCoreCount(size_t node_index) const;
  uint64_t FreeHugepages(size_t node_index, uint64_t size_kib) const;
  uint64_t FreeBoundMemoryKib(size_t node_index) const;
  uint64_t FreeOrdinaryMemoryKib() const;
  unsigned SharedSlots() const;  // vCPU slots of the shared pool now
  unsigned SharedVcpusUsed() const { return shared_vcpus_; }
  unsigned FreeGpus(const std::string& device) const;

  bool CoreIsFree(unsigned core_index) const;
  std::vector<unsigned> FreeCores(size_t node_index) const;
  CpuSet EmulatorCandidates(size_t node_index) const;

 private:
  void Account(const Placement& p, int sign);

  std::shared_ptr<const HostResources> host_;
  PolicyHolder policy_;
  std::map<std::string, Placement> placements_;
  CpuSet held_;  // vCPU cores (every sibling) and emulator CPUs of committed VMs
  std::map<std::pair<unsigned, uint64_t>, uint64_t> hugepages_used_;  // (node, size) -> pages
  // Pages running VMs held at discovery, given back to the discovered `free`.
  std::map<std::pair<unsigned, uint64_t>, uint64_t> hugepages_credit_;
  std::map<unsigned, uint64_t> bound_memory_used_;  // node -> KiB of ordinary memory
  uint64_t unbound_memory_used_ = 0;
  unsigned shared_vcpus_ = 0;
  std::map<std::string, unsigned> gpus_used_;
  // "host is not realtime-ready; <every blocker>", worded once per host
  // (null when it is ready): capacity refuses each rt1 size with it.
  std::shared_ptr<const std::string> realtime_refusal_;
};

}  // namespace kvhost
