// The three placement policies bench/packing compares on one event stream:
//  - ours: kvhost::Allocator (Place, Commit; Release on departure);
//  - a kubelet-style baseline: CPU manager static policy with full-pcpus-only
//    and takeByTopologyNUMAPacked, topology manager single-numa-node;
//  - a fluid bound that sees only host totals (no cores, no NUMA nodes).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/allocator/allocator.h"
#include "agent/allocator/host_resources.h"
#include "agent/allocator/kubelet/kubelet_host.h"
#include "agent/catalog/instance_type.h"
#include "agent/config/agent_config.h"
#include "agent/host/host_model.h"

namespace kvhost::bench {

class PackingPolicy {
 public:
  virtual ~PackingPolicy() = default;
  virtual std::string_view Name() const = 0;
  // Places VM `vm` of `type` and keeps it when it fits; false when refused.
  virtual bool Admit(const InstanceType& type, unsigned vm) = 0;
  // Gives back everything an admitted VM holds.
  virtual void Depart(unsigned vm) = 0;
};

// What a VM takes when cores and NUMA nodes do not matter: the fluid bound's
// view, also used to size the arrival rate. Dedicated VMs count one CPU per
// vCPU plus the emulator CPU; nothing is rounded to whole cores.
struct FluidDemand {
  unsigned dedicated_cpus = 0;
  unsigned shared_vcpus = 0;
  uint64_t hugepage_size_kib = 0;  // 0: none
  uint64_t hugepages = 0;
  uint64_t ordinary_kib = 0;
  unsigned gpus = 0;
  std::string gpu_device;  // named as ours names it ("gpu" when the type names none)
  bool realtime = false;
};
// `threads_per_core` > 1: vCPUs rounded up to whole cores, as ours places them,
// the emulator free when it fits an idle sibling (a diagnostic bound that
// separates the whole-core rule from packing losses).
FluidDemand DemandOf(const InstanceType& type, unsigned threads_per_core = 1);

// Host totals as the fluid bound sees them.
struct FluidCapacity {
  unsigned dedicated_cpus = 0;
  unsigned shared_slots = 0;
  std::map<uint64_t, uint64_t> hugepages;  // page size KiB -> pages, summed over nodes
  uint64_t ordinary_kib = 0;
  std::map<std::string, unsigned> gpus;  // device -> count
  bool realtime_ready = false;
};
FluidCapacity CapacityOf(const HostResources& host);

class OurAllocatorPolicy : public PackingPolicy {
 public:
  explicit OurAllocatorPolicy(std::shared_ptr<const HostResources> host)
      : allocator_(std::move(host)) {}
  std::string_view Name() const override { return "ours"; }
  bool Admit(const InstanceType& type, unsigned vm) override;
  void Depart(unsigned vm) override;
  // Why VMs were refused: the first reason with numbers blanked ("#"), by series.
  const std::map<std::string, unsigned>& RejectReasons() const { return reject_reasons_; }
  // Refused dedicated VMs by series: {all, those the free resources summed
  // over NUMA nodes would have held} (whole cores for vCPUs, as ours places them).
  const std::map<std::string, std::pair<unsigned, unsigned>>& DedicatedRefusals() const {
    return refusals_;
  }

 private:
  bool FitsInHostTotals(const InstanceType& type) const;

  Allocator allocator_;
  std::map<std::string, unsigned> reject_reasons_;
  std::map<std::string, std::pair<unsigned, unsigned>> refusals_;
};

class FluidBoundPolicy : public PackingPolicy {
 public:
  // `whole_cores`: count each dedicated VM's vCPUs in whole cores (see DemandOf).
  explicit FluidBoundPolicy(const HostResources& host, bool whole_cores = false)
      : capacity_(CapacityOf(host)), threads_per_core_(whole_cores ? host.threads_per_core : 1) {}
  std::string_view Name() const override {
    return threads_per_core_ > 1 ? "bound, vCPUs in whole cores (diagnostic)" : "bound";
  }
  bool Admit(const InstanceType& type, unsigned vm) override;
  void Depart(unsigned vm) override;
  bool RealtimeReady() const { return capacity_.realtime_ready; }

