// Replays the 12 real machines of tests/fixtures through DiscoverHost and
// BuildHostReport and compares every discovered fact with the machine's
// expected.json (derived independently by derive.sh from hwloc and raw sysfs).
// Nothing here names a machine or a value: a new fixture is checked as is.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "agent/host/discover.h"
#include "agent/report/host_report.h"
#include "base/cpu_set.h"

namespace kvhost {
namespace {

namespace fs = std::filesystem;
using google::protobuf::Struct;
using google::protobuf::Value;

// The README describes 12 machines; fewer means a broken unpack, not a pass.
constexpr size_t kExpectedMachines = 12;

fs::path FixturesDir() {
  const char* dir = std::getenv("KVHOST_FIXTURES");
  return dir ? fs::path(dir) : fs::path();
}

std::vector<fs::path> MachineDirs() {
  std::vector<fs::path> dirs;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(FixturesDir(), ec))
    if (entry.is_directory()) dirs.push_back(entry.path());
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

Struct LoadExpected(const fs::path& machine) {
  std::ifstream in(machine / "expected.json");
  std::stringstream text;
  text << in.rdbuf();
  Struct expected;
  const auto status = google::protobuf::util::JsonStringToMessage(text.str(), &expected);
  EXPECT_TRUE(in.good() && status.ok()) << machine / "expected.json"
                                        << ": " << status.ToString();
  return expected;
}

// --- expected.json accessors: a missing key fails the test, not the process.

const Value& Field(const Struct& s, const std::string& key) {
  static const Value kNull = [] {
    Value v;
    v.set_null_value(google::protobuf::NULL_VALUE);
    return v;
  }();
  auto it = s.fields().find(key);
  if (it == s.fields().end()) {
    ADD_FAILURE() << "expected.json has no '" << key << "'";
    return kNull;
  }
  return it->second;
}

bool IsNull(const Value& v) { return v.kind_case() == Value::kNullValue; }

uint64_t Number(const Value& v) { return static_cast<uint64_t>(v.number_value()); }

// A null string (no CPU model, no isolation data) reads as "", like the report.
std::string StringOrEmpty(const Value& v) { return IsNull(v) ? "" : v.string_value(); }

// Canonical form of a cpulist, so "0-3" and "0,1,2,3" compare equal.
std::string Canonical(const std::string& list) {
  try {
    return ParseCpuList(list).ToList();
  } catch (const FormatError& e) {
    return "<bad cpulist '" + list + "': " + e.what() + ">";
  }
}

const Struct* NodeEntry(const Value& per_node, unsigned node) {
  if (per_node.kind_case() != Value::kStructValue) return nullptr;
  auto it = per_node.struct_value().fields().find(std::to_string(node));
  return it == per_node.struct_value().fields().end() ? nullptr : &it->second.struct_value();
}

struct Replay {
  fs::path dir;
  Struct expected;
  v1::HostReport report;
};

Replay ReplayMachine(const fs::path& dir) {
  Replay r{dir, LoadExpected(dir), {}};
  r.report = BuildHostReport(DiscoverHost(dir));
  return r;
}

void CheckCpuCounts(const Replay& r) {
  const auto& t = r.report.topology();
  EXPECT_EQ(t.packages(), Number(Field(r.expected, "packages")));
  EXPECT_EQ(t.cores(), Number(Field(r.expected, "cores")));
  EXPECT_EQ(t.pus(), Number(Field(r.expected, "pus")));
  EXPECT_EQ(t.threads_per_core(), Number(Field(r.expected, "threads_per_core")));
  EXPECT_EQ(t.cpu_model(), StringOrEmpty(Field(r.expected, "cpu_model")));
  EXPECT_EQ(t.online_cpus(), Canonical(Field(r.expected, "online").string_value()));
  EXPECT_EQ(t.offline_cpus(), Canonical(Field(r.expected, "offline").string_value()));
  EXPECT_EQ(t.cpus_without_numa(), Canonical(StringOrEmpty(Field(r.expected, "pus_without_numa"))));
  // The report's strings must already be canonical cpulists.
  EXPECT_EQ(t.online_cpus(), Canonical(t.online_cpus()));
}

void CheckL3Groups(const Replay& r) {
  std::multiset<std::string> expected, actual;
  for (const auto& v : Field(r.expected, "l3_groups").list_value().values())
    expected.insert(Canonical(v.string_value()));
  for (const auto& g : r.report.topology().l3_groups()) actual.insert(Canonical(g));
  EXPECT_EQ(actual, expected) << "L3 groups differ (compared as a set)";
}

void CheckNumaNodes(const Replay& r) {
  const auto& nodes = r.report.topology().numa_nodes();
  std::vector<unsigned> expected_ids, actual_ids;
  for (const auto& v : Field(r.expected, "numa_node_ids").list_value().values())
    expected_ids.push_back(static_cast<unsigned>(v.number_value()));
  for (const auto& n : nodes) actual_ids.push_back(n.id());
  ASSERT_EQ(actual_ids, expected_ids) << "NUMA node ids (in report order)";

  const Struct& cpulists = Field(r.expected, "numa_cpulists").struct_value();
  const Struct& memory = Field(r.expected, "numa_memory_kb").struct_value();
  const Value& distances = Field(r.expected, "numa_distances");
  for (const auto& n : nodes) {
    const std::string id = std::to_string(n.id());
    SCOPED_TRACE("node" + id);
    EXPECT_EQ(n.cpus(), Canonical(StringOrEmpty(Field(cpulists, id))));
    EXPECT_EQ(n.memory_kib(), Number(Field(memory, id)));
    std::vector<unsigned> expected_row, actual_row(n.distances().begin(), n.distances().end());
    // No distance files (a board without node dirs) means an empty row.
    if (!IsNull(distances))
      for (const auto& d : Field(distances.struct_value(), id).list_value().values())
        expected_row.push_back(static_cast<unsigned>(d.number_value()));
    EXPECT_EQ(actual_row, expected_row) << "distance row";
  }
}

void CheckNumaInvariants(const Replay& r) {
  const CpuSet online = ParseCpuList(r.report.topology().online_cpus());
  CpuSet seen;
  for (const auto& n : r.report.topology().numa_nodes()) {
    SCOPED_TRACE("node" + std::to_string(n.id()));
    const CpuSet cpus = ParseCpuList(n.cpus());
    EXPECT_FALSE(cpus.Intersects(seen)) << "CPUs " << (cpus & seen).ToList() << " are in two nodes";
    EXPECT_TRUE(cpus.IsSubsetOf(online))
        << "offline CPUs " << (cpus - online).ToList() << " in a node";
    seen |= cpus;
  }
}

void CheckNodeHugepages(const Replay& r) {
  const Value& detail = Field(r.expected, "hugepages_detail");
  for (const auto& n : r.report.topology().numa_nodes()) {
    SCOPED_TRACE("node" + std::to_string(n.id()) + " hugepages");
    const Struct* sizes = NodeEntry(detail, n.id());
    std::set<uint64_t> expected_sizes, actual_sizes;
    if (sizes)
      for (const auto& [size, pool] : sizes->fields()) {
        const uint64_t size_kib = std::stoull(size);  // clang 14 cannot capture a binding
        expected_sizes.insert(size_kib);
        const auto it = std::find_if(n.hugepages().begin(), n.hugepages().end(),
                                     [&](const auto& p) { return p.size_kib() == size_kib; });
        if (it == n.hugepages().end()) continue;  // reported by the size-set check below
        SCOPED_TRACE(size + " kB");
        EXPECT_EQ(it->total(), Number(Field(pool.struct_value(), "nr")));
        EXPECT_EQ(it->free(), Number(Field(pool.struct_value(), "free")));
        EXPECT_EQ(it->surplus(), Number(Field(pool.struct_value(), "surplus")));
        EXPECT_EQ(it->reserved(), 0u) << "the kernel keeps no per-node reservation";
      }
    for (const auto& p : n.hugepages()) actual_sizes.insert(p.size_kib());
    EXPECT_EQ(actual_sizes, expected_sizes) << "page sizes";
  }
}

void CheckGlobalHugepages(const Replay& r) {
  const Value& global = Field(r.expected, "hugepages_global");
  std::set<uint64_t> expected_sizes, actual_sizes;
  const auto& pools = r.report.hugepages().global();
  if (!IsNull(global))
    for (const auto& [size, pool] : global.struct_value().fields()) {
      const uint64_t size_kib = std::stoull(size);  // clang 14 cannot capture a binding
      expected_sizes.insert(size_kib);
      const auto it = std::find_if(pools.begin(), pools.end(),
                                   [&](const auto& p) { return p.size_kib() == size_kib; });
      if (it == pools.end()) continue;
      SCOPED_TRACE("global " + size + " kB");
      const Struct& want = pool.struct_value();
      EXPECT_EQ(it->total(), Number(Field(want, "nr")));
      EXPECT_EQ(it->free(), Number(Field(want, "free")));
      EXPECT_EQ(it->reserved(), Number(Field(want, "resv")));
      EXPECT_EQ(it->surplus(), Number(Field(want, "surplus")));
    }
  for (const auto& p : pools) actual_sizes.insert(p.size_kib());
  EXPECT_EQ(actual_sizes, expected_sizes) << "global page sizes";
}

void CheckIsolation(const Replay& r) {
  EXPECT_EQ(r.report.isolation().isolated_cpus(),
            Canonical(StringOrEmpty(Field(r.expected, "isolated"))));
}

TEST(FixtureReplay, FindsEveryMachineOfTheCollection) {
  ASSERT_FALSE(FixturesDir().empty()) << "KVHOST_FIXTURES is not set (run through ctest)";
  const auto dirs = MachineDirs();
  EXPECT_EQ(dirs.size(), kExpectedMachines) << "machine dirs under " << FixturesDir();
  for (const auto& dir : dirs)
    EXPECT_TRUE(fs::is_regular_file(dir / "expected.json")) << dir << " has no expected.json";
}

TEST(FixtureReplay, EveryMachineMatchesItsExpectedJson) {
  const auto dirs = MachineDirs();
  ASSERT_FALSE(dirs.empty()) << "no machines under " << FixturesDir();
  for (const auto& dir : dirs) {
    SCOPED_TRACE(dir.filename().string());
    Replay r;
    try {
      r = ReplayMachine(dir);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "discovery failed: " << e.what();
      continue;
    }
    CheckCpuCounts(r);
    CheckL3Groups(r);
    CheckNumaNodes(r);
    CheckNumaInvariants(r);
    CheckNodeHugepages(r);
    CheckGlobalHugepages(r);
    CheckIsolation(r);
  }
}

// A dump is only ever read: the model discovered from it must never pass for
// this machine, whose processes and IRQs the agent would then touch.
TEST(FixtureReplay, AReplayedMachineIsNotTheRealHost) {
  const auto dirs = MachineDirs();
  ASSERT_FALSE(dirs.empty()) << "no machines under " << FixturesDir();
  const HostModel host = DiscoverHost(dirs.front());
  EXPECT_FALSE(host.root.IsRealHost());
  EXPECT_EQ(host.root.path(), dirs.front());
}

TEST(FixtureReplay, DiscoveryIsDeterministic) {
  // Two discoveries of one root must give the same report: no hidden state in
  // hwloc's environment handling leaks from one load into the next.
  for (const auto& dir : MachineDirs()) {
    SCOPED_TRACE(dir.filename().string());
    try {
      const std::string first = ToJson(BuildHostReport(DiscoverHost(dir)));
      EXPECT_EQ(ToJson(BuildHostReport(DiscoverHost(dir))), first);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "discovery failed: " << e.what();
    }
  }
}

}  // namespace
}  // namespace kvhost
