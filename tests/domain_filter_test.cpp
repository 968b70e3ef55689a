// The config's `domains`: the agent manages only the libvirt domains it names
// and leaves every other VM of the host alone. On libvirt's test:///default,
// whose own domain "test" runs from the start, with the host model of the
// fixture hwloc-16amd64-4n4c-hugepages: `domains: "kvhost-*"` must never pin,
// unpin, re-pin, reconcile, count or audit "test".
#include "agent/libvirt/domain_filter.h"

#include <gtest/gtest.h>
#include <libvirt/libvirt.h>

#include <atomic>

#include "agent/catalog/builtin_catalog.h"
#include "agent/daemon/watch_loop.h"
#include "agent/libvirt/pinning_reader.h"
#include "agent/live/live_host.h"
#include "agent/pinning/live_domains.h"
#include "agent/pinning/pin_commands.h"
#include "agent/pinning/pin_outcome_text.h"
#include "agent/pinning/pinner.h"
#include "agent_process_support.h"
#include "allocator_support.h"

namespace kvhost::testing {
namespace {

constexpr char kUri[] = "test:///default";
constexpr char kHostFixture[] = "hwloc-16amd64-4n4c-hugepages";

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

DomainFilter OnlyKvhost() { return DomainFilter({"kvhost-*"}, "config test.yaml"); }

TEST(DomainFilter, ManagesWhatAGlobOfTheListMatches) {
  EXPECT_TRUE(DomainFilter().ManagesEvery());
  EXPECT_TRUE(DomainFilter().Manages("test"));
  const DomainFilter kvhost = OnlyKvhost();
  EXPECT_FALSE(kvhost.ManagesEvery());
  EXPECT_TRUE(kvhost.Manages("kvhost-it-1-a"));
  EXPECT_FALSE(kvhost.Manages("test"));
  EXPECT_FALSE(kvhost.Manages("my-kvhost-vm"));
  const DomainFilter two({"tenant-?", "db-[0-9]*"}, "config c.yaml");
  EXPECT_TRUE(two.Manages("tenant-a"));
  EXPECT_FALSE(two.Manages("tenant-ab"));
  EXPECT_TRUE(two.Manages("db-1-primary"));
  EXPECT_FALSE(two.Manages("db-x"));
  EXPECT_EQ(kvhost.Describe(), "domains \"kvhost-*\" (config test.yaml)");
  EXPECT_EQ(two.Describe(), "domains [\"tenant-?\", \"db-[0-9]*\"] (config c.yaml)");
}

class DomainFilterOnTheTestDriver : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = LoadFixture(kHostFixture);
    host_ = std::make_shared<const HostResources>(BuildHostResources(model_, AgentConfig{}));
    before_ = Pinning();
    ASSERT_EQ(before_.vcpus.size(), 2u) << "test:///default's domain 'test' has 2 vCPUs";
  }

  std::unique_ptr<Pinner> NewPinner(const LibvirtConnection& connection) const {
    auto pinner = std::make_unique<Pinner>(host_, BuiltinCatalog(), StateStore(state_.path()));
    pinner->AddConnection(&connection);
    return pinner;
  }
  // Domain "test"'s pinning, read through a connection that sees every domain.
  DomainPinning Pinning() const {
    return ReadPinning(observer_, observer_.LookupDomain("test"), DomainDefinition::kCurrent);
  }
  static std::string Cpus(const DomainPinning& p) {
    std::string out;
    for (const CpuSet& v : p.vcpus) out += v.ToList() + ";";
    return out + (p.emulator ? p.emulator->ToList() : "no emulator pinning");
  }

  HostModel model_;
  std::shared_ptr<const HostResources> host_;
  TempDir state_;
  LibvirtConnection observer_ = LibvirtConnection::Open(kUri);
  LibvirtConnection kvhost_only_ = LibvirtConnection::Open(kUri, OnlyKvhost());
  DomainPinning before_;
};

TEST_F(DomainFilterOnTheTestDriver, AConnectionListsAndLooksUpOnlyTheDomainsItManages) {
  EXPECT_TRUE(kvhost_only_.ListDomainSummaries().empty());
  const auto unmanaged = kvhost_only_.ListRunningUnmanagedDomains();
  ASSERT_EQ(unmanaged.size(), 1u);
  EXPECT_EQ(unmanaged.front().name(), "test");
  EXPECT_TRUE(observer_.ListRunningUnmanagedDomains().empty()) << "it manages every domain";
  try {
    kvhost_only_.LookupDomain("test");
    FAIL() << "looked up a domain outside `domains`";
  } catch (const DomainNotManaged& e) {
    EXPECT_TRUE(Contains(e.what(),
                         "'test' is not managed by this agent: outside domains "
                         "\"kvhost-*\" (config test.yaml)"))
        << e.what();
  }
  EXPECT_THROW(kvhost_only_.LookupDomain(observer_.LookupDomain("test").uuid()), DomainNotManaged);
}

