// A bad catalog stops the agent with "<file>:<line>: <reason>"; each case
// checks all three, mostly on a valid document with a few lines changed.
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "agent/yaml/yaml_catalog.h"

namespace kvhost {
namespace {

// Line numbers in the tests refer to these documents.
constexpr std::string_view kValidCx1 = R"(apiVersion: instancetype.kubevirt.io/v1beta1
kind: VirtualMachineClusterInstancetype
metadata:
  name: cx1.large
spec:
  cpu:
    guest: 2
    dedicatedCPUPlacement: true
    isolateEmulatorThread: true
    numa:
      guestMappingPassthrough: {}
  memory:
    guest: 4Gi
    hugepages:
      pageSize: 2Mi
)";

constexpr std::string_view kValidO1 = R"(apiVersion: instancetype.kubevirt.io/v1beta1
kind: VirtualMachineClusterInstancetype
metadata:
  name: o1.large
spec:
  cpu:
    guest: 2
  memory:
    guest: 8Gi
    overcommitPercent: 50
)";

// `document` with its 1-based lines replaced ("" drops the line).
std::string Edit(std::string_view document, const std::map<unsigned, std::string>& replacements) {
  std::istringstream in{std::string(document)};
  std::string out, current;
  for (unsigned number = 1; std::getline(in, current); ++number) {
    const auto it = replacements.find(number);
    if (it == replacements.end())
      out += current + "\n";
    else if (!it->second.empty())
      out += it->second + "\n";
  }
  return out;
}

void ExpectCatalogError(const std::string& yaml, unsigned line, const std::string& reason_part) {
  try {
    ParseCatalogYaml(yaml, "bad.yaml");
    ADD_FAILURE() << "no error; expected line " << line << ": " << reason_part;
  } catch (const CatalogError& e) {
    EXPECT_EQ(e.file(), "bad.yaml");
    EXPECT_EQ(e.line(), line) << e.what();
    EXPECT_NE(e.reason().find(reason_part), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()), "bad.yaml:" + std::to_string(line) + ": " + e.reason());
  }
}

TEST(CatalogErrors, TheBaseDocumentsAreValid) {
  EXPECT_EQ(ParseCatalogYaml(kValidCx1, "good.yaml").types.size(), 1u);
  EXPECT_EQ(ParseCatalogYaml(kValidO1, "good.yaml").types.size(), 1u);
  // 1536Mi is 768 pages of 2Mi.
  EXPECT_EQ(
      ParseCatalogYaml(Edit(kValidCx1, {{13, "    guest: 1536Mi"}}), "good.yaml").types.size(), 1u);
}

TEST(CatalogErrors, CpuGuestMustBeAPositiveInteger) {
  ExpectCatalogError(Edit(kValidCx1, {{7, "    guest: 0"}}), 7,
                     "spec.cpu.guest must be a positive integer, got 0");
  ExpectCatalogError(Edit(kValidCx1, {{7, "    guest: two"}}), 7,
                     "spec.cpu.guest must be a non-negative integer, got 'two'");
  ExpectCatalogError(Edit(kValidCx1, {{7, "    guest: -1"}}), 7, "got '-1'");
  ExpectCatalogError(Edit(kValidCx1, {{7, "    guest: [2]"}}), 7,
                     "spec.cpu.guest must be a single value");
}

TEST(CatalogErrors, NameIsRequiredAndUnique) {
  ExpectCatalogError(Edit(kValidCx1, {{4, "  labels: {}"}}), 4, "metadata.name is required");
  ExpectCatalogError(Edit(kValidCx1, {{4, "  name: \"\""}}), 4, "metadata.name is empty");
  // The second document starts after the 15 lines of the first and its "---".
  ExpectCatalogError(std::string(kValidCx1) + "---\n" + std::string(kValidCx1), 17,
                     "instance type cx1.large is defined twice (first at line 1)");
}

TEST(CatalogErrors, LinesCountFromTheStartOfTheFileAcrossDocuments) {
  ExpectCatalogError(std::string(kValidO1) + "---\n" + Edit(kValidCx1, {{7, "    guest: 0"}}),
                     11 + 7, "spec.cpu.guest must be a positive integer");
}

TEST(CatalogErrors, GuestCpuAndMemoryAreRequired) {
  ExpectCatalogError(Edit(kValidCx1, {{7, ""}}), 6, "cx1.large: spec.cpu.guest is required");
  ExpectCatalogError(Edit(kValidCx1, {{13, ""}}), 6, "cx1.large: spec.memory.guest is required");
}

TEST(CatalogErrors, MemoryMustBeAKubernetesQuantity) {
  ExpectCatalogError(Edit(kValidCx1, {{13, "    guest: 4GB"}}), 13,
                     "spec.memory.guest: bad quantity '4GB': unknown unit 'GB'");
  ExpectCatalogError(Edit(kValidCx1, {{13, "    guest: lots"}}), 13,
                     "does not start with a number");
  ExpectCatalogError(Edit(kValidCx1, {{13, "    guest: 0Gi"}}), 13,
                     "spec.memory.guest must be more than 0");
}

