// Shared by the kubelet peer tests: where kubelet's ported tables live and
// how their topologies load.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "agent/allocator/kubelet/kubelet_topology.h"

namespace kvhost::kubelet {

inline std::filesystem::path DataDir() {
  const char* src = std::getenv("KVHOST_SOURCE_DIR");
  return std::filesystem::path(src ? src : ".") / "tests/data/kubelet";
}

inline std::map<std::string, CpuTopology> LoadTopologies() {
  const YAML::Node root = YAML::LoadFile((DataDir() / "cpu_topologies.yaml").string());
  std::map<std::string, CpuTopology> out;
  for (const auto& entry : root["topologies"]) {
    std::map<unsigned, CpuPlace> cpus;
    for (const auto& row : entry.second)
      cpus[row[0].as<unsigned>()] = {row[1].as<int>(), row[2].as<int>(), row[3].as<int>()};
    out.emplace(entry.first.as<std::string>(), CpuTopology(std::move(cpus)));
  }
  return out;
}

inline std::vector<int> Ints(const YAML::Node& node) {
  std::vector<int> out;
  for (const auto& v : node) out.push_back(v.as<int>());
  return out;
}

}  // namespace kvhost::kubelet
