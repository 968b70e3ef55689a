// kubelet's own table tests, ported as data (tests/data/kubelet/, README.md
// there), run against our port of kubelet's placement. Every case must pass;
// the count is printed as "N/M" for the issue note.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

#include "agent/allocator/kubelet/kubelet_cpu_assignment.h"
#include "agent/allocator/kubelet/kubelet_topology_manager.h"
#include "tests/kubelet_peer_support.h"

namespace kvhost::kubelet {
namespace {

std::string Show(const std::vector<int>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? " " : "") + std::to_string(v[i]);
  return s + "]";
}

// Runs one case; returns "" when kubelet's test would pass, else what differs.
std::string RunCase(const CpuTopology& topo, const YAML::Node& c) {
  const std::string kind = c["kind"].as<std::string>();
  const CpuSet available = ParseCpuList(c["available"].as<std::string>());
  if (kind == "packed" || kind == "distributed") {
    const int n = c["num_cpus"].as<int>();
    const TakeResult r =
        kind == "packed" ? TakeByTopologyNumaPacked(topo, available, n)
                         : TakeByTopologyNumaDistributed(topo, available, n, c["group"].as<int>());
    const std::string want_error = c["expect_error"] ? c["expect_error"].as<std::string>() : "";
    if (!r.ok() && r.error != want_error)
      return "error '" + r.error + "', want '" + want_error + "'";
    const CpuSet want = ParseCpuList(c["expect"].as<std::string>());
    if (!(r.cpus == want)) return "got " + r.cpus.ToList() + ", want " + want.ToList();
    return "";
  }
  const AccumulatorView view = ViewAccumulator(topo, available);
  std::vector<int> got;
  if (kind == "freeSockets") {
    got = view.free_sockets;
    std::sort(got.begin(), got.end());
  } else if (kind == "freeNUMANodes" || kind == "freeSocketsAndNUMANodes") {
    got = view.free_numa_nodes;
  } else if (kind == "freeCores") {
    got = view.free_cores;
  } else if (kind == "freeCPUs") {
    got = view.free_cpus;
  } else {
    return "unknown kind " + kind;
  }
  if (got != Ints(c["expect_order"]))
    return "got " + Show(got) + ", want " + Show(Ints(c["expect_order"]));
  if (kind == "freeSocketsAndNUMANodes" && view.free_sockets != Ints(c["expect_sockets"]))
    return "sockets " + Show(view.free_sockets) + ", want " + Show(Ints(c["expect_sockets"]));
  return "";
}

TEST(KubeletPeer, CpuAssignmentCasesAllPass) {
  const auto topologies = LoadTopologies();
  const YAML::Node root = YAML::LoadFile((DataDir() / "cpu_assignment_cases.yaml").string());
  int passed = 0, total = 0;
  for (const auto& c : root["cases"]) {
    ++total;
    const std::string name = c["kind"].as<std::string>() + ": " + c["name"].as<std::string>();
    const auto topo = topologies.find(c["topo"].as<std::string>());
    ASSERT_NE(topo, topologies.end()) << name;
    const std::string diff = RunCase(topo->second, c);
    if (diff.empty()) ++passed;
    EXPECT_EQ(diff, "") << name;
  }
  std::cout << "kubelet cpu_assignment peer cases: " << passed << "/" << total << " passed\n";
  EXPECT_GT(total, 80);  // the data file is really read
}

NumaInfo LoadNumaInfo(const YAML::Node& node) {
  NumaInfo info;
  info.nodes = Ints(node["nodes"]);
  for (const auto& row : node["distances"]) info.distances[row.first.as<int>()] = Ints(row.second);
  return info;
}

// [nodes | null | all, preferred]; "all" is the NUMA info's every node.
TopologyHint LoadHint(const YAML::Node& node, const NumaInfo& numa) {
  TopologyHint hint;
  hint.preferred = node[1].as<bool>();
  if (node[0].IsSequence()) {
    NumaMask mask = 0;
    for (int n : Ints(node[0])) mask |= NumaMask{1} << n;
    hint.affinity = mask;
  } else if (node[0].IsScalar() && node[0].as<std::string>() == "all") {
    hint.affinity = numa.DefaultMask();
  }
  return hint;
}

std::vector<ProviderHints> LoadProviders(const YAML::Node& node, const NumaInfo& numa) {
  std::vector<ProviderHints> providers;
  for (const auto& p : node) {
    ProviderHints hints;
    if (p.IsMap())
      for (const auto& resource : p) {
        auto& list = hints[resource.first.as<std::string>()];
        if (resource.second.IsNull()) continue;  // nil: no preference
        list.emplace();
        for (const auto& h : resource.second) list->push_back(LoadHint(h, numa));
      }
    providers.push_back(std::move(hints));
  }
  return providers;
}

std::string ShowHint(const TopologyHint& h) {
  std::string mask = "nil";
  if (h.affinity) {
    mask = "";
    for (int n = 0; n < 64; ++n)
      if (*h.affinity >> n & 1) mask += (mask.empty() ? "" : ",") + std::to_string(n);
  }
  return "{" + mask + (h.preferred ? " preferred}" : " not-preferred}");
}

TEST(KubeletPeer, TopologyManagerMergeCasesAllPass) {
  const YAML::Node root = YAML::LoadFile((DataDir() / "topology_manager_cases.yaml").string());
  int passed = 0, total = 0;
  for (const auto& suite : root["suites"]) {
    const NumaInfo numa = LoadNumaInfo(root["numa_infos"][suite["numa"].as<std::string>()]);
    const TopologyPolicy policy = ParseTopologyPolicy(suite["policy"].as<std::string>());
    TopologyPolicyOptions options;
    options.prefer_closest_numa =
        suite["prefer_closest_numa"] && suite["prefer_closest_numa"].as<bool>();
    for (const auto& set : suite["sets"])
      for (const auto& c : root["case_sets"][set.as<std::string>()]) {
        ++total;
        const TopologyHint want = LoadHint(c["expect"], numa);
        const MergeResult got =
            MergeHints(policy, numa, options, LoadProviders(c["providers"], numa));
        if (got.hint == want) ++passed;
        EXPECT_EQ(ShowHint(got.hint), ShowHint(want))
            << suite["test"].as<std::string>() << ": " << c["name"].as<std::string>();
      }
  }
  std::cout << "kubelet topology manager peer cases: " << passed << "/" << total << " passed\n";
  EXPECT_EQ(total, 28 + 30 + 28 + 21);
}

}  // namespace
}  // namespace kvhost::kubelet