// The same reconcile without the filter places "test": what the filter spares
// is what the agent does otherwise.
TEST_F(DomainFilterOnTheTestDriver, WithEveryDomainManagedAReconcilePlacesAndPinsIt) {
  const ReconcileReport r = NewPinner(observer_)->Reconcile();
  EXPECT_EQ(r.placed, (std::vector<std::string>{"test"}));
  EXPECT_TRUE(r.not_managed.empty());
  EXPECT_NE(Cpus(Pinning()), Cpus(before_)) << "pinned to the shared pool";
}

TEST_F(DomainFilterOnTheTestDriver, AReconcileLeavesADomainOutsideDomainsAloneAndSaysSo) {
  auto pinner = NewPinner(kvhost_only_);
  const ReconcileReport r = pinner->Reconcile();
  EXPECT_TRUE(r.placed.empty() && r.adopted.empty() && r.kept.empty() && r.repinned.empty());
  EXPECT_TRUE(r.problems.empty()) << r.problems.front();
  EXPECT_EQ(r.not_managed, (std::vector<std::string>{"test"}));
  EXPECT_TRUE(pinner->vms().empty()) << "counted as the agent's";
  EXPECT_TRUE(pinner->allocator().placements().empty());
  EXPECT_EQ(Cpus(Pinning()), Cpus(before_)) << "its pinning was touched";
  EXPECT_TRUE(Contains(ReconcileSummary(r), ", 1 not managed")) << ReconcileSummary(r);
  const std::string text = DescribeReconcile(ReconcileResultOf(r));
  EXPECT_TRUE(Contains(text, "not managed (outside `domains`) 1: test\n")) << text;
}

TEST_F(DomainFilterOnTheTestDriver, PinAndUnpinRefuseADomainOutsideDomainsAndChangeNothing) {
  auto pinner = NewPinner(kvhost_only_);
  EXPECT_THROW(pinner->PinOnAnyConnection("test"), DomainNotManaged);
  EXPECT_THROW(pinner->UnpinOnAnyConnection("test"), DomainNotManaged);
  for (const bool pin : {true, false}) {
    v1::ControlRequest request;
    if (pin)
      request.mutable_pin()->set_domain("test");
    else
      request.mutable_unpin()->set_domain("test");
    const CommandOutcome out = RunPinningCommand(request, *pinner, PinnerSource::kJustLoaded);
    EXPECT_EQ(out.exit_code, kCommandFailedExitCode);
    EXPECT_TRUE(Contains(out.error, "not managed by this agent")) << out.error;
  }
  EXPECT_TRUE(pinner->vms().empty());
  EXPECT_EQ(Cpus(Pinning()), Cpus(before_));
}

// `domains` narrowed under a running VM the agent had placed: its allocation
// goes (the agent no longer counts it), it is not "freed" as if it had stopped,
// and its pinning stays as the agent left it.
TEST_F(DomainFilterOnTheTestDriver, NarrowingDomainsDropsTheAllocationAndLeavesThePinning) {
  LibvirtConnection connection = LibvirtConnection::Open(kUri);
  ASSERT_EQ(NewPinner(connection)->Reconcile().placed, (std::vector<std::string>{"test"}));
  const std::string pinned = Cpus(Pinning());
  connection.UseDomainFilter(OnlyKvhost());
  auto restarted = NewPinner(connection);
  const ReconcileReport r = restarted->Reconcile();
  ASSERT_EQ(r.not_managed.size(), 1u);
  EXPECT_TRUE(Contains(r.not_managed.front(), "test (")) << r.not_managed.front();
  EXPECT_TRUE(Contains(r.not_managed.front(), "allocation dropped, its pinning left as it is"))
      << r.not_managed.front();
  EXPECT_TRUE(r.freed.empty()) << r.freed.front();
  EXPECT_TRUE(restarted->vms().empty());
  EXPECT_EQ(restarted->store().Load().state.allocations_size(), 0);
  EXPECT_EQ(Cpus(Pinning()), pinned);
}

