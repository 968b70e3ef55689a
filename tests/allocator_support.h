// Shared helpers for allocator tests: real fixture hosts and synthetic variants
// derived from them (hugepages reserved, CPUs isolated, realtime made ready).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "agent/allocator/allocator.h"
#include "agent/host/discover.h"

namespace kvhost::testing {

inline std::filesystem::path FixturesDir() {
  const char* dir = std::getenv("KVHOST_FIXTURES");
  return dir ? dir : "fixtures";
}

inline std::vector<std::string> FixtureNames() {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(FixturesDir()))
    if (e.is_directory()) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

inline HostModel LoadFixture(const std::string& name) { return DiscoverHost(FixturesDir() / name); }

// Gives every node with CPUs `pages` free pages of `size_kib` (as a host
// configured with hugepages= would have).
inline void ReserveHugepages(HostModel& host, uint64_t size_kib, uint64_t pages) {
  for (const auto& node : host.numa.nodes) {
    if (node.cpus.Empty()) continue;
    auto& pools = host.hugepages.per_node[node.id];
    bool found = false;
    for (auto& p : pools)
      if (p.size_kib == size_kib) p.total = p.free = pages, found = true;
    if (!found) pools.push_back({size_kib, pages, pages, 0, 0});
  }
}

inline void Isolate(HostModel& host, const CpuSet& cpus) {
  host.isolation.isolated = cpus & host.cpu.online;
}

inline void MakeRealtimeReady(HostModel& host) {
  for (Fact* f : {&host.realtime.preempt_rt, &host.realtime.sched_rt_runtime_us,
                  &host.realtime.isolated_cpus, &host.realtime.kvm})
    f->verdict = Verdict::kOk;
}

inline Allocator MakeAllocator(const HostModel& host, const AgentConfig& config = {}) {
  return Allocator(std::make_shared<const HostResources>(BuildHostResources(host, config)));
}

}  // namespace kvhost::testing
