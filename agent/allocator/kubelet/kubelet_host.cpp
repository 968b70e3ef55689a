#include "agent/allocator/kubelet/kubelet_host.h"

#include <fmt/compile.h>
#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

#include "base/sizes.h"

namespace kvhost::kubelet {

std::optional<Shortfall> NodeResourcesUnfit(const KubeletHost& host, const ResourceList& need) {
  for (const auto& [resource, amount] : need) {
    if (amount == 0) continue;
    const auto a = host.allocatable.find(resource);
    const uint64_t allocatable = a == host.allocatable.end() ? 0 : a->second;
    const auto r = host.requested.find(resource);
    const uint64_t requested = r == host.requested.end() ? 0 : r->second;
    if (requested + amount > allocatable)
      return Shortfall{resource, amount, allocatable, requested};
  }
  return std::nullopt;
}

ResourceList PodRequests(const kubevirt::PodResources& pod) {
  ResourceList sum;
  sum.emplace_back("cpu", 0);
  uint64_t memory = 0;
  for (const auto& c : pod.containers) {
    sum.front().second += c.cpu_request_milli;
    memory += c.memory_request;
    if (c.hugepage_bytes == 0) continue;
    std::string name = HugepageResourceName(c.hugepage_kib);
    // Kept in name order ("hugepages-1Gi" before "hugepages-2Mi") behind "cpu".
    auto at =
        std::lower_bound(sum.begin() + 1, sum.end(), name,
                         [](const auto& entry, const std::string& n) { return entry.first < n; });
    if (at != sum.end() && at->first == name)
      at->second += c.hugepage_bytes;
    else
      sum.insert(at, {std::move(name), c.hugepage_bytes});
  }
  sum.emplace_back("memory", memory);  // "memory" sorts after every "hugepages-*"
  return sum;
}

namespace {

struct PodShapeHash {
  size_t operator()(const kubevirt::PodShape& s) const {
    const kubevirt::Settings& k = s.settings;
    size_t h = 0;
    for (uint64_t v :
         {uint64_t{s.vcpus}, s.memory_kib, uint64_t{s.dedicated},
          uint64_t{s.isolate_emulator_thread}, s.hugepage_size_kib, uint64_t{s.overcommit_percent},
          uint64_t{s.gpus}, uint64_t{k.cpu_allocation_ratio}, uint64_t{k.memory_overcommit},
          uint64_t{k.align_cpus}, uint64_t{k.autoattach_graphics}, uint64_t{k.serial_console_log},
          uint64_t{k.arm64}})
      h = (h ^ std::hash<uint64_t>{}(v)) * 0x100000001b3ull;  // FNV-style mixing
    return h;
  }
};

}  // namespace

std::shared_ptr<const KubeVirtPodRequest> RequestFor(const KubeletHost& host,
                                                     const InstanceType& type) {
  // Per thread, so no lock; a catalog has tens of shapes, and a cache grown
  // past any catalog (types edited for days) starts over.
  constexpr size_t kMaxShapes = 4096;
  thread_local std::unordered_map<kubevirt::PodShape, std::shared_ptr<const KubeVirtPodRequest>,
                                  PodShapeHash>
      requests;
  const kubevirt::PodShape shape = kubevirt::ShapeOf(type, host.kubevirt);
  if (auto known = requests.find(shape); known != requests.end()) return known->second;
  if (requests.size() >= kMaxShapes) requests.clear();
  auto request = std::make_shared<KubeVirtPodRequest>();
  request->pod = kubevirt::PodFor(shape);
  request->need = PodRequests(request->pod);
  return requests.emplace(shape, std::move(request)).first->second;
}

AdmitResult AdmitKubeVirtPod(KubeletHost& host, const std::string& uid,
                             const KubeVirtPodRequest& request) {
  AdmitResult result = AdmitKubeVirtPodUnkept(host, uid, request);
  if (result.admitted) host.pods[uid] = ResourceAmounts(request.need.begin(), request.need.end());
  return result;
}

AdmitResult AdmitKubeVirtPodUnkept(KubeletHost& host, const std::string& uid,
                                   const KubeVirtPodRequest& request) {
  if (const auto unfit = NodeResourcesUnfit(host, request.need))
    return {false, FormatShortfall(*unfit)};
  AdmitResult result = AdmitPodInPlace(host.node, uid, request.pod);
  if (!result.admitted) return result;
  for (const auto& [resource, amount] : request.need) host.requested[resource] += amount;
  return result;
}

namespace {

constexpr std::string_view kNotAdmitted = "kubelet would not admit the virt-launcher pod: ";

// Written into a caller's buffer: a refusal line is then formatted in one go,
// compiled (on a small host nearly every type is refused here, per count).
void WriteShortfall(fmt::memory_buffer& out, const Shortfall& s) {
  fmt::format_to(fmt::appender(out),
                 FMT_COMPILE("Insufficient {}: pod requests {}, node allocatable {}, requested {}"),
                 s.resource, s.amount, s.allocatable, s.requested);
}

}  // namespace

std::string FormatShortfall(const Shortfall& shortfall) {
  fmt::memory_buffer line;
  WriteShortfall(line, shortfall);
  return fmt::to_string(line);
}

void AddNotAdmittedLine(RefusalLines& lines, const AdmitResult& refused) {
  fmt::memory_buffer line;
  line.append(kNotAdmitted);
  line.append(refused.reason);
  lines.push_back({line.data(), line.size()});
}

void AddNotAdmittedLine(RefusalLines& lines, const Shortfall& unfit) {
  fmt::memory_buffer line;
  line.append(kNotAdmitted);
  WriteShortfall(line, unfit);
  lines.push_back({line.data(), line.size()});
}

void RemovePod(KubeletHost& host, const std::string& uid) {
  auto pod = host.pods.find(uid);
  if (pod != host.pods.end()) {
    for (const auto& [resource, amount] : pod->second) host.requested[resource] -= amount;
    host.pods.erase(pod);
  }
  KubeletNode& node = host.node;
  if (auto held = node.cpu_state.assignments.find(uid); held != node.cpu_state.assignments.end()) {
    std::vector<std::string> containers;
    for (const auto& [name, cpus] : held->second) containers.push_back(name);
    for (const auto& name : containers) node.cpu->RemoveContainer(node.cpu_state, uid, name);
  }
  if (!node.memory) return;
  if (auto held = node.memory_state.entries.find(uid); held != node.memory_state.entries.end()) {
    std::vector<std::string> containers;
    for (const auto& [name, blocks] : held->second) containers.push_back(name);
    for (const auto& name : containers) node.memory->RemoveContainer(node.memory_state, uid, name);
  }
}

}  // namespace kvhost::kubelet
