// kubelet's policy_static_test.go tables (tests/data/kubelet/static_policy_cases.yaml)
// against our port of the static CPU manager policy.
#include <gtest/gtest.h>

#include <iostream>
#include <set>
#include <stdexcept>

#include "agent/allocator/kubelet/kubelet_static_policy.h"
#include "tests/kubelet_peer_support.h"

namespace kvhost::kubelet {
namespace {

CpuSet Cpus(const YAML::Node& node) {
  return node ? ParseCpuList(node.as<std::string>()) : CpuSet();
}

std::map<std::string, std::string> Strings(const YAML::Node& node) {
  std::map<std::string, std::string> out;
  if (node)
    for (const auto& e : node) out[e.first.as<std::string>()] = e.second.as<std::string>();
  return out;
}

CpuManagerAssignments State(const YAML::Node& c) {
  CpuManagerAssignments s;
  s.default_cpu_set = Cpus(c["default"]);
  if (c["assignments"])
    for (const auto& pod : c["assignments"])
      for (const auto& container : pod.second)
        s.assignments[pod.first.as<std::string>()][container.first.as<std::string>()] =
            ParseCpuList(container.second.as<std::string>());
  return s;
}

std::optional<NumaMask> Mask(const YAML::Node& nodes) {
  if (!nodes || nodes.IsNull()) return std::nullopt;
  NumaMask m = 0;
  for (int n : Ints(nodes)) m |= NumaMask{1} << n;
  return m;
}

// kubelet compares error values; we compare their kind, or the text where kubelet's is fixed.
std::string CheckError(const std::string& got, const YAML::Node& want) {
  const std::string w = want ? want.as<std::string>() : "";
  if (w.empty()) return got.empty() ? "" : "unexpected error: " + got;
  if (w == "not-enough" && got.starts_with("not enough cpus available to satisfy request"))
    return "";
  if (w == "smt" && got.starts_with("SMT Alignment Error")) return "";
  return got == w ? "" : "error '" + got + "', want '" + w + "'";
}

std::string RunAdd(const StaticPolicy& policy, const YAML::Node& c) {
  CpuManagerAssignments s = State(c);
  const std::string container = c["container"].as<std::string>();
  const int cpus =
      GuaranteedCpus(c["request_milli"].as<uint64_t>(), c["limit_milli"].as<uint64_t>());
  std::optional<NumaMask> affinity;
  if (c["hint"]) affinity = Mask(c["hint"][0]);
  const std::string err = policy.Allocate(s, "fakePod", container, cpus, affinity);
  if (auto bad = CheckError(err, c["expect_error"]); !bad.empty()) return bad;
  const bool allocated =
      s.assignments.contains("fakePod") && s.assignments["fakePod"].contains(container);
  if (!c["expect"])
    return allocated ? "allocated " + s.assignments["fakePod"][container].ToList() : "";
  if (!allocated) return "nothing allocated, want " + c["expect"].as<std::string>();
  const CpuSet got = s.assignments["fakePod"][container];
  if (got.Intersects(s.default_cpu_set)) return "allocation still in the shared pool";
  return got == Cpus(c["expect"]) ? ""
                                  : "got " + got.ToList() + ", want " + Cpus(c["expect"]).ToList();
}

std::string RunCase(const CpuTopology& topo, const YAML::Node& c) {
  const std::string kind = c["kind"].as<std::string>();
  if (kind == "options") {
    bool invalid = false, full = false;
    try {
      full = ParseStaticPolicyOptions(Strings(c["options"])).full_pcpus_only;
    } catch (const std::invalid_argument&) {
      invalid = true;
    }
    return invalid == c["expect_invalid"].as<bool>() &&
                   full == c["expect_full_pcpus_only"].as<bool>()
               ? ""
               : "options parsed wrongly";
  }
  std::unique_ptr<StaticPolicy> policy;
  try {
    policy = std::make_unique<StaticPolicy>(topo, c["num_reserved"].as<int>(), Cpus(c["reserved"]),
                                            ParseStaticPolicyOptions(Strings(c["options"])));
  } catch (const std::invalid_argument& e) {
    return CheckError(e.what(), c["expect_new_error"]);
  }
  if (c["expect_new_error"]) return "policy created, want an error";
  if (kind == "add") return RunAdd(*policy, c);
  CpuManagerAssignments s = State(c);
  if (kind == "remove") policy->RemoveContainer(s, "fakePod", c["container"].as<std::string>());
  if (kind == "start" || kind == "allocate_cpus") {
    if (auto bad = CheckError(policy->Start(s), c["expect_error"]);
        !bad.empty() || c["expect_error"])
      return bad;
  }
  if (kind == "allocate_cpus") {
    const std::string err = policy->Allocate(s, "p", "c", c["num_cpus"].as<int>(), Mask(c["mask"]));
    if (!err.empty()) return err;
    return s.assignments["p"]["c"] == Cpus(c["expect"]) ? ""
                                                        : "got " + s.assignments["p"]["c"].ToList();
  }
  return s.default_cpu_set == Cpus(c["expect_default"]) ? ""
                                                        : "default " + s.default_cpu_set.ToList();
}

TEST(KubeletPeer, StaticPolicyCasesAllPass) {
  const auto topologies = LoadTopologies();
  const YAML::Node root = YAML::LoadFile((DataDir() / "static_policy_cases.yaml").string());
  int passed = 0, total = 0;
  for (const auto& c : root["cases"]) {
    ++total;
    const std::string name = c["kind"].as<std::string>() + ": " + c["name"].as<std::string>();
    const std::string topo_name = c["topo"] ? c["topo"].as<std::string>() : "topoSingleSocketHT";
    const auto topo = topologies.find(topo_name);
    ASSERT_NE(topo, topologies.end()) << name;
    const std::string diff = RunCase(topo->second, c);
    if (diff.empty()) ++passed;
    EXPECT_EQ(diff, "") << name;
  }
  std::cout << "kubelet static policy peer cases: " << passed << "/" << total << " passed\n";
  EXPECT_EQ(total, 55);
}

std::set<std::pair<NumaMask, bool>> HintSet(const std::vector<TopologyHint>& hints) {
  std::set<std::pair<NumaMask, bool>> out;
  for (const auto& h : hints) out.insert({h.affinity.value_or(0), h.preferred});
  return out;
}

TEST(KubeletPeer, CpuTopologyHintCasesAllPass) {
  const auto topologies = LoadTopologies();
  const YAML::Node root = YAML::LoadFile((DataDir() / "cpu_topology_hints_cases.yaml").string());
  int passed = 0, total = 0;
  for (const auto& c : root["cases"]) {
    ++total;
    const StaticPolicy policy(topologies.at(c["topo"].as<std::string>()), 0, CpuSet(),
                              ParseStaticPolicyOptions(Strings(c["options"])));
    const auto hints =
        policy.ContainerHints(State(c), "fakePod", "fakeContainer", c["request"].as<int>());
    std::vector<TopologyHint> want;
    for (const auto& h : c["expect"]) want.push_back({Mask(h[0]), h[1].as<bool>()});
    const bool same = HintSet(hints.value_or(std::vector<TopologyHint>{})) == HintSet(want);
    if (same) ++passed;
    EXPECT_TRUE(same) << c["name"].as<std::string>();
  }
  std::cout << "kubelet CPU topology hint peer cases: " << passed << "/" << total << " passed\n";
  EXPECT_EQ(total, 14);
}

}  // namespace
}  // namespace kvhost::kubelet