TEST(CatalogErrors, OnlyTwoMiAndOneGiPagesAreSupported) {
  ExpectCatalogError(Edit(kValidCx1, {{15, "      pageSize: 4Mi"}}), 15,
                     "spec.memory.hugepages.pageSize 4Mi is not supported (use 2Mi or 1Gi)");
  ExpectCatalogError(Edit(kValidCx1, {{15, "      pageSize: big"}}), 15,
                     "spec.memory.hugepages.pageSize: bad quantity 'big'");
  ExpectCatalogError(Edit(kValidCx1, {{14, "    hugepages: {}"}, {15, ""}}), 14,
                     "spec.memory.hugepages.pageSize is required");
}

TEST(CatalogErrors, MemoryMustFillWholeHugepages) {
  ExpectCatalogError(Edit(kValidCx1, {{13, "    guest: 1536Mi"}, {15, "      pageSize: 1Gi"}}), 13,
                     "spec.memory.guest 1536Mi is not a whole number of 1Gi hugepages");
}

TEST(CatalogErrors, OvercommitPercentIsZeroToHundredAndNeverWithHugepages) {
  ExpectCatalogError(Edit(kValidO1, {{10, "    overcommitPercent: 150"}}), 10,
                     "spec.memory.overcommitPercent must be at most 100, got 150");
  ExpectCatalogError(Edit(kValidO1, {{10, "    overcommitPercent: -5"}}), 10, "got '-5'");
  ExpectCatalogError(std::string(kValidCx1) + "    overcommitPercent: 50\n", 16,
                     "spec.memory.overcommitPercent cannot be combined with spec.memory.hugepages");
}

TEST(CatalogErrors, PlacementFlagsFollowKubevirtsAdmissionRules) {
  ExpectCatalogError(Edit(kValidCx1, {{8, "    dedicatedCPUPlacement: false"}}), 9,
                     "spec.cpu.isolateEmulatorThread needs spec.cpu.dedicatedCPUPlacement: true");
  // Dropping line 9 moves guestMappingPassthrough up to line 10.
  ExpectCatalogError(
      Edit(kValidCx1, {{8, "    dedicatedCPUPlacement: false"}, {9, ""}}), 10,
      "spec.cpu.numa.guestMappingPassthrough needs spec.cpu.dedicatedCPUPlacement: true");
  ExpectCatalogError(Edit(kValidCx1, {{14, ""}, {15, ""}}), 11,
                     "spec.cpu.numa.guestMappingPassthrough needs spec.memory.hugepages");
  ExpectCatalogError(Edit(kValidCx1, {{10, "    realtime: {}"}, {11, ""}}), 10,
                     "spec.cpu.realtime needs spec.cpu.numa.guestMappingPassthrough");
  ExpectCatalogError(
      Edit(kValidCx1,
           {{8, "    dedicatedCPUPlacement: false"}, {9, ""}, {10, "    realtime: {}"}, {11, ""}}),
      9, "spec.cpu.realtime needs spec.cpu.dedicatedCPUPlacement: true");
}

TEST(CatalogErrors, FlagsHaveTheirKubernetesTypes) {
  ExpectCatalogError(Edit(kValidCx1, {{8, "    dedicatedCPUPlacement: maybe"}}), 8,
                     "spec.cpu.dedicatedCPUPlacement must be true or false, got 'maybe'");
  ExpectCatalogError(Edit(kValidCx1, {{11, "      guestMappingPassthrough: true"}}), 11,
                     "spec.cpu.numa.guestMappingPassthrough must be an object such as {}");
  ExpectCatalogError(Edit(kValidCx1, {{4, "  name: cx1.large\n  labels: {size: [large]}"}}), 5,
                     "metadata.labels.size must be a single value");
}

TEST(CatalogErrors, GpusNeedADeviceName) {
  ExpectCatalogError(std::string(kValidO1) + "  gpus:\n  - name: gpu1\n", 12,
                     "spec.gpus[] needs a deviceName");
  ExpectCatalogError(std::string(kValidO1) + "  gpus: nvidia.com/A400\n", 11,
                     "spec.gpus must be a list");
}

TEST(CatalogErrors, RepeatedKeysAreRefused) {
  ExpectCatalogError(Edit(kValidCx1, {{7, "    guest: 2\n    guest: 4"}}), 8,
                     "spec.cpu repeats the key 'guest'");
}

