// The table is data, not file I/O: a user's clone has no seed file at run time.
// Rows are copied exactly as Cozystack's "instanceType Resources" table lists
// them (name, vCPUs, memory); tests/catalog_test.cpp checks every row against a
// copy of that table. Series semantics follow kubevirt/common-instancetypes
// (instancetypes/<series>/1/<series>1.yaml and sizes.yaml).
#include "agent/catalog/builtin_catalog.h"

#include <array>
#include <stdexcept>
#include <string_view>

#include "agent/catalog/catalog.h"
#include "agent/catalog/quantity.h"
#include "base/sizes.h"

namespace kvhost {
namespace {

struct SeriesSemantics {
  std::string_view series;
  CpuPolicy cpu;
  bool isolate_emulator_thread;
  bool guest_numa_passthrough;
  bool realtime;
  uint64_t hugepage_size_kib;
  unsigned overcommit_percent;
  std::string_view gpu_device_name;  // empty: no GPU
  // Upstream rt1/n1 set spec.annotations cpu-load-balancing.crio.io,
  // cpu-quota.crio.io and irq-load-balancing.crio.io, all "disable".
  bool crio_low_latency_annotations;
};

constexpr std::array<SeriesSemantics, 7> kSeries{{
    // U: shared CPUs, ordinary memory.
    {"u1", CpuPolicy::kShared, false, false, false, 0, 0, "", false},
    // O: U with guest memory overcommitted by 50% (spec.memory.overcommitPercent).
    {"o1", CpuPolicy::kShared, false, false, false, 0, 50, "", false},
    // CX: dedicated CPUs, isolated emulator thread, guest NUMA mirrors the host, 2Mi pages.
    {"cx1", CpuPolicy::kDedicated, true, true, false, k2MiPageKib, 0, "", false},
    // M: shared CPUs on 2Mi hugepages.
    {"m1", CpuPolicy::kShared, false, false, false, k2MiPageKib, 0, "", false},
    // N: DPDK network functions: dedicated, isolated emulator, 1Gi pages, no guest NUMA.
    {"n1", CpuPolicy::kDedicated, true, false, false, k1GiPageKib, 0, "", true},
    // RT: CX's placement plus realtime vCPUs on 1Gi pages.
    {"rt1", CpuPolicy::kDedicated, true, true, true, k1GiPageKib, 0, "", true},
    // GN: U plus one NVIDIA GPU; dropped upstream in v1.3.0, kept by Cozystack.
    {"gn1", CpuPolicy::kShared, false, false, false, 0, 0, "nvidia.com/A400", false},
}};

struct SizeRow {
  std::string_view name;
  unsigned vcpus;
  std::string_view memory;  // a Kubernetes quantity, as the table writes it
};

// In the table's order, one row per line as the table prints them.
// clang-format off
constexpr std::array<SizeRow, 48> kSizes{{
    {"cx1.2xlarge", 8, "16Gi"},
    {"cx1.4xlarge", 16, "32Gi"},
    {"cx1.8xlarge", 32, "64Gi"},
    {"cx1.large", 2, "4Gi"},
    {"cx1.medium", 1, "2Gi"},
    {"cx1.xlarge", 4, "8Gi"},
    {"gn1.2xlarge", 8, "32Gi"},
    {"gn1.4xlarge", 16, "64Gi"},
    {"gn1.8xlarge", 32, "128Gi"},
    {"gn1.xlarge", 4, "16Gi"},
    {"m1.2xlarge", 8, "64Gi"},
    {"m1.4xlarge", 16, "128Gi"},
    {"m1.8xlarge", 32, "256Gi"},
    {"m1.large", 2, "16Gi"},
    {"m1.xlarge", 4, "32Gi"},
    {"n1.2xlarge", 16, "32Gi"},
    {"n1.4xlarge", 32, "64Gi"},
    {"n1.8xlarge", 64, "128Gi"},
    {"n1.large", 4, "8Gi"},
    {"n1.medium", 4, "4Gi"},
    {"n1.xlarge", 8, "16Gi"},
    {"o1.2xlarge", 8, "32Gi"},
    {"o1.4xlarge", 16, "64Gi"},
    {"o1.8xlarge", 32, "128Gi"},
    {"o1.large", 2, "8Gi"},
    {"o1.medium", 1, "4Gi"},
    {"o1.micro", 1, "1Gi"},
    {"o1.nano", 1, "512Mi"},
    {"o1.small", 1, "2Gi"},
    {"o1.xlarge", 4, "16Gi"},
    {"rt1.2xlarge", 8, "32Gi"},
    {"rt1.4xlarge", 16, "64Gi"},
    {"rt1.8xlarge", 32, "128Gi"},
    {"rt1.large", 2, "8Gi"},
    {"rt1.medium", 1, "4Gi"},
    {"rt1.micro", 1, "1Gi"},
    {"rt1.small", 1, "2Gi"},
    {"rt1.xlarge", 4, "16Gi"},
    {"u1.2xlarge", 8, "32Gi"},
    {"u1.2xmedium", 2, "4Gi"},
    {"u1.4xlarge", 16, "64Gi"},
    {"u1.8xlarge", 32, "128Gi"},
    {"u1.large", 2, "8Gi"},
    {"u1.medium", 1, "4Gi"},
    {"u1.micro", 1, "1Gi"},
    {"u1.nano", 1, "512Mi"},
    {"u1.small", 1, "2Gi"},
    {"u1.xlarge", 4, "16Gi"},
}};
// clang-format on

const SeriesSemantics& SemanticsOf(std::string_view series) {
  for (const SeriesSemantics& s : kSeries)
    if (s.series == series) return s;
  throw std::logic_error("built-in catalog: no semantics for series " + std::string(series));
}

InstanceType MakeInstanceType(const SizeRow& row) {
  InstanceType type;
  type.name = std::string(row.name);
  type.series = SeriesOf(row.name);
  type.vcpus = row.vcpus;
  type.memory_kib = BytesToKibRoundUp(ParseQuantityBytes(row.memory));
  const SeriesSemantics& s = SemanticsOf(type.series);
  type.cpu = s.cpu;
  type.isolate_emulator_thread = s.isolate_emulator_thread;
  type.guest_numa_passthrough = s.guest_numa_passthrough;
  type.realtime = s.realtime;
  type.hugepage_size_kib = s.hugepage_size_kib;
  type.overcommit_percent = s.overcommit_percent;
  if (!s.gpu_device_name.empty()) {
    type.gpus = 1;
    type.gpu_device_names.emplace_back(s.gpu_device_name);
  }
  if (s.crio_low_latency_annotations) {
    type.annotations = {{"cpu-load-balancing.crio.io", "disable"},
                        {"cpu-quota.crio.io", "disable"},
                        {std::string(kIrqLoadBalancingAnnotation), "disable"}};
  }
  type.irq_load_balancing_disabled = DisablesIrqLoadBalancing(type.annotations);
  type.source = "built-in";
  return type;
}

}  // namespace

Catalog BuiltinCatalog() {
  Catalog catalog;
  catalog.types.reserve(kSizes.size());
  for (const SizeRow& row : kSizes) catalog.types.push_back(MakeInstanceType(row));
  SortBySeriesThenSize(catalog.types);
  return catalog;
}

}  // namespace kvhost
