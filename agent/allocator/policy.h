// Who decides where a VM goes and how many more fit: the placement policy
// behind the allocator. The agent's own on plain libvirt hosts
// (agent/agent_policy.h), kubelet's where kubelet places
// (kubelet/kubelet_policy.h): one interface, as kubelet puts its CPU
// manager's `none` and `static` policies behind one, so that what capacity
// counts and what a VM is given come from the same decisions in either mode.
// The allocator keeps the books (held CPUs, hugepages, memory, GPUs,
// placements by name) and asks its policy; a policy reads the books and
// keeps only what is its own (kubelet's node). Pure: no I/O.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "agent/allocator/placement.h"
#include "agent/allocator/refusal_lines.h"
#include "agent/catalog/instance_type.h"
#include "base/cpu_set.h"

namespace kvhost {

class Allocator;

// How many more of one type fit, and the refusal that ended the count.
struct TypeCapacity {
  const InstanceType* type = nullptr;
  unsigned count = 0;
  RefusalLines blockers;  // the refusal that ended the count
};

// The names a count gives its tries, "capacity/<type>/<n>": capacity hands
// every type one buffer and the count is rewritten in place per try, so a
// type refused at once (every type on a small host) costs no name of its own.
class TryNames {
 public:
  // `buffer` starts with "capacity/"; from now on it names try 0 of `type_name`.
  TryNames(std::string& buffer, std::string_view type_name);
  // The name of try `n`, written into the buffer.
  const std::string& Try(unsigned n);
  // The name last written.
  const std::string& Current() const { return buffer_; }

 private:
  std::string& buffer_;
  size_t prefix_size_;  // "capacity/<type>/"
};

class PlacementPolicy {
 public:
  virtual ~PlacementPolicy() = default;
  // The allocator's copies (capacity's trials, what-if drafts) each get one;
  // what a policy keeps must be cheap to copy or share.
  virtual std::unique_ptr<PlacementPolicy> Clone() const = 0;
  // CPUs this policy's own state holds as it is installed (the pods kubelet
  // already runs): the books count them held, so the free views agree.
  virtual CpuSet HeldWhenInstalled() const { return {}; }
  // Where `type` would go now, or the refusal: why not, with the numbers.
  // Asked once the allocator's own refusals (RefusalsBeforePlacing) found none.
  virtual PlaceResult Place(const Allocator& books, const InstanceType& type,
                            const std::string& vm) const = 0;
  // Records `p` before the books take it; throws AllocationConflict when
  // `p` is not a placement this policy can record on `books` as they are.
  virtual void Commit(const Allocator& books, const Placement& p) = 0;
  // `vm` leaves, before the books give back what it held.
  virtual void Release(const std::string& vm) = 0;
  // How many more of `type` fit on `books` (at most `limit`, at least 1),
  // the tries named by `names`, and the refusal that ended the count.
  virtual TypeCapacity Count(const Allocator& books, const InstanceType& type, unsigned limit,
                             TryNames& names) const = 0;
};

// The allocator's policy held by value: a copy of the allocator gets its own
// copy of the policy, so copies decide apart as their books do.
class PolicyHolder {
 public:
  explicit PolicyHolder(std::unique_ptr<PlacementPolicy> policy) : policy_(std::move(policy)) {}
  PolicyHolder(const PolicyHolder& other) : policy_(other.policy_->Clone()) {}
  PolicyHolder& operator=(const PolicyHolder& other) {
    if (this != &other) policy_ = other.policy_->Clone();
    return *this;
  }
  PolicyHolder(PolicyHolder&&) noexcept = default;
  PolicyHolder& operator=(PolicyHolder&&) noexcept = default;
  ~PolicyHolder() = default;

  const PlacementPolicy& operator*() const { return *policy_; }
  const PlacementPolicy* operator->() const { return policy_.get(); }
  PlacementPolicy* operator->() { return policy_.get(); }

 private:
  std::unique_ptr<PlacementPolicy> policy_;
};

}  // namespace kvhost