TEST(CatalogErrors, DocumentsMustBeKubernetesObjects) {
  ExpectCatalogError("- cx1.large\n- cx1.xlarge\n", 1, "a document must be a Kubernetes object");
  ExpectCatalogError("apiVersion: v1\nmetadata: {name: x}\n", 1, "document has no kind");
  ExpectCatalogError(Edit(kValidCx1, {{1, ""}}), 1, "document has no apiVersion");
  // Two objects pasted together without "---": the second apiVersion is on line 16.
  ExpectCatalogError(std::string(kValidCx1) + std::string(kValidO1), 16,
                     "document repeats the key 'apiVersion'");
}

TEST(CatalogErrors, BrokenYamlNamesTheLine) {
  ExpectCatalogError("apiVersion: instancetype.kubevirt.io/v1beta1\nkind: [unclosed\n", 3,
                     "invalid YAML");
  ExpectCatalogError(Edit(kValidCx1, {{7, "    guest: 2\n   bad indent: 1"}}), 8, "invalid YAML");
}

TEST(CatalogErrors, AMissingFileNamesTheFile) {
  try {
    LoadCatalogYaml("/nonexistent/kvhost/catalog.yaml");
    ADD_FAILURE() << "no error";
  } catch (const CatalogError& e) {
    EXPECT_EQ(e.file(), "/nonexistent/kvhost/catalog.yaml");
    EXPECT_EQ(e.line(), 0u);
    EXPECT_EQ(std::string(e.what()),
              "/nonexistent/kvhost/catalog.yaml: cannot open: No such file or directory");
  }
}

}  // namespace
}  // namespace kvhost

namespace kvhost {
namespace {

// A typo in a placement key would silently make a dedicated type shared.
TEST(CatalogErrors, AnUnknownSpecKeyIsAnErrorThatSuggestsTheSpelling) {
  ExpectCatalogError(Edit(kValidCx1, {{8, "    dedicatedCPUPlacment: true"}}), 8,
                     "spec.cpu: unknown key 'dedicatedCPUPlacment' (did you mean "
                     "'dedicatedCPUPlacement'?)");
  ExpectCatalogError(Edit(kValidCx1, {{14, "    hugePages:"}}), 14,
                     "spec.memory: unknown key 'hugePages' (did you mean 'hugepages'?)");
  ExpectCatalogError(Edit(kValidO1, {{5, "spec:\n  wibble: 1"}}), 6,
                     "spec: unknown key 'wibble' (known keys: cpu memory");
}

TEST(CatalogErrors, AMisspeltOrUnknownInstancetypeKindIsAnError) {
  ExpectCatalogError(Edit(kValidCx1, {{2, "kind: VirtualMachineClusterInstanceType"}}), 2,
                     "kind VirtualMachineClusterInstanceType is not a kind of "
                     "instancetype.kubevirt.io: (did you mean "
                     "'VirtualMachineClusterInstancetype'?)");
  ExpectCatalogError(Edit(kValidCx1, {{2, "kind: Sizes"}}), 2, "kind Sizes is not a kind");
  // Preferences of the same bundle, and objects of other groups, are skipped.
  EXPECT_TRUE(
      ParseCatalogYaml(Edit(kValidCx1, {{2, "kind: VirtualMachineClusterPreference"}}), "ok.yaml")
          .types.empty());
  EXPECT_TRUE(ParseCatalogYaml("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", "ok.yaml")
                  .types.empty());
}

// fuzz_catalog: a skipped document whose metadata has no name threw yaml-cpp's
// InvalidNode out of the reader (fuzz/corpus/catalog/regression-unnamed-skipped).
TEST(CatalogErrors, ADocumentWithoutANameIsPassedOver) {
  EXPECT_TRUE(ParseCatalogYaml("apiVersion: instancetype.kubevirt.io/v0beta1\n"
                               "kind: VirtualMachineClusterInstancetype\n"
                               "metadata:\n  labels: {}\n",
                               "old.yaml")
                  .types.empty());
  // Missing keys are yaml-cpp "zombie" nodes whose type queries throw.
  EXPECT_TRUE(ParseCatalogYaml("apiVersion: instancetype.kubevirt.io/v0beta1\n"
                               "kind: VirtualMachineInstancetype\n",
                               "old.yaml")
                  .types.empty());
  EXPECT_TRUE(ParseCatalogYaml("kind: ConfigMapList\n", "list.yaml").types.empty());
  EXPECT_TRUE(ParseCatalogYaml("kind: ConfigMap\n", "cm.yaml").types.empty());
}

// yaml-cpp stops at 500 levels but says only "bad file".
TEST(CatalogErrors, TooDeepYamlSaysSo) {
  ExpectCatalogError("spec: " + std::string(2000, '['), 1, "invalid YAML: nested deeper than");
}

TEST(CatalogErrors, MilliBytesOfMemoryAreAnError) {
  ExpectCatalogError(Edit(kValidO1, {{9, "    guest: 1m"}}), 9, "did you mean M or Mi?");
}

}  // namespace
}  // namespace kvhost
