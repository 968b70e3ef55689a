// The one loader on the real libvirtd (agent mode): `capacity` drops by
// exactly what pinned domains hold, as the allocator's own arithmetic over the
// state file says, whether the state lists them or only libvirt reports their
// pinning; after `unpin` the capacity returns. The real kvhost-agent binary
// against the harness's libvirtd (KVM, or TCG without /dev/kvm).
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "agent/allocator/capacity.h"
#include "agent/config/config_loader.h"
#include "agent/live/live_host.h"
#include "agent/state/allocation_convert.h"
#include "agent/yaml/yaml_catalog.h"
#include "capacity.pb.h"
#include "pin_it_support.h"

namespace kvhost::it {
namespace {

class PinIntegrationCapacity : public RealAgentTest {
 protected:
  // `kvhost-agent capacity -o json` of this host, charged from `state_dir`.
  v1::CapacityReport Capacity(const fs::path& state_dir) const {
    const RunResult r =
        RunProcess({agent_, "capacity", "-o", "json", "--connect", kUri, "--state-dir",
                    state_dir.string(), "--config", (data_ / "config.yaml").string(), "--catalog",
                    (data_ / "catalog.yaml").string(), "--no-builtin-catalog"});
    EXPECT_TRUE(r.end.Exited(0)) << r.Describe();
    v1::CapacityReport report;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &report).ok()) << r.Describe();
    return report;
  }
  // The allocator's own arithmetic: the empty host plus every allocation of
  // the test's state file but `gone`'s, committed as running VMs.
  Allocator Expected(const std::string& gone = "") const {
    const TempDir none;
    Allocator state = LoadLiveHost({.root = "/",
                                    .state_dir = none.path(),
                                    .config = LoadAgentConfig(data_ / "config.yaml", true),
                                    .kubelet_config = {},
                                    .running = {}})
                          .allocator;
    const v1::AgentState saved = State();
    for (const auto& a : saved.allocations())
      if (gone.empty() || a.domain_uuid() != hv_->Uuid(gone))
        state.CommitRunning(PlacementFromAllocation(a));
    return state;
  }
  static unsigned Count(const v1::CapacityReport& r, const std::string& type) {
    for (const auto& t : r.instance_types())
      if (t.name() == type) return t.count();
    ADD_FAILURE() << "no " << type << " in the capacity report";
    return 0;
  }
  // Every type's count and the free pools agree with `expected`.
  void ExpectAgrees(const v1::CapacityReport& r, const Allocator& expected) const {
    const Catalog catalog = LoadCatalogYaml((data_ / "catalog.yaml").string());
    for (const auto& type : catalog.types)
      EXPECT_EQ(Count(r, type.name), CountFits(expected, type).count) << type.name;
    EXPECT_EQ(r.pools().free_dedicated_cpus(), expected.FreeDedicatedCpus().ToList());
    EXPECT_EQ(r.pools().free_ordinary_memory_kib(), expected.FreeOrdinaryMemoryKib());
  }
};

TEST_F(PinIntegrationCapacity, CapacityDropsByExactlyWhatPinnedDomainsHoldAndReturnsAfterUnpin) {
  constexpr unsigned kDomains = 2;
  const v1::CapacityReport before = Capacity(state_.path());
  if (Count(before, "it.dedicated") < kDomains)
    GTEST_SKIP() << "needs room for " << kDomains << " dedicated 1-vCPU guests";
  std::vector<std::string> names;
  for (unsigned i = 0; i < kDomains; ++i) {
    names.push_back(hv_->Define("cap" + std::to_string(i), 1, "it.dedicated"));
    hv_->Start(names.back());
  }
  // Running but floating: they hold nothing yet.
  EXPECT_EQ(Count(Capacity(state_.path()), "it.dedicated"), Count(before, "it.dedicated"));

  for (const auto& name : names) {
    const RunResult r = Agent({"pin", name});
    ASSERT_TRUE(r.end.Exited(0)) << r.Describe();
  }
  const Allocator held = Expected();
  ASSERT_EQ(held.placements().size(), kDomains);
  const v1::CapacityReport pinned = Capacity(state_.path());
  ExpectAgrees(pinned, held);
  EXPECT_EQ(Count(before, "it.dedicated") - Count(pinned, "it.dedicated"), kDomains);
  EXPECT_EQ(before.pools().free_ordinary_memory_kib() - pinned.pools().free_ordinary_memory_kib(),
            kDomains * 128 * 1024);

  // The same host with no state file: libvirt's pinning alone says what they hold.
  const TempDir no_state;
  const v1::CapacityReport from_libvirt = Capacity(no_state.path());
  ExpectAgrees(from_libvirt, held);

  // One stops: the state still lists it, but what runs no longer does.
  const Allocator without_second = Expected(names[1]);
  hv_->Destroy(names[1]);
  const v1::CapacityReport one_left = Capacity(state_.path());
  ExpectAgrees(one_left, without_second);
  EXPECT_EQ(Count(before, "it.dedicated") - Count(one_left, "it.dedicated"), 1u);

  const RunResult r = Agent({"unpin", names[0]});
  ASSERT_TRUE(r.end.Exited(0)) << r.Describe();
  const v1::CapacityReport after = Capacity(state_.path());
  EXPECT_EQ(Count(after, "it.dedicated"), Count(before, "it.dedicated"));
  EXPECT_EQ(after.pools().free_dedicated_cpus(), before.pools().free_dedicated_cpus());
  EXPECT_EQ(after.pools().free_ordinary_memory_kib(), before.pools().free_ordinary_memory_kib());
}

}  // namespace
}  // namespace kvhost::it