// Capacity (the one loader): a domain outside `domains` is charged nothing,
// as a domain the agent did not place and that holds no CPUs of its own, and a
// saved allocation of it is not counted.
TEST_F(DomainFilterOnTheTestDriver, TheLiveLoaderChargesNothingForADomainOutsideDomains) {
  LibvirtConnection connection = LibvirtConnection::Open(kUri);
  ASSERT_EQ(NewPinner(connection)->Reconcile().placed, (std::vector<std::string>{"test"}));
  const RunningDomains running = GatherRunningDomains({&kvhost_only_}, BuiltinCatalog());
  EXPECT_TRUE(running.domains.empty());
  EXPECT_EQ(running.not_managed_uuids,
            (std::vector<std::string>{observer_.LookupDomain("test").uuid()}));
  AgentConfig config;
  config.placement = PlacementSetting::kAgent;
  config.domains = {"kvhost-*"};
  const LiveHost live = LoadLiveHost({.root = FixturesDir() / kHostFixture,
                                      .state_dir = state_.path(),
                                      .config = config,
                                      .kubelet_config = {},
                                      .running = running},
                                     model_);
  EXPECT_TRUE(live.allocator.placements().empty());
  bool warned = false;
  for (const auto& w : live.warnings) warned |= Contains(w, "outside the config's `domains`");
  EXPECT_TRUE(warned) << "the saved allocation was ignored without a word";
}

// The daemon's loop: a domain outside `domains` that starts is not pinned, and
// its event is no error.
TEST_F(DomainFilterOnTheTestDriver, TheWatchLoopPinsNoDomainOutsideDomainsThatStarts) {
  Pinner pinner(host_, BuiltinCatalog(), StateStore(state_.path()));
  ConnectionSet connections({kUri}, std::nullopt, ConnectionSet::Retrying::kWithBackoff,
                            OnlyKvhost());
  std::atomic<bool> handled{false};
  std::string what;
  WatchOptions options;
  options.refresh_interval = std::chrono::milliseconds(100);
  options.on_ready = [&] {
    const std::string xml =
        "<domain type='test'><name>foreign-vm</name><memory>1048576</memory><vcpu>1</vcpu>"
        "<os><type>hvm</type></os></domain>";
    virDomainPtr d = virDomainCreateXML(connections.Open().front()->raw(), xml.c_str(), 0);
    ASSERT_NE(d, nullptr);
    virDomainFree(d);
  };
  options.on_event_handled = [&](const std::string& event) {
    if (!Contains(event, "foreign-vm")) return;
    what = event;
    handled = true;
  };
  options.stop_requested = [&] { return handled.load(); };
  RunWatchLoop(pinner, connections, options, std::chrono::seconds(10));
  EXPECT_EQ(what, "started foreign-vm (not managed)");
  EXPECT_TRUE(pinner.allocator().placements().empty());
}

// The CLI opens its connections with the config's `domains` too (each agent
// process has a test:///default of its own, "test" running).
TEST(DomainsThroughTheCli, ReconcilePinAndAuditLeaveADomainOutsideDomainsAlone) {
  const char* agent = std::getenv("KVHOST_AGENT");
  ASSERT_TRUE(agent) << "run through ctest: KVHOST_AGENT is unset";
  const TempDir dir;
  const auto run = [&](const std::string& config, std::vector<std::string> words,
                       const std::string& state = "state") {
    std::ofstream(dir.path() / "config.yaml") << config << "controlSocket: \"\"\n";
    std::filesystem::create_directories(dir.path() / state);  // pin refuses a mistyped one
    words.insert(words.begin(), agent);
    for (const std::string& w :
         {std::string("--root"), (FixturesDir() / kHostFixture).string(), std::string("--connect"),
          std::string(kUri), std::string("--config"), (dir.path() / "config.yaml").string(),
          std::string("--state-dir"), (dir.path() / state).string()})
      words.push_back(w);
    return it::RunProcess(words);
  };
  const it::RunResult every = run("", {"reconcile"}, "state-of-every-domain");
  EXPECT_TRUE(Contains(every.out, "placed 1: test\n")) << every.Describe();

  const std::string kvhost = "domains: kvhost-*\n";
  const it::RunResult reconcile = run(kvhost, {"reconcile"});
  EXPECT_TRUE(reconcile.end.Exited(0)) << reconcile.Describe();
  EXPECT_TRUE(Contains(reconcile.out, "placed 0\n")) << reconcile.Describe();
  EXPECT_TRUE(Contains(reconcile.out, "not managed (outside `domains`) 1: test\n"))
      << reconcile.Describe();
  const it::RunResult pin = run(kvhost, {"pin", "test"});
  EXPECT_TRUE(pin.end.Exited(1)) << pin.Describe();
  EXPECT_TRUE(Contains(pin.err,
                       "'test' is not managed by this agent: outside domains "
                       "\"kvhost-*\" (config "))
      << pin.Describe();
  const it::RunResult audit = run(kvhost, {"audit"});
  EXPECT_TRUE(audit.end.Exited(0)) << audit.Describe();
  EXPECT_EQ(audit.out,
            "0 running domain(s) checked, 0 violation(s); 1 outside `domains`, not "
            "checked\n")
      << audit.Describe();
}

}  // namespace
}  // namespace kvhost::testing
