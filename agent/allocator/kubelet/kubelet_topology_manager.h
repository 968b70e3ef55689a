// A port of kubelet's topology manager hint merging
// (pkg/kubelet/cm/topologymanager/policy*.go, the HintMerger of v1.26 and
// later): every provider's hints are combined permutation by permutation, the
// best merged hint wins, and the policy decides admission.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kvhost::kubelet {

using NumaMask = uint64_t;  // bit i = NUMA node i, as kubelet's bitmask.BitMask

// The NUMA node ids of a mask, ascending (bitmask.GetBits), and back.
std::vector<int> MaskBits(NumaMask mask);
NumaMask MaskOf(const std::vector<int>& nodes);

struct TopologyHint {
  std::optional<NumaMask> affinity;  // nullopt: "any NUMA node" (kubelet's nil mask)
  bool preferred = false;
  bool operator==(const TopologyHint&) const = default;
};

struct NumaInfo {
  std::vector<int> nodes;
  std::map<int, std::vector<int>> distances;  // node -> distance to each node id
  NumaMask DefaultMask() const;
};

enum class TopologyPolicy { kNone, kBestEffort, kRestricted, kSingleNumaNode };
TopologyPolicy ParseTopologyPolicy(const std::string& name);  // kubelet's config spelling

struct TopologyPolicyOptions {
  bool prefer_closest_numa = false;  // topologyManagerPolicyOptions prefer-closest-numa-nodes
};

// One provider's hints per resource. An absent list (nullopt) means "no
// preference" and an empty list "cannot be satisfied", as kubelet's nil/empty.
using ProviderHints = std::map<std::string, std::optional<std::vector<TopologyHint>>>;

struct MergeResult {
  TopologyHint hint;
  bool admit = true;
};

MergeResult MergeHints(TopologyPolicy policy, const NumaInfo& numa,
                       const TopologyPolicyOptions& options,
                       const std::vector<ProviderHints>& providers);

}  // namespace kvhost::kubelet
