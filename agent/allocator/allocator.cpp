#include "agent/allocator/allocator.h"

#include <fmt/format.h>

#include "agent/allocator/agent/agent_policy.h"
#include "agent/allocator/refusal_text.h"

namespace kvhost {
std::map<unsigned, uint64_t> BoundMemoryKib(const Placement& p) {
  std::map<unsigned, uint64_t> out;
  if (p.memory_kib == 0 || p.numa_nodes.empty()) return out;
  if (!p.guest_cells.empty()) {
    for (const auto& cell : p.guest_cells) out[cell.host_node] += cell.memory_kib;
  } else {
    out[p.numa_nodes.front()] = p.memory_kib;
  }
  return out;
}

Allocator::Allocator(std::shared_ptr<const HostResources> host)
    : host_(std::move(host)), policy_(std::make_unique<AgentPolicy>()) {
  if (host_->realtime_ready) return;
  const auto& blockers = host_->realtime_blockers;
  realtime_refusal_ = std::make_shared<const std::string>(
      RefusalLine(FMT_COMPILE("host is not realtime-ready{}{}"), blockers.empty() ? "" : "; ",
                  fmt::join(blockers, "; ")));
}

void Allocator::UsePolicy(std::unique_ptr<PlacementPolicy> policy) {
  policy_ = PolicyHolder(std::move(policy));
  held_ |= policy_->HeldWhenInstalled();
}

bool Allocator::CoreIsFree(unsigned core_index) const {
  return !host_->cores[core_index].pus.Intersects(held_);
}

std::vector<unsigned> Allocator::FreeCores(size_t node_index) const {
  std::vector<unsigned> out;
  for (unsigned c : host_->nodes[node_index].cores)
    if (CoreIsFree(c)) out.push_back(c);
  return out;
}

unsigned Allocator::FreeCoreCount(size_t node_index) const {
  return static_cast<unsigned>(FreeCores(node_index).size());
}

CpuSet Allocator::EmulatorCandidates(size_t node_index) const {
  return host_->nodes[node_index].dedicable_cpus - held_;
}

uint64_t Allocator::FreeHugepages(size_t node_index, uint64_t size_kib) const {
  const auto& node = host_->nodes[node_index];
  auto it = node.hugepages_free.find(size_kib);
  if (it == node.hugepages_free.end()) return 0;
  auto used = hugepages_used_.find({node.id, size_kib});
  const uint64_t taken = used == hugepages_used_.end() ? 0 : used->second;
  auto credit = hugepages_credit_.find({node.id, size_kib});
  const uint64_t free = it->second + (credit == hugepages_credit_.end() ? 0 : credit->second);
  return free > taken ? free - taken : 0;
}

void Allocator::CommitRunning(Placement p) {
  std::map<std::pair<unsigned, uint64_t>, uint64_t> before = hugepages_credit_;
  for (const auto& g : p.hugepages) {
    const int ni = host_->NodeIndex(g.node);
    if (ni < 0) continue;
    const auto& node = host_->nodes[static_cast<size_t>(ni)];
    auto total = node.hugepages_total.find(g.size_kib);
    auto free = node.hugepages_free.find(g.size_kib);
    if (total == node.hugepages_total.end() || free == node.hugepages_free.end()) continue;
    const uint64_t used_at_discovery =
        total->second > free->second ? total->second - free->second : 0;
    uint64_t& credit = hugepages_credit_[{g.node, g.size_kib}];
    credit = std::min(credit + g.pages, used_at_discovery);
  }
  try {
    Commit(std::move(p));
  } catch (...) {
    hugepages_credit_ = std::move(before);  // a refused VM earns no credit
    throw;
  }
}

uint64_t Allocator::FreeBoundMemoryKib(size_t node_index) const {
  const auto& node = host_->nodes[node_index];
  auto it = bound_memory_used_.find(node.id);
  const uint64_t used = it == bound_memory_used_.end() ? 0 : it->second;
  // Unbound guests may sit on any node: the node can give no more than the host has left.
  const uint64_t node_left = node.ordinary_memory_kib > used ? node.ordinary_memory_kib - used : 0;
  return std::min(node_left, FreeOrdinaryMemoryKib());
}

uint64_t Allocator::FreeOrdinaryMemoryKib() const {
  uint64_t used = unbound_memory_used_;
  for (const auto& [node, kib] : bound_memory_used_) used += kib;
  return host_->ordinary_memory_kib > used ? host_->ordinary_memory_kib - used : 0;
}

unsigned Allocator::SharedSlots() const { return host_->SharedSlotsFor(SharedPoolNow().Count()); }

unsigned Allocator::FreeGpus(const std::string& device) const {
  auto offered = host_->gpus.find(device);
  if (offered == host_->gpus.end()) return 0;
  auto used = gpus_used_.find(device);
  const unsigned taken = used == gpus_used_.end() ? 0 : used->second;
  return offered->second > taken ? offered->second - taken : 0;
}

PlaceResult Allocator::Place(const InstanceType& type, const std::string& vm) const {
  RefusalLines refused = RefusalsBeforePlacing(type, vm);
  if (!refused.empty()) {
    PlaceResult r;
    r.reasons = std::move(refused);
    return r;
  }
  return policy_->Place(*this, type, vm);
}

RefusalLines Allocator::RefusalsBeforePlacing(const InstanceType& type,
                                              const std::string& vm) const {
  RefusalLines reasons;
  if (placements_.count(vm)) AddLine(reasons, FMT_COMPILE("VM {} is already placed"), vm);
  if (type.vcpus == 0) AddLine(reasons, FMT_COMPILE("{} asks for no vCPUs"), type.name);
  if (type.realtime && realtime_refusal_) reasons.push_back(*realtime_refusal_);
  if (type.gpus > 0) {
    const std::string device =
        type.gpu_device_names.empty() ? "gpu" : type.gpu_device_names.front();
    const unsigned free = FreeGpus(device);
    if (free < type.gpus) {
      const auto offered = host_->gpus.find(device);
      AddLine(reasons,
              FMT_COMPILE("needs {} GPU {}, {} free (host offers {}; set gpus in the config)"),
              type.gpus, device, free, offered == host_->gpus.end() ? 0 : offered->second);
    }
  }
  return reasons;
}

void Allocator::Commit(Placement p) {
  policy_->Commit(*this, p);
  Account(p, +1);
  std::string key = p.vm;
  placements_.emplace(std::move(key), std::move(p));
}

void Allocator::CommitUnkept(const Placement& p) {
  policy_->Commit(*this, p);
  Account(p, +1);
}

bool Allocator::Release(const std::string& vm) {
  auto it = placements_.find(vm);
  if (it == placements_.end()) return false;
  policy_->Release(vm);
  Account(it->second, -1);
  placements_.erase(it);
  return true;
}

void Allocator::SetSharedCpus(const std::string& vm, const CpuSet& cpus) {
  auto it = placements_.find(vm);
  if (it != placements_.end() && !it->second.dedicated) it->second.shared_cpus = cpus;
}

void Allocator::Account(const Placement& p, int sign) {
  CpuSet cpus;
  for (unsigned cpu : p.vcpu_cpus)
    if (const CoreInfo* core = host_->CoreOf(cpu)) cpus |= core->pus;
  if (p.emulator_cpu) cpus.Add(*p.emulator_cpu);
  if (sign > 0)
    held_ |= cpus;
  else
    held_ -= cpus;
  auto add = [sign](uint64_t& counter, uint64_t amount) {
    counter = sign > 0 ? counter + amount : counter - std::min(counter, amount);
  };
  for (const auto& g : p.hugepages) add(hugepages_used_[{g.node, g.size_kib}], g.pages);
  const auto bound = BoundMemoryKib(p);
  for (const auto& [node, kib] : bound) add(bound_memory_used_[node], kib);
  if (bound.empty()) add(unbound_memory_used_, p.memory_kib);
  shared_vcpus_ = sign > 0 ? shared_vcpus_ + p.shared_vcpus : shared_vcpus_ - p.shared_vcpus;
  if (p.gpus) {
    unsigned& used = gpus_used_[p.gpu_device];
    used = sign > 0 ? used + p.gpus : used - std::min(used, p.gpus);
  }
}

}  // namespace kvhost
