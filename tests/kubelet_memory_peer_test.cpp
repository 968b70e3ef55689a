// kubelet's memory manager policy_static_test.go tables
// (tests/data/kubelet/memory_manager_cases.yaml) against our port of the
// Static memory manager policy.
#include <gtest/gtest.h>

#include <iostream>
#include <stdexcept>

#include "agent/allocator/kubelet/kubelet_memory.h"
#include "tests/kubelet_peer_support.h"

namespace kvhost::kubelet {
namespace {

MachineMemoryState Machine(const YAML::Node& node) {
  MachineMemoryState m;
  if (!node) return m;
  for (const auto& n : node) {
    NumaMemoryState& s = m[n.first.as<int>()];
    s.assignments = n.second["assignments"].as<int>();
    s.cells = Ints(n.second["cells"]);
    for (const auto& t : n.second["memory"]) {
      const YAML::Node& v = t.second;
      s.memory[t.first.as<std::string>()] = {v[0].as<uint64_t>(), v[1].as<uint64_t>(),
                                             v[2].as<uint64_t>(), v[3].as<uint64_t>(),
                                             v[4].as<uint64_t>()};
    }
  }
  return m;
}

std::vector<MemoryBlockState> Blocks(const YAML::Node& node) {
  std::vector<MemoryBlockState> out;
  for (const auto& b : node)
    out.push_back({Ints(b[0]), b[1].as<std::string>(), b[2].as<uint64_t>()});
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.type < b.type; });
  return out;
}

MemoryManagerAssignments State(const YAML::Node& c) {
  MemoryManagerAssignments s;
  s.machine = Machine(c["machine"]);
  if (c["entries"])
    for (const auto& pod : c["entries"])
      for (const auto& container : pod.second)
        s.entries[pod.first.as<std::string>()][container.first.as<std::string>()] =
            Blocks(container.second);
  return s;
}

std::unique_ptr<MemoryStaticPolicy> Policy(const YAML::Node& c) {
  std::vector<NumaMemoryInfo> nodes;
  if (c["machine_info"])
    for (const auto& n : c["machine_info"]) {
      NumaMemoryInfo info{n["id"].as<int>(), n["memory"].as<uint64_t>(), {}};
      for (const auto& h : n["hugepages"])
        info.hugepages[h.first.as<uint64_t>()] = h.second.as<uint64_t>();
      nodes.push_back(info);
    }
  std::map<int, std::map<std::string, uint64_t>> reserved;
  for (const auto& r : c["reserved"])
    for (const auto& t : r.second)
      reserved[r.first.as<int>()][t.first.as<std::string>()] = t.second.as<uint64_t>();
  return std::make_unique<MemoryStaticPolicy>(std::move(nodes), std::move(reserved));
}

bool SameMachine(const MachineMemoryState& a, const MachineMemoryState& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [id, n] : a) {
    const auto& m = b.at(id);
    auto ca = n.cells, cb = m.cells;
    std::sort(ca.begin(), ca.end());
    std::sort(cb.begin(), cb.end());
    if (n.assignments != m.assignments || ca != cb || n.memory != m.memory) return false;
  }
  return true;
}

std::string RunCase(const YAML::Node& c) {
  const std::string want_error = c["expect_error"] ? c["expect_error"].as<std::string>() : "";
  std::unique_ptr<MemoryStaticPolicy> policy;
  try {
    policy = Policy(c);
  } catch (const std::invalid_argument& e) {
    return e.what() == want_error ? "" : std::string("error: ") + e.what();
  }
  const std::string kind = c["kind"].as<std::string>();
  if (kind == "new") return want_error.empty() ? "" : "policy created, want an error";
  MemoryManagerAssignments s = State(c);
  std::string err;
  if (kind == "start") err = policy->Start(s);
  if (kind == "allocate") {
    MemoryRequests requests;
    for (const auto& r : c["requests"])
      requests[r.first.as<std::string>()] = r.second.as<uint64_t>();
    TopologyHint hint;
    hint.preferred = c["hint"][1].as<bool>();
    if (!c["hint"][0].IsNull()) {
      NumaMask m = 0;
      for (int n : Ints(c["hint"][0])) m |= NumaMask{1} << n;
      hint.affinity = m;
    }
    err = policy->Allocate(s, c["pod"].as<std::string>(), c["container"].as<std::string>(),
                           requests, hint);
  }
  if (err != want_error) return "error '" + err + "', want '" + want_error + "'";
  if (!err.empty()) return "";
  if (c["expect_machine"] && !SameMachine(s.machine, Machine(c["expect_machine"])))
    return "machine state differs";
  if (c["expect_blocks"]) {
    const auto got = s.entries[c["pod"].as<std::string>()][c["container"].as<std::string>()];
    const auto want = Blocks(c["expect_blocks"]);
    if (got.size() != want.size()) return "blocks differ";
    for (size_t i = 0; i < got.size(); ++i)
      if (got[i].numa_affinity != want[i].numa_affinity || got[i].type != want[i].type ||
          got[i].size != want[i].size)
        return "block " + got[i].type + " differs";
  }
  return "";
}

TEST(KubeletPeer, MemoryManagerStaticCasesAllPass) {
  const YAML::Node root = YAML::LoadFile((DataDir() / "memory_manager_cases.yaml").string());
  int passed = 0, total = 0;
  for (const auto& c : root["cases"]) {
    ++total;
    const std::string diff = RunCase(c);
    if (diff.empty()) ++passed;
    EXPECT_EQ(diff, "") << c["kind"].as<std::string>() << ": " << c["name"].as<std::string>();
  }
  std::cout << "kubelet memory manager peer cases: " << passed << "/" << total << " passed\n";
  EXPECT_EQ(total, 23);
}

}  // namespace
}  // namespace kvhost::kubelet
