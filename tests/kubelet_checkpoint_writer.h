// Writes kubelet's checkpoints (cpu_manager_state, memory_manager_state) in
// kubelet's own JSON format, checksummed with our port of kubelet's checksum
// (checked against kubelet's own test files in kubelet_readers_test), from the
// state of kubelet's model: a busy host is then the files kubelet would have
// left after admitting those pods, replayed through the live loader.
#pragma once

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "agent/allocator/kubelet/kubelet_host.h"
#include "agent/kubelet/go_checksum.h"

namespace kvhost::testing {

inline std::string WithChecksum(std::string body, uint32_t checksum) {
  body.pop_back();  // the closing brace
  return body + fmt::format(",\"checksum\":{}}}", checksum);
}

inline std::string CpuCheckpointText(const kubelet::CpuManagerAssignments& s) {
  std::string entries;
  for (const auto& [pod, containers] : s.assignments) {
    std::string inner;
    for (const auto& [name, cpus] : containers)
      inner += fmt::format("{}\"{}\":\"{}\"", inner.empty() ? "" : ",", name, cpus.ToList());
    entries += fmt::format("{}\"{}\":{{{}}}", entries.empty() ? "" : ",", pod, inner);
  }
  const std::string body =
      fmt::format("{{\"policyName\":\"static\",\"defaultCpuSet\":\"{}\",\"entries\":{{{}}}}}",
                  s.default_cpu_set.ToList(), entries);
  return WithChecksum(
      body, kubelet::Fnv32a(kubelet::SpewCpuCheckpoint(kubelet::ParseJsonObject(body),
                                                       kubelet::CpuCheckpointVersion::kV2)));
}

inline std::string MemoryCheckpointText(const kubelet::MemoryManagerAssignments& s) {
  std::string machine;
  for (const auto& [id, node] : s.machine) {
    std::string tables, cells;
    for (const auto& [type, t] : node.memory)
      tables += fmt::format(
          "{}\"{}\":{{\"total\":{},\"systemReserved\":{},\"allocatable\":{},\"reserved\":{},"
          "\"free\":{}}}",
          tables.empty() ? "" : ",", type, t.total, t.system_reserved, t.allocatable, t.reserved,
          t.free);
    for (int c : node.cells) cells += fmt::format("{}{}", cells.empty() ? "" : ",", c);
    machine +=
        fmt::format("{}\"{}\":{{\"numberOfAssignments\":{},\"memoryMap\":{{{}}},\"cells\":[{}]}}",
                    machine.empty() ? "" : ",", id, node.assignments, tables, cells);
  }
  std::string entries;
  for (const auto& [pod, containers] : s.entries) {
    std::string inner;
    for (const auto& [name, blocks] : containers) {
      std::string list;
      for (const auto& b : blocks)
        list +=
            fmt::format("{}{{\"numaAffinity\":[{}],\"type\":\"{}\",\"size\":{}}}",
                        list.empty() ? "" : ",", fmt::join(b.numa_affinity, ","), b.type, b.size);
      inner += fmt::format("{}\"{}\":[{}]", inner.empty() ? "" : ",", name, list);
    }
    entries += fmt::format("{}\"{}\":{{{}}}", entries.empty() ? "" : ",", pod, inner);
  }
  const std::string body = fmt::format(
      "{{\"policyName\":\"Static\",\"machineState\":{{{}}},\"entries\":{{{}}}}}", machine, entries);
  return WithChecksum(
      body, kubelet::Fnv32a(kubelet::SpewMemoryCheckpoint(kubelet::ParseJsonObject(body))));
}

// The two checkpoints of `node` under <root>/var/lib/kubelet.
inline void WriteKubeletCheckpoints(const std::filesystem::path& root,
                                    const kubelet::KubeletNode& node) {
  const auto dir = root / "var/lib/kubelet";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "cpu_manager_state") << CpuCheckpointText(node.cpu_state);
  if (node.memory)
    std::ofstream(dir / "memory_manager_state") << MemoryCheckpointText(node.memory_state);
}

}  // namespace kvhost::testing
