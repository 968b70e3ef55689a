// bench/packing's account of its own gap to the fluid bound: a model of ours
// at the level of NUMA nodes. Each node is a count of whole cores and of free
// pages per size, with no core identity. The model applies our rules (whole
// cores per guest cell; the emulator on the VM's node, on the idle sibling of
// its last vCPU core when there is one and the type is not realtime, else on
// cores emulator threads share perfectly; hugepages from the VM's nodes) and
// our choices (one node when one fits, the least memory left then the fewest
// cores; else the fewest nodes, vCPUs split evenly, memory in proportion;
// M-series pages from the node with the fewest free cores). Ordinary memory,
// shared slots and GPUs are counted host-wide, as the fluid bound counts them
// (the mix's dedicated types all use hugepages).
//
// Run beside ours it shows what core identity costs us (the model ignores
// it); run with the nodes pooled, or with every CPU a core, it shows what
// NUMA nodes and whole SMT cores cost on their own.
#pragma once

#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "bench/packing_policies.h"

namespace kvhost::bench {

// How a VM that fits on one node picks it.
enum class NodeChoice {
  kOurs,        // the least memory of its kind left, then the fewest free cores
  kCoresFirst,  // the fewest free cores left, then the least memory
  kWorstFit,    // the most memory left, then the most free cores
};

struct RulesModelVariant {
  bool one_node = false;  // the nodes' cores and pages pooled into one node
  bool no_smt = false;    // every CPU a core of its own
  NodeChoice choice = NodeChoice::kOurs;
};

class NodeRulesModel : public PackingPolicy {
 public:
  NodeRulesModel(const HostResources& host, RulesModelVariant variant);
  std::string_view Name() const override { return "rules model"; }
  bool Admit(const InstanceType& type, unsigned vm) override;
  void Depart(unsigned vm) override;

 private:
  struct Node {
    unsigned cores = 0;       // dedicated-pool cores
    unsigned vcpu_cores = 0;  // held by vCPUs
    unsigned emulators = 0;   // emulator threads here; ceil(emulators / tpc) cores hold them
    std::map<uint64_t, uint64_t> free_pages;  // page size KiB -> pages
  };
  // What one VM holds, per node.
  struct Take {
    std::vector<unsigned> vcpu_cores, emulators;
    std::vector<uint64_t> pages;
    uint64_t page_kib = 0;
    unsigned cores_left = 0;  // free cores its nodes keep (the span choice's key)
  };

  unsigned FreeCores(size_t k) const;
  uint64_t FreePages(size_t k, uint64_t page_kib) const;
  Take EmptyTake(uint64_t page_kib) const;
  // Adds a guest cell of `vcpus` (and the emulator) on node k to `take`;
  // false when the node's free cores cannot hold it.
  bool AddCell(size_t k, const InstanceType& type, unsigned vcpus, bool emulator, Take& take) const;
  std::optional<Take> OneNode(const InstanceType& type) const;
  std::optional<Take> Span(const InstanceType& type) const;
  std::optional<Take> SpanOver(const InstanceType& type, const std::vector<size_t>& set) const;
  std::optional<Take> SharedPages(const InstanceType& type) const;

  FluidBoundPolicy totals_;  // shared slots, ordinary memory, GPUs: host-wide, as ours
  unsigned tpc_ = 1;
  bool allow_span_ = true;
  NodeChoice choice_ = NodeChoice::kOurs;
  std::vector<Node> nodes_;
  std::map<unsigned, Take> held_;
};

}  // namespace kvhost::bench
