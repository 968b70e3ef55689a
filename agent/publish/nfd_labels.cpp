#include "agent/publish/nfd_labels.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>

#include "agent/publish/label_validation.h"
#include "agent/publish/quantity.h"
#include "base/sizes.h"

namespace kvhost::publish {
namespace {

constexpr unsigned kExactUpTo = 4;
constexpr unsigned kCapacityCap = 64;

std::string Bool(bool b) { return b ? "true" : "false"; }

bool DeniedPrefix(std::string_view ns, std::string_view domain) {
  return ns == domain || (ns.size() > domain.size() && ns.ends_with(domain) &&
                          ns[ns.size() - domain.size() - 1] == '.');
}

// Per series, its smallest size (fewest vCPUs, then least memory) decides
// whether the series "fits now".
void AddSeriesLabels(const v1::CapacityReport& capacity, const std::string& prefix, Labels& out) {
  std::map<std::string, const v1::InstanceTypeCapacity*> smallest;
  for (const auto& t : capacity.instance_types()) {
    out[prefix + "capacity." + t.name()] = std::to_string(CapacityBucket(t.count()));
    const v1::InstanceTypeCapacity*& s = smallest[t.series()];
    if (!s || std::pair(t.vcpus(), t.memory_kib()) < std::pair(s->vcpus(), s->memory_kib())) s = &t;
  }
  for (const auto& [series, type] : smallest)
    if (!series.empty()) out[prefix + series] = Bool(type->count() > 0);
}

// The most free pages of each size on one NUMA node: the largest hugepage-backed
// guest cell that can still be placed without spanning.
void AddHugepageLabels(const v1::CapacityReport& capacity, const std::string& prefix, Labels& out) {
  std::map<uint64_t, uint64_t> largest_kib;
  for (const auto& node : capacity.nodes())
    for (const auto& pool : node.hugepages()) {
      uint64_t& best = largest_kib[pool.size_kib()];
      best = std::max(best, pool.free() * pool.size_kib());
    }
  for (const auto& [size_kib, kib] : largest_kib)
    out[prefix + HugepageResourceName(size_kib) + ".largest-free-block"] = KibQuantity(kib);
}

}  // namespace

unsigned CapacityBucket(unsigned count) {
  if (count <= kExactUpTo) return count;
  return std::min(std::bit_floor(count), kCapacityCap);
}

Labels BuildNodeLabels(const v1::NodeReport& report, const LabelOptions& options) {
  const std::string& p = options.prefix;
  Labels out;
  if (report.capacity_unknown().empty()) {
    AddSeriesLabels(report.capacity(), p, out);
    AddHugepageLabels(report.capacity(), p, out);
  } else {
    out[p + "capacity-known"] = "false";
  }
  const auto& topology = report.host().topology();
  out[p + "realtime"] = Bool(report.host().realtime().ready());
  out[p + "numa-nodes"] = std::to_string(topology.numa_nodes_size());
  out[p + "smt"] = Bool(topology.threads_per_core() > 1);
  if (!report.placement().owner().empty()) out[p + "placement-owner"] = report.placement().owner();
  if (report.has_last_qualification())
    out[p + "rt-max-latency-us"] = std::to_string(
        static_cast<uint64_t>(std::ceil(report.last_qualification().max_latency_us())));
  if (report.last_qualified_unix() > 0)
    out[p + "rt-last-qualified"] = std::to_string(report.last_qualified_unix());
  ValidateLabels(out);
  return out;
}

void ValidateLabels(const Labels& labels) {
  for (const auto& [key, value] : labels) {
    // By value: clang 14 cannot capture a structured binding.
    auto fail = [label = key + "=" + value](const std::string& why) {
      throw std::invalid_argument("label " + label + ": " + why);
    };
    if (auto errors = IsQualifiedName(key); !errors.empty()) fail("key " + errors.front());
    const size_t slash = key.find('/');
    if (slash == std::string::npos) fail("key has no prefix (NFD would add its own)");
    const std::string_view ns = std::string_view(key).substr(0, slash);
    if (DeniedPrefix(ns, "kubernetes.io")) fail("NFD denies the kubernetes.io prefixes");
    if (DeniedPrefix(ns, "kubevirt.io")) fail("KubeVirt's node-labeller owns kubevirt.io labels");
    if (auto errors = IsValidLabelValue(value); !errors.empty()) fail("value " + errors.front());
  }
}

}  // namespace kvhost::publish