 private:
  FluidCapacity capacity_;
  unsigned threads_per_core_ = 1;
  FluidCapacity used_;  // what admitted VMs hold; shared_slots counts their shared vCPUs
  std::map<unsigned, FluidDemand> held_;
};

// kubelet's static CPU manager policy with the full-pcpus-only option, under
// the single-numa-node topology manager policy, as KubeVirt pods meet it:
//  - a dedicated VM's pod asks for vCPUs + 1 (emulator) CPUs, rounded up to
//    whole cores (KubeVirt's AlignCPUs does this; full-pcpus-only would
//    reject the pod otherwise);
//  - the lowest-numbered NUMA node whose free CPUs and free hugepages both
//    cover the pod gets it (the narrowest hint wins, ties to lower nodes);
//    no node: rejected, as single-numa-node does; no spanning;
//  - inside the node, CPUs are chosen by takeByTopologyNUMAPacked: whole
//    NUMA nodes, then sockets, then cores, then single CPUs, each level in
//    ascending order of free CPUs, with no look-ahead.
// Shared VMs are counted exactly as ours counts them (vCPU:pCPU ratio,
// ordinary memory, GPUs); their hugepages come from the first node that holds
// them, else from nodes in id order.
class KubeletBaselinePolicy : public PackingPolicy {
 public:
  KubeletBaselinePolicy(const HostModel& model, std::shared_ptr<const HostResources> host);
  std::string_view Name() const override { return "baseline"; }
  bool Admit(const InstanceType& type, unsigned vm) override;
  void Depart(unsigned vm) override;

 private:
  struct Grant {
    CpuSet cpus;
    std::map<std::pair<size_t, uint64_t>, uint64_t> pages;  // (node index, size) -> pages
    unsigned shared_vcpus = 0;
    uint64_t ordinary_kib = 0;
    unsigned gpus = 0;
    std::string gpu_device;
  };
  struct Cpu {
    unsigned core = 0;    // index into cores_
    size_t node = 0;      // index into host_->nodes
    unsigned socket = 0;  // package
  };
  bool AdmitDedicated(const InstanceType& type, Grant& grant);
  bool AdmitShared(const InstanceType& type, Grant& grant);
  uint64_t FreePages(size_t node, uint64_t size_kib) const;
  // takeByTopologyNUMAPacked over `available`; nullopt when it cannot.
  std::optional<CpuSet> TakePacked(const CpuSet& available, unsigned count) const;
  class PackedTake;  // its accumulator (kubelet's cpuAccumulator)

  std::shared_ptr<const HostResources> host_;
  std::vector<CpuSet> cores_;               // every physical core with a node
  std::map<unsigned, Cpu> cpu_;             // CPU id -> where it sits
  std::vector<CpuSet> node_cpus_;           // all online CPUs of each node (reserved too)
  std::map<unsigned, CpuSet> socket_cpus_;  // all online CPUs of each package
  bool numa_first_ = true;                  // NUMA nodes at least as big as sockets
  unsigned threads_per_core_ = 1;
  CpuSet held_;
  std::map<std::pair<size_t, uint64_t>, uint64_t> pages_used_;
  unsigned shared_vcpus_ = 0;
  uint64_t ordinary_used_ = 0;
  std::map<std::string, unsigned> gpus_used_;
  std::map<unsigned, Grant> grants_;
};

// kubelet as it really places KubeVirt pods: kubelet mode's model
// (agent/allocator/kubelet/: the scheduler's fit, the static CPU policy with
// full-pcpus-only, the topology manager, the memory manager Static), on the
// kubelet config `kubelet-config` prints for the agent's config (reserved CPUs,
// topology policy from allowNumaSpan, reservedMemory), with KubeVirt's
// AlignCPUs on so odd vCPU + emulator counts are not refused outright.
class KubeletFaithfulPolicy : public PackingPolicy {
 public:
  KubeletFaithfulPolicy(const HostModel& model, const AgentConfig& config,
                        std::shared_ptr<const HostResources> host);
  std::string_view Name() const override { return "kubelet (faithful)"; }
  bool Admit(const InstanceType& type, unsigned vm) override;
  void Depart(unsigned vm) override;

 private:
  // Place's refusals that come before kubelet's (GPUs, realtime readiness).
  Allocator allocator_;
  // kubelet's node, admitted into and released from in place: the allocator's
  // Place copies it, every pod included, per arrival, which kept this row from
  // finishing on the larger hosts. The same admissions, so the same answers.
  kubelet::KubeletHost node_;
};

}  // namespace kvhost::bench
