// The pure parts of the libvirt edge: XML facts, CPU maps, flag choice and the
// translation of a Placement into pins. No libvirt connection needed.
#include <gtest/gtest.h>
#include <libvirt/libvirt.h>

#include "agent/libvirt/affect_flags.h"
#include "agent/libvirt/cpumap.h"
#include "agent/libvirt/desired_pinning.h"
#include "agent/libvirt/domain_xml.h"

namespace kvhost {
namespace {

TEST(InstanceTypeElement, ReadsTheTypeAttributeInBothQuoteStyles) {
  EXPECT_EQ(ParseInstanceTypeElement("<instance type=\"cx1.large\"/>"), "cx1.large");
  EXPECT_EQ(ParseInstanceTypeElement("  <instance type='u1.medium' />"), "u1.medium");
  EXPECT_EQ(ParseInstanceTypeElement(
                "<kvhost:instance xmlns:kvhost=\"https://kvhost.cozystack.io/xmlns/v1\" type = "
                "\"rt1.xlarge\"/>"),
            "rt1.xlarge");
  EXPECT_EQ(ParseInstanceTypeElement("<instance\n  type=\"cx1.large\"></instance>"), "cx1.large");
}

TEST(InstanceTypeElement, DecodesPredefinedEntitiesAndAsciiReferences) {
  EXPECT_EQ(ParseInstanceTypeElement("<instance type=\"a&amp;b&lt;&gt;&quot;&apos;\"/>"),
            "a&b<>\"'");
  EXPECT_EQ(ParseInstanceTypeElement("<instance type=\"cx1&#46;large&#x2E;\"/>"), "cx1.large.");
  EXPECT_THROW(ParseInstanceTypeElement("<instance type=\"&eacute;\"/>"), FormatError);
  EXPECT_THROW(ParseInstanceTypeElement("<instance type=\"&#233;\"/>"), FormatError);
  EXPECT_THROW(ParseInstanceTypeElement("<instance type=\"a&b\"/>"), FormatError);
}

TEST(InstanceTypeElement, IgnoresPrefixedAndOtherAttributes) {
  EXPECT_EQ(ParseInstanceTypeElement("<instance other:type=\"no\" kind=\"x\" type=\"yes\"/>"),
            "yes");
  EXPECT_THROW(ParseInstanceTypeElement("<instance other:type=\"no\"/>"), FormatError);
}

TEST(InstanceTypeElement, RejectsWhatItDoesNotUnderstand) {
  EXPECT_THROW(ParseInstanceTypeElement(""), FormatError);
  EXPECT_THROW(ParseInstanceTypeElement("instance type=\"x\""), FormatError);
  EXPECT_THROW(ParseInstanceTypeElement("<flavor type=\"x\"/>"), FormatError);
  EXPECT_THROW(ParseInstanceTypeElement("<instances type=\"x\"/>"), FormatError);
  EXPECT_THROW(ParseInstanceTypeElement("<instance flavor=\"x\"/>"), FormatError);
  EXPECT_THROW(ParseInstanceTypeElement("<instance type=\"\"/>"), FormatError);
  EXPECT_THROW(ParseInstanceTypeElement("<instance type=x/>"), FormatError);
  EXPECT_THROW(ParseInstanceTypeElement("<instance type=\"x/>"), FormatError);
  EXPECT_THROW(ParseInstanceTypeElement("<instance type=\"x\""), FormatError);
  EXPECT_THROW(ParseInstanceTypeElement("<instance type/>"), FormatError);
  EXPECT_THROW(ParseInstanceTypeElement("<instance type=\"a\" type=\"b\"/>"), FormatError);
}

TEST(HugepagesInDomainXml, SeesMemoryBackingHugepages) {
  EXPECT_TRUE(DomainXmlRequestsHugepages(
      "<domain><memoryBacking>\n  <hugepages/>\n</memoryBacking></domain>"));
  EXPECT_TRUE(
      DomainXmlRequestsHugepages("<domain><memoryBacking><hugepages><page size='1' "
                                 "unit='G'/></hugepages></memoryBacking></domain>"));
  EXPECT_FALSE(DomainXmlRequestsHugepages("<domain><memory>1</memory></domain>"));
  EXPECT_FALSE(DomainXmlRequestsHugepages("<domain><memoryBacking/></domain>"));
  EXPECT_FALSE(DomainXmlRequestsHugepages(
      "<domain><memoryBacking><nosharepages/></memoryBacking></domain>"));
  EXPECT_FALSE(DomainXmlRequestsHugepages(
      "<domain><memoryBacking><hugepagesish/></memoryBacking><hugepages/></domain>"));
}

TEST(HugepagesInDomainXml, IgnoresOtherApplicationsMetadata) {
  EXPECT_FALSE(
      DomainXmlRequestsHugepages("<domain><metadata><memoryBacking "
                                 "xmlns='urn:x'><hugepages/></memoryBacking></metadata></domain>"));
  EXPECT_TRUE(DomainXmlRequestsHugepages(
      "<domain><metadata/><memoryBacking><hugepages/></memoryBacking></domain>"));
  EXPECT_THROW(DomainXmlRequestsHugepages("<domain><metadata><x/></domain>"), FormatError);
  EXPECT_THROW(DomainXmlRequestsHugepages("<domain><memoryBacking><hugepages/></domain>"),
               FormatError);
}

TEST(Cpumap, RoundTripsAndRefusesCpusBeyondTheHost) {
  CpuSet cpus = ParseCpuList("0,3,8-9,15");
  std::vector<unsigned char> map = CpuSetToCpumap(cpus, 16);
  ASSERT_EQ(map.size(), 2u);
  EXPECT_EQ(map[0], 0x09);
  EXPECT_EQ(map[1], 0x83);
  EXPECT_EQ(CpumapToCpuSet(map.data(), map.size()), cpus);
  EXPECT_EQ(CpumapLength(17), 3u);
  EXPECT_THROW(CpuSetToCpumap(CpuSet::Range(16, 16), 16), std::out_of_range);
}

TEST(AffectFlags, RealDriversChangeLiveAndConfigOfARunningPersistentDomain) {
  AffectFlags flags =
      ChooseAffectFlags(HypervisorDriver::kOther, {.running = true, .persistent = true});
  EXPECT_EQ(flags.pin, unsigned{VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_AFFECT_CONFIG});
  EXPECT_EQ(flags.numa, flags.pin);
  EXPECT_EQ(flags.numa_next_start, std::optional<unsigned>(VIR_DOMAIN_AFFECT_CONFIG));
  EXPECT_EQ(flags.verify,
            (std::vector<unsigned>{VIR_DOMAIN_AFFECT_LIVE, VIR_DOMAIN_AFFECT_CONFIG}));
  EXPECT_EQ(DescribeAffectFlags(flags.pin), "live+config");
}

TEST(AffectFlags, RealDriversUseConfigWhenStoppedAndLiveWhenTransient) {
  AffectFlags stopped =
      ChooseAffectFlags(HypervisorDriver::kOther, {.running = false, .persistent = true});
  EXPECT_EQ(stopped.pin, unsigned{VIR_DOMAIN_AFFECT_CONFIG});
  EXPECT_FALSE(stopped.numa_next_start);
  AffectFlags transient =
      ChooseAffectFlags(HypervisorDriver::kOther, {.running = true, .persistent = false});
  EXPECT_EQ(transient.pin, unsigned{VIR_DOMAIN_AFFECT_LIVE});
  EXPECT_FALSE(transient.numa_next_start);
}

TEST(AffectFlags, TestDriverFallsBackToCurrent) {
  AffectFlags flags =
      ChooseAffectFlags(HypervisorDriver::kTest, {.running = true, .persistent = true});
  EXPECT_EQ(flags.pin, unsigned{VIR_DOMAIN_AFFECT_CURRENT});
  EXPECT_EQ(flags.numa, unsigned{VIR_DOMAIN_AFFECT_CURRENT});
  EXPECT_EQ(flags.numa_next_start, std::optional<unsigned>(VIR_DOMAIN_AFFECT_CONFIG));
  EXPECT_EQ(flags.verify, std::vector<unsigned>{VIR_DOMAIN_AFFECT_CURRENT});
  EXPECT_EQ(DescribeAffectFlags(flags.pin), "current");
}

Placement DedicatedPlacement() {
  Placement placement;
  placement.vm = "vm";
  placement.dedicated = true;
  placement.vcpu_cpus = {2, 3, 10, 11};
  placement.numa_nodes = {1};
  return placement;
}

TEST(DesiredPinning, DedicatedPinsEachVcpuAndKeepsTheEmulatorOnTheVmsOwnCpus) {
  DesiredPinning desired = PinningForPlacement(DedicatedPlacement(), "domain 'vm'", 4);
  ASSERT_EQ(desired.vcpus.size(), 4u);
  EXPECT_EQ(desired.vcpus[2].ToList(), "10");
  ASSERT_TRUE(desired.emulator);
  EXPECT_EQ(desired.emulator->ToList(), "2-3,10-11");
  ASSERT_TRUE(desired.strict_numa_nodes);
  EXPECT_EQ(desired.strict_numa_nodes->ToList(), "1");

  Placement isolated = DedicatedPlacement();
  isolated.emulator_cpu = 12;
  EXPECT_EQ(PinningForPlacement(isolated, "domain 'vm'", 4).emulator->ToList(), "12");
}

TEST(DesiredPinning, RefusesAPlacementThatDoesNotCoverTheDomain) {
  try {
    PinningForPlacement(DedicatedPlacement(), "domain 'vm'", 8);
    FAIL() << "expected PlacementApplyError";
  } catch (const PlacementApplyError& e) {
    EXPECT_NE(std::string(e.what()).find("domain 'vm'"), std::string::npos) << e.what();
  }
  Placement shared;
  EXPECT_THROW(PinningForPlacement(shared, "domain 'vm'", 2), PlacementApplyError);
  EXPECT_THROW(PinningForUnpin(CpuSet(), 2), PlacementApplyError);
}

TEST(DesiredPinning, SharedFloatsEveryVcpuAndTheEmulatorOnThePool) {
  Placement shared;
  shared.shared_cpus = ParseCpuList("4-7");
  DesiredPinning desired = PinningForPlacement(shared, "domain 'vm'", 3);
  ASSERT_EQ(desired.vcpus.size(), 3u);
  for (const CpuSet& cpus : desired.vcpus) EXPECT_EQ(cpus.ToList(), "4-7");
  EXPECT_EQ(desired.emulator->ToList(), "4-7");
  EXPECT_FALSE(desired.strict_numa_nodes);
}

}  // namespace
}  // namespace kvhost
