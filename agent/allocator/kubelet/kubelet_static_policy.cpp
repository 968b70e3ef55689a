#include "agent/allocator/kubelet/kubelet_static_policy.h"

#include <bit>
#include <stdexcept>

namespace kvhost::kubelet {
namespace {

bool OptionValue(const std::string& name, const std::string& value) {
  if (value == "true") return true;
  if (value == "false") return false;
  throw std::invalid_argument("cpuManagerPolicyOptions " + name + ": '" + value +
                              "' is not true or false");
}

}  // namespace

StaticPolicyOptions ParseStaticPolicyOptions(const std::map<std::string, std::string>& options) {
  StaticPolicyOptions o;
  for (const auto& [name, value] : options) {
    if (name == "full-pcpus-only")
      o.full_pcpus_only = OptionValue(name, value);
    else if (name == "distribute-cpus-across-numa")
      o.distribute_cpus_across_numa = OptionValue(name, value);
    else if (name == "align-by-socket")
      o.align_by_socket = OptionValue(name, value);
    else if (name == "strict-cpu-reservation")
      o.strict_cpu_reservation = OptionValue(name, value);
    else
      throw std::invalid_argument("cpuManagerPolicyOptions: '" + name +
                                  "' is not an option this model reproduces");
  }
  return o;
}

StaticPolicy::StaticPolicy(CpuTopology topology, int num_reserved, CpuSet reserved,
                           StaticPolicyOptions options)
    : topology_(std::move(topology)), options_(options) {
  // ValidateStaticPolicyOptions: align-by-socket needs sockets no smaller than NUMA nodes.
  if (options_.align_by_socket && topology_.num_numa_nodes() < topology_.num_sockets())
    throw std::invalid_argument("align-by-socket: NUMA nodes span more than one socket");
  if (options_.align_by_socket && options_.distribute_cpus_across_numa)
    throw std::invalid_argument(
        "align-by-socket and distribute-cpus-across-numa exclude each other");
  reserved_ = !reserved.Empty() ? reserved : TakeByTopology(topology_.all(), num_reserved).cpus;
  if (static_cast<int>(reserved_.Count()) != num_reserved)
    throw std::invalid_argument(
        "[cpumanager] unable to reserve the required amount of CPUs (size of " +
        reserved_.ToList() + " did not equal " + std::to_string(num_reserved) + ")");
  reserved_.ForEach([&](unsigned cpu) {
    reserved_physical_ |=
        topology_.CpusIn(topology_.all(), Level::kCore, topology_.IdOf(cpu, Level::kCore));
  });
  const std::vector<int> numas = topology_.Ids(topology_.all(), Level::kNuma);
  for (size_t k = 1; k <= numas.size(); ++k) {
    std::vector<bool> pick(numas.size(), false);
    std::fill(pick.begin(), pick.begin() + static_cast<long>(k), true);
    do {
      NumaMask mask = 0;
      for (size_t i = 0; i < numas.size(); ++i)
        if (pick[i]) mask |= NumaMask{1} << numas[i];
      const CpuSet cpus = topology_.CpusIn(topology_.all(), Level::kNuma, MaskBits(mask));
      numa_masks_.push_back({mask, cpus, static_cast<int>(cpus.Count())});
    } while (std::prev_permutation(pick.begin(), pick.end()));
  }
}

CpuManagerAssignments StaticPolicy::InitialState() const {
  return {options_.strict_cpu_reservation ? topology_.all() - reserved_ : topology_.all(), {}};
}

TakeResult StaticPolicy::TakeByTopology(const CpuSet& available, int num_cpus) const {
  if (options_.distribute_cpus_across_numa)
    return TakeByTopologyNumaDistributed(topology_, available, num_cpus,
                                         options_.full_pcpus_only ? topology_.CpusPerCore() : 1);
  return TakeByTopologyNumaPacked(topology_, available, num_cpus);
}

bool StaticPolicy::IsHintSocketAligned(NumaMask mask, int min_affinity_size) const {
  const int numa_per_socket = topology_.num_numa_nodes() / topology_.num_sockets();
  if (numa_per_socket == 0) return false;
  const int min_sockets = (min_affinity_size + numa_per_socket - 1) / numa_per_socket;
  const CpuSet cpus = topology_.CpusIn(topology_.all(), Level::kNuma, MaskBits(mask));
  return static_cast<int>(topology_.Ids(cpus, Level::kSocket).size()) == min_sockets;
}

std::vector<TopologyHint> StaticPolicy::GenerateHints(const CpuSet& available,
                                                      const CpuSet& reusable, int request) const {
  int min_affinity_size = static_cast<int>(topology_.Ids(topology_.all(), Level::kNuma).size());
  std::vector<TopologyHint> hints;
  for (const NumaMaskCpus& m : numa_masks_) {
    if (m.count >= request && std::popcount(m.mask) < min_affinity_size)
      min_affinity_size = std::popcount(m.mask);
    bool reusable_inside = true;
    reusable.ForEach([&](unsigned c) {
      if (!(m.mask >> topology_.IdOf(c, Level::kNuma) & 1)) reusable_inside = false;
    });
    if (!reusable_inside) continue;
    // The available CPUs on the mask's nodes (CPUs outside the topology are on none).
    const int matching = static_cast<int>(reusable.Count() + (available & m.cpus).Count());
    if (matching >= request) hints.push_back({m.mask, false});
  }
  for (auto& h : hints)
    h.preferred =
        (options_.align_by_socket && IsHintSocketAligned(*h.affinity, min_affinity_size)) ||
        std::popcount(*h.affinity) == min_affinity_size;
  return hints;
}

CpuSet StaticPolicy::AlignedCpus(NumaMask affinity, const CpuSet& allocatable) const {
  const CpuSet in_numa = topology_.CpusIn(topology_.all(), Level::kNuma, MaskBits(affinity));
  if (!options_.align_by_socket) return allocatable & in_numa;
  const auto sockets = topology_.Ids(in_numa, Level::kSocket);
  return allocatable & topology_.CpusIn(topology_.all(), Level::kSocket, sockets);
}

std::string StaticPolicy::Allocate(CpuManagerAssignments& s, const std::string& pod,
                                   const std::string& container, int num_cpus,
                                   std::optional<NumaMask> affinity, const CpuSet& reusable) const {
  if (num_cpus == 0) return "";
  const int per_core = topology_.CpusPerCore();
  if (options_.full_pcpus_only) {
    if (num_cpus % per_core != 0)
      return "SMT Alignment Error: requested " + std::to_string(num_cpus) +
             " cpus not multiple cpus per core = " + std::to_string(per_core);
    const int physical = static_cast<int>((s.default_cpu_set - reserved_physical_).Count());
    if (num_cpus > physical)
      return "SMT Alignment Error: not enough free physical CPUs: available physical CPUs = " +
             std::to_string(physical) + ", requested CPUs = " + std::to_string(num_cpus) +
             ", CPUs per core = " + std::to_string(per_core);
  }
  if (s.assignments.contains(pod) && s.assignments.at(pod).contains(container)) return "";
  const CpuSet allocatable = AvailableCpus(s) | reusable;
  CpuSet result;
  if (affinity) {
    const CpuSet aligned = AlignedCpus(*affinity, allocatable);
    const TakeResult take =
        TakeByTopology(aligned, std::min(num_cpus, static_cast<int>(aligned.Count())));
    if (!take.ok()) return take.error;
    result = take.cpus;
  }
  const TakeResult rest =
      TakeByTopology(allocatable - result, num_cpus - static_cast<int>(result.Count()));
  if (!rest.ok()) return rest.error;
  result |= rest.cpus;
  s.default_cpu_set -= result;
  s.assignments[pod][container] = result;
  return "";
}

}  // namespace kvhost::kubelet

