// The libvirt edge against libvirt's built-in test:/// driver: opening,
// listing with our metadata, pinning from a Placement, unpinning, and the
// errors a vanished domain or a refused call turn into.
#include <gtest/gtest.h>
#include <libvirt/libvirt.h>

#include <algorithm>

#include "agent/libvirt/connection.h"
#include "agent/libvirt/placement_applier.h"
#include "libvirt_test_support.h"

namespace kvhost {
namespace {

using testing::DefineDomain;
using testing::NodeXmlUri;
using testing::OpenTestNode;
using testing::TestDomainXml;

const DomainSummary& Find(const std::vector<DomainSummary>& summaries, const std::string& name) {
  auto it = std::find_if(summaries.begin(), summaries.end(),
                         [&](const DomainSummary& s) { return s.name == name; });
  if (it == summaries.end()) throw std::runtime_error("no domain " + name);
  return *it;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

Placement DedicatedPlacement(const std::string& vm) {
  Placement placement;
  placement.vm = vm;
  placement.instance_type = "cx1.large";
  placement.dedicated = true;
  placement.vcpu_cpus = {2, 3, 10, 11};
  placement.emulator_cpu = 12;
  placement.numa_nodes = {1};
  return placement;
}

TEST(LibvirtConnection, OpenErrorsNameTheUriAndLibvirtsReason) {
  try {
    LibvirtConnection::Open("test:///no/such/node.xml");
    FAIL() << "expected LibvirtError";
  } catch (const LibvirtError& e) {
    EXPECT_TRUE(Contains(e.what(), "test:///no/such/node.xml")) << e.what();
    EXPECT_FALSE(e.libvirt_message().empty());
    EXPECT_NE(e.libvirt_code(), 0);
  }
  EXPECT_THROW(LibvirtConnection::Open("nosuchdriver:///system"), LibvirtError);
}

TEST(LibvirtConnection, RecognisesTheTestDriverAndItsCpus) {
  LibvirtConnection connection = OpenTestNode();
  EXPECT_EQ(connection.driver(), HypervisorDriver::kTest);
  EXPECT_EQ(connection.uri(), NodeXmlUri());
  EXPECT_EQ(connection.HostCpuCount(), 16u);  // 2 nodes x 1 socket x 4 cores x 2 threads
}

TEST(LibvirtConnection, ListsEveryDomainWithMetadataAndHugepages) {
  std::vector<DomainSummary> domains = OpenTestNode().ListDomainSummaries();
  ASSERT_EQ(domains.size(), 5u);

  const DomainSummary& dedicated = Find(domains, "worker-dedicated");
  EXPECT_EQ(dedicated.uuid, "6f1c2a10-0000-4000-8000-000000000001");
  EXPECT_EQ(dedicated.state, DomainState::kRunning);
  EXPECT_TRUE(dedicated.active);
  EXPECT_TRUE(dedicated.persistent);
  EXPECT_EQ(dedicated.vcpus, 4u);
  EXPECT_EQ(dedicated.memory_kib, 4194304u);
  EXPECT_EQ(dedicated.instance_type, std::optional<std::string>("cx1.large"));
  EXPECT_TRUE(dedicated.hugepages);

  const DomainSummary& stopped = Find(domains, "worker-stopped");
  EXPECT_EQ(stopped.state, DomainState::kShutoff);
  EXPECT_FALSE(stopped.active);
  EXPECT_EQ(stopped.vcpus, 2u);
  EXPECT_EQ(stopped.instance_type, std::optional<std::string>("u1.medium&x"));
  EXPECT_FALSE(stopped.hugepages);

  const DomainSummary& plain = Find(domains, "worker-plain");
  EXPECT_FALSE(plain.instance_type);
  EXPECT_TRUE(plain.metadata_problem.empty());

  const DomainSummary& odd = Find(domains, "worker-odd-metadata");
  EXPECT_FALSE(odd.instance_type);
  EXPECT_TRUE(Contains(odd.metadata_problem, "type")) << odd.metadata_problem;
  EXPECT_FALSE(odd.hugepages);  // <other:hugepages> in foreign metadata is not ours
}

TEST(LibvirtConnection, SeesMetadataOfDomainsDefinedOnTheDefaultDriver) {
  LibvirtConnection connection = LibvirtConnection::Open("test:///default");
  DomainHandle handle =
      DefineDomain(connection, TestDomainXml("edge-defined-with-metadata", 3, "rt1.small"));
  LibvirtDomain domain(std::move(handle));
  DomainSummary summary = connection.LookupDomain("edge-defined-with-metadata").Summarize();
  EXPECT_EQ(summary.instance_type, std::optional<std::string>("rt1.small"));
  EXPECT_EQ(summary.vcpus, 3u);
  EXPECT_EQ(summary.state, DomainState::kShutoff);
  EXPECT_EQ(connection.LookupDomain(summary.uuid).name(), "edge-defined-with-metadata");
  EXPECT_EQ(virDomainUndefine(domain.raw()), 0);
}

TEST(LibvirtConnection, LookingUpAMissingDomainIsADomainVanishedError) {
  LibvirtConnection connection = OpenTestNode();
  try {
    connection.LookupDomain("no-such-vm");
    FAIL() << "expected LibvirtError";
  } catch (const LibvirtError& e) {
    EXPECT_TRUE(e.DomainVanished()) << e.what();
    EXPECT_TRUE(Contains(e.what(), "no-such-vm")) << e.what();
  }
}

TEST(PinningReader, ReadsVcpuEmulatorAndNumaPinning) {
  LibvirtConnection connection = OpenTestNode();
  LibvirtDomain domain = connection.LookupDomain("worker-interleave");
  DomainPinning pinning = ReadPinning(connection, domain, VIR_DOMAIN_AFFECT_CURRENT);
  ASSERT_EQ(pinning.vcpus.size(), 2u);
  EXPECT_EQ(pinning.vcpus[0].ToList(), "0-15");  // unpinned: every host CPU
  ASSERT_TRUE(pinning.numa);
  EXPECT_EQ(pinning.numa->mode, "interleave");
  EXPECT_EQ(pinning.numa->nodeset.ToList(), "0-1");

  DomainPinning plain =
      ReadPinning(connection, connection.LookupDomain("worker-plain"), VIR_DOMAIN_AFFECT_CURRENT);
  EXPECT_FALSE(plain.numa);
}

TEST(PlacementApplier, AppliesADedicatedPlacementAndVerifiesIt) {
  LibvirtConnection connection = OpenTestNode();
  LibvirtDomain domain = connection.LookupDomain("worker-dedicated");
  ApplyReport report = ApplyPlacement(connection, domain, DedicatedPlacement("worker-dedicated"));
  EXPECT_EQ(report.domain, "worker-dedicated");
  EXPECT_EQ(report.pin_flags, unsigned{VIR_DOMAIN_AFFECT_CURRENT});
  EXPECT_EQ(report.numa, NumaOutcome::kApplied);

  // Read back independently of the report.
  DomainPinning pinning = ReadPinning(connection, domain, VIR_DOMAIN_AFFECT_CURRENT);
  ASSERT_EQ(pinning.vcpus.size(), 4u);
  EXPECT_EQ(pinning.vcpus[0].ToList(), "2");
  EXPECT_EQ(pinning.vcpus[1].ToList(), "3");
  EXPECT_EQ(pinning.vcpus[2].ToList(), "10");
  EXPECT_EQ(pinning.vcpus[3].ToList(), "11");
  ASSERT_TRUE(pinning.emulator);
  EXPECT_EQ(pinning.emulator->ToList(), "12");
  ASSERT_TRUE(pinning.numa);
  EXPECT_EQ(pinning.numa->mode, "strict");
  EXPECT_EQ(pinning.numa->nodeset.ToList(), "1");
}

TEST(PlacementApplier, AppliesASharedPlacementByUuid) {
  LibvirtConnection connection = OpenTestNode();
  LibvirtDomain domain = connection.LookupDomain("6f1c2a10-0000-4000-8000-000000000004");
  Placement shared;
  shared.vm = domain.uuid();
  shared.shared_cpus = ParseCpuList("4-7");
  ApplyReport report = ApplyPlacement(connection, domain, shared);
  EXPECT_EQ(report.numa, NumaOutcome::kNotRequested);
  ASSERT_EQ(report.read_back.vcpus.size(), 2u);
  EXPECT_EQ(report.read_back.vcpus[1].ToList(), "4-7");
  EXPECT_EQ(report.read_back.emulator->ToList(), "4-7");
}

TEST(PlacementApplier, RefusedLiveNumatuneAppliesAtNextStart) {
  LibvirtConnection connection = OpenTestNode();
  LibvirtDomain domain = connection.LookupDomain("worker-interleave");
  Placement placement;
  placement.vm = "worker-interleave";
  placement.dedicated = true;
  placement.vcpu_cpus = {5, 6};
  placement.numa_nodes = {0};
  ApplyReport report = ApplyPlacement(connection, domain, placement);
  EXPECT_EQ(report.numa, NumaOutcome::kAppliesAtNextStart);
  EXPECT_TRUE(Contains(report.numa_deferred_reason, "numatune")) << report.numa_deferred_reason;
  EXPECT_EQ(NumaOutcomeName(report.numa), "applies at next start");

  DomainPinning live = ReadPinning(connection, domain, VIR_DOMAIN_AFFECT_LIVE);
  EXPECT_EQ(live.numa->mode, "interleave");
  EXPECT_EQ(live.vcpus[1].ToList(), "6");  // the CPU pins did apply now
  DomainPinning config = ReadPinning(connection, domain, VIR_DOMAIN_AFFECT_CONFIG);
  EXPECT_EQ(config.numa->mode, "strict");
  EXPECT_EQ(config.numa->nodeset.ToList(), "0");
}

TEST(PlacementApplier, UnpinReturnsEveryVcpuAndTheEmulatorToTheOnlineCpus) {
  LibvirtConnection connection = OpenTestNode();
  LibvirtDomain domain = connection.LookupDomain("worker-dedicated");
  ApplyPlacement(connection, domain, DedicatedPlacement("worker-dedicated"));
  CpuSet online = ParseCpuList("0-15");
  ApplyReport report = UnpinDomain(connection, domain, online);
  EXPECT_EQ(report.numa, NumaOutcome::kNotRequested);
  DomainPinning pinning = ReadPinning(connection, domain, VIR_DOMAIN_AFFECT_CURRENT);
  for (const CpuSet& cpus : pinning.vcpus) EXPECT_EQ(cpus, online);
  EXPECT_EQ(pinning.emulator, std::optional<CpuSet>(online));
  EXPECT_EQ(pinning.numa->nodeset.ToList(), "1");  // unpin leaves the memory binding alone
}

TEST(PlacementApplier, RefusesCpusTheHostDoesNotHaveBeforeCallingLibvirt) {
  LibvirtConnection connection = OpenTestNode();
  LibvirtDomain domain = connection.LookupDomain("worker-dedicated");
  Placement placement = DedicatedPlacement("worker-dedicated");
  placement.vcpu_cpus[3] = 40;
  try {
    ApplyPlacement(connection, domain, placement);
    FAIL() << "expected PlacementApplyError";
  } catch (const PlacementApplyError& e) {
    EXPECT_TRUE(Contains(e.what(), "worker-dedicated")) << e.what();
    EXPECT_TRUE(Contains(e.what(), "CPU 40")) << e.what();
  }
  // libvirt itself would have taken that pin and dropped the CPU silently.
  EXPECT_EQ(ReadPinning(connection, domain, VIR_DOMAIN_AFFECT_CURRENT).vcpus[3].ToList(), "0-15");
}

// A shared placement on CPUs 0-3 that libvirt must refuse: the error it gave.
// Throws (failing the test) when the placement was applied instead.
LibvirtError SharedPlacementRefusal(const LibvirtConnection& connection,
                                    const LibvirtDomain& domain) {
  Placement placement;
  placement.shared_cpus = ParseCpuList("0-3");
  try {
    ApplyPlacement(connection, domain, placement);
  } catch (const LibvirtError& e) {
    return e;
  }
  throw std::logic_error("expected a LibvirtError: the placement was applied");
}

TEST(PlacementApplier, AVanishedDomainIsAnErrorNamingIt) {
  LibvirtConnection connection = OpenTestNode();
  LibvirtDomain domain = connection.LookupDomain("worker-plain");
  ASSERT_EQ(virDomainDestroy(domain.raw()), 0);
  ASSERT_EQ(virDomainUndefine(domain.raw()), 0);
  const LibvirtError e = SharedPlacementRefusal(connection, domain);
  EXPECT_TRUE(e.DomainVanished()) << e.what();
  EXPECT_TRUE(Contains(e.what(), "worker-plain")) << e.what();
  EXPECT_TRUE(Contains(e.libvirt_message(), "not found")) << e.libvirt_message();
  EXPECT_THROW(domain.Summarize(), LibvirtError);
  EXPECT_THROW(ReadPinning(connection, domain, VIR_DOMAIN_AFFECT_CURRENT), LibvirtError);
  // Listing skips it instead of failing.
  EXPECT_EQ(connection.ListDomainSummaries().size(), 4u);
}

// The test driver refuses vCPU pins on an inactive domain (qemu would write
// the config); the refusal still surfaces as an error naming the domain.
TEST(PlacementApplier, TestDriverRefusalOnAStoppedDomainIsAnError) {
  LibvirtConnection connection = OpenTestNode();
  LibvirtDomain domain = connection.LookupDomain("worker-stopped");
  const LibvirtError e = SharedPlacementRefusal(connection, domain);
  EXPECT_FALSE(e.DomainVanished());
  EXPECT_TRUE(Contains(e.what(), "pin vCPU 0 of domain 'worker-stopped'")) << e.what();
  EXPECT_TRUE(Contains(e.libvirt_message(), "inactive")) << e.libvirt_message();
}

}  // namespace
}  // namespace kvhost
