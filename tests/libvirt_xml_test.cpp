// The pure parts of the libvirt edge: XML facts, CPU maps, flag choice and the
// translation of a Placement into pins. No libvirt connection needed.
#include <gtest/gtest.h>
#include <libvirt/libvirt.h>

#include <cstdio>
#include <string>
#include <string_view>

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

// The FormatError's text, or "" when xml_call did not throw one.
template <typename Call>
std::string FormatErrorOf(Call xml_call) {
  try {
    xml_call();
  } catch (const FormatError& e) {
    return e.what();
  }
  return "";
}

TEST(HugepagesInDomainXml, RefusesMalformedXmlWithTheParsersReason) {
  for (std::string_view bad :
       {"", "<domain>", "<domain></domian>", "<domain a='1' a='2'/>", "<domain/><domain/>",
        "<domain>&undeclared;</domain>", "<domain><memoryBacking><hugepages></memoryBacking>",
        "<domain>\x01</domain>", "not xml at all", "<domain><!-- unterminated </domain>"}) {
    std::string error = FormatErrorOf([&] { DomainXmlRequestsHugepages(bad); });
    EXPECT_NE(error.find("domain XML"), std::string::npos) << "accepted: " << bad;
  }
  EXPECT_NE(FormatErrorOf([] {
              DomainXmlRequestsHugepages("<domain>\n<a></b></domain>");
            }).find("line 2"),
            std::string::npos);
  EXPECT_NE(FormatErrorOf([] { DomainXmlRequestsHugepages("<network/>"); }).find("<network>"),
            std::string::npos);
}

TEST(HugepagesInDomainXml, ReadsWhatLibvirtActuallyWrites) {
  // Comments, CDATA, processing instructions and namespaced extensions are all
  // legal in what virDomainGetXMLDesc returns after a user's edit.
  EXPECT_TRUE(DomainXmlRequestsHugepages(
      "<?xml version='1.0'?>\n<!-- edited -->\n<domain type='kvm' "
      "xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>"
      "<description><![CDATA[<memoryBacking/>]]></description>"
      "<memoryBacking><!-- 1G --><hugepages><page size='1048576'/></hugepages></memoryBacking>"
      "<qemu:commandline/></domain>"));
  // A <hugepages> that is not a direct child of <memoryBacking> asks for nothing.
  EXPECT_FALSE(DomainXmlRequestsHugepages(
      "<domain><memoryBacking><source><hugepages/></source></memoryBacking></domain>"));
  EXPECT_FALSE(DomainXmlRequestsHugepages(
      "<domain><devices><memoryBacking><hugepages/></memoryBacking></devices></domain>"));
}

// XXE: an external entity must never be read, whatever it points at. The file
// exists and would turn the answer to true if libxml2 substituted it.
TEST(HugepagesInDomainXml, RefusesDoctypesSoNoEntityIsEverLoaded) {
  std::string injected = ::testing::TempDir() + "kvhost-xxe-hugepages.xml";
  FILE* file = std::fopen(injected.c_str(), "w");
  ASSERT_NE(file, nullptr);
  std::fputs("<hugepages/>", file);
  std::fclose(file);
  for (const std::string& xml :
       {"<!DOCTYPE domain [<!ENTITY x SYSTEM 'file://" + injected +
            "'>]><domain><memoryBacking>&x;</memoryBacking></domain>",
        "<!DOCTYPE domain SYSTEM 'file://" + injected + "'><domain/>",
        std::string("<!DOCTYPE domain [<!ENTITY h '<hugepages/>'>]>"
                    "<domain><memoryBacking>&h;</memoryBacking></domain>")}) {
    EXPECT_NE(FormatErrorOf([&] { DomainXmlRequestsHugepages(xml); }).find("DOCTYPE"),
              std::string::npos)
        << xml;
  }
  EXPECT_NE(FormatErrorOf([] {
              ParseInstanceTypeElement(
                  "<!DOCTYPE instance [<!ENTITY t 'cx1.large'>]><instance type='&t;'/>");
            }).find("DOCTYPE"),
            std::string::npos);
  std::remove(injected.c_str());
}

TEST(HugepagesInDomainXml, RefusesAnEntityExpansionBomb) {
  std::string bomb = "<!DOCTYPE domain [<!ENTITY a0 'hugepages'>";
  for (int level = 1; level <= 12; ++level) {
    std::string previous = "&a" + std::to_string(level - 1) + ";";
    bomb += "<!ENTITY a" + std::to_string(level) + " '" + previous + previous + previous +
            previous + previous + previous + previous + previous + previous + previous + "'>";
  }
  bomb += "]><domain><memoryBacking a='&a12;'/></domain>";
  EXPECT_NE(FormatErrorOf([&] { DomainXmlRequestsHugepages(bomb); }).find("DOCTYPE"),
            std::string::npos);
}

TEST(HugepagesInDomainXml, ReadsLargeDomainsAndRefusesHugeOrDeepInput) {
  std::string devices;
  while (devices.size() < 3u << 20) devices += "<disk type='file'><source file='/x'/></disk>";
  EXPECT_TRUE(DomainXmlRequestsHugepages("<domain><devices>" + devices +
                                         "</devices><memoryBacking><hugepages/>"
                                         "</memoryBacking></domain>"));

  std::string huge = "<domain>" + std::string(kMaxLibvirtXmlBytes, ' ') + "</domain>";
  EXPECT_NE(FormatErrorOf([&] { DomainXmlRequestsHugepages(huge); }).find("bytes, over the"),
            std::string::npos);

  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "<a>";
  EXPECT_NE(FormatErrorOf([&] { DomainXmlRequestsHugepages("<domain>" + deep); }).find("malformed"),
            std::string::npos);
}

TEST(InstanceTypeElement, RefusesMalformedMetadataWithTheParsersReason) {
  EXPECT_NE(FormatErrorOf([] {
              ParseInstanceTypeElement("<instance type='x'/>junk");
            }).find("instance metadata is malformed"),
            std::string::npos);
  EXPECT_NE(FormatErrorOf([] {
              ParseInstanceTypeElement("<instance type='x'>");
            }).find("instance metadata is malformed"),
            std::string::npos);
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