namespace kvhost::kubelet {

int GuaranteedCpus(uint64_t request_milli, uint64_t limit_milli) {
  if (request_milli != limit_milli || request_milli % 1000 != 0) return 0;
  return static_cast<int>(request_milli / 1000);
}

std::string StaticPolicy::Start(CpuManagerAssignments& s) const {
  const CpuSet all =
      options_.strict_cpu_reservation ? topology_.all() - reserved_ : topology_.all();
  if (s.default_cpu_set.Empty()) {
    if (!s.assignments.empty()) return "default cpuset cannot be empty";
    s.default_cpu_set = all;
    return "";
  }
  const CpuSet reserved_shared = reserved_ & s.default_cpu_set;
  if (options_.strict_cpu_reservation && !reserved_shared.Empty())
    return "some of strictly reserved cpus: \"" + reserved_shared.ToList() +
           "\" are present in defaultCpuSet: \"" + s.default_cpu_set.ToList() + "\"";
  if (!options_.strict_cpu_reservation && !(reserved_shared == reserved_))
    return "not all reserved cpus: \"" + reserved_.ToList() +
           "\" are present in defaultCpuSet: \"" + s.default_cpu_set.ToList() + "\"";
  CpuSet known = s.default_cpu_set;
  for (const auto& [pod, containers] : s.assignments)
    for (const auto& [name, cpus] : containers) {
      if (cpus.Intersects(s.default_cpu_set))
        return "pod: " + pod + ", container: " + name + " cpuset: \"" + cpus.ToList() +
               "\" overlaps with default cpuset \"" + s.default_cpu_set.ToList() + "\"";
      known |= cpus;
    }
  if (!(known == all))
    return "current set of available CPUs \"" + all.ToList() +
           "\" doesn't match with CPUs in state \"" + known.ToList() + "\"";
  return "";
}

std::optional<std::vector<TopologyHint>> StaticPolicy::ContainerHints(
    const CpuManagerAssignments& s, const std::string& pod, const std::string& container,
    int request) const {
  if (request == 0) return std::nullopt;
  if (auto p = s.assignments.find(pod); p != s.assignments.end())
    if (auto c = p->second.find(container); c != p->second.end()) {
      if (static_cast<int>(c->second.Count()) != request) return std::vector<TopologyHint>{};
      return GenerateHints(c->second, CpuSet(), request);
    }
  return GenerateHints(AvailableCpus(s), CpuSet(), request);
}

void StaticPolicy::RemoveContainer(CpuManagerAssignments& s, const std::string& pod,
                                   const std::string& container) const {
  auto p = s.assignments.find(pod);
  if (p == s.assignments.end()) return;
  auto c = p->second.find(container);
  if (c == p->second.end()) return;
  CpuSet in_use;
  for (const auto& [name, cpus] : p->second)
    if (name != container) in_use |= cpus;
  s.default_cpu_set |= c->second - in_use;
  p->second.erase(c);
}

}  // namespace kvhost::kubelet
