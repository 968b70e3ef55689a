// kubelet mode's placement policy (README "Who places"): kubelet's model
// (kubelet_host.h: the scheduler's fit, then the CPU, memory and topology
// managers) admits the VM's virt-launcher pod, and the placement is what the
// pod was given; the allocator keeps its books from it, so reports read the
// same in both modes. The node is immutable and replaced on each commit or
// release, so the allocator's copies (capacity's trials) share it. Pure.
#pragma once

#include <memory>
#include <string>

#include "agent/allocator/allocator.h"
#include "agent/allocator/kubelet/kubelet_host.h"
#include "agent/allocator/policy.h"

namespace kvhost::kubelet {

class PendingAdmissions;

class KubeletPolicy final : public PlacementPolicy {
 public:
  // `node` already holds the pods that run.
  explicit KubeletPolicy(std::shared_ptr<const KubeletHost> node);

  // The node as kubelet sees it now, committed pods included.
  const KubeletHost& node() const { return *node_; }

  std::unique_ptr<PlacementPolicy> Clone() const override;
  // Every CPU the running pods' containers hold exclusively.
  CpuSet HeldWhenInstalled() const override;
  // Admits the pod into a copy of the node; the copy is kept (PendingAdmissions)
  // until the placement is committed or the node it was admitted to is gone.
  PlaceResult Place(const Allocator& books, const InstanceType& type,
                    const std::string& vm) const override;
  // Adopts the node Place's admission left, so a pod is admitted once, not
  // again on commit: only kubelet's own placement, made on the node as it is
  // now, can be recorded.
  void Commit(const Allocator& books, const Placement& p) override;
  // The pod leaves: its CPUs, memory blocks and requests go back.
  void Release(const std::string& vm) override;
  // Every try admits into one scratch copy of the node.
  TypeCapacity Count(const Allocator& books, const InstanceType& type, unsigned limit,
                     TryNames& names) const override;

 private:
  std::shared_ptr<const KubeletHost> node_;
  // Shared by the policy's copies: a VM may be placed on one allocator and
  // committed on a copy of it.
  std::shared_ptr<PendingAdmissions> pending_;
};

}  // namespace kvhost::kubelet
