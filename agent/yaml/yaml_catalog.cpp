#include "agent/yaml/yaml_catalog.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <span>

#include "agent/catalog/catalog.h"
#include "agent/catalog/quantity.h"
#include "agent/yaml/yaml_input.h"

namespace kvhost {
namespace {

constexpr std::string_view kApiGroupPrefix = "instancetype.kubevirt.io/";
// v1 is v1beta1 promoted without instancetype changes (KubeVirt VEP 17); once
// common-instancetypes moves to it, skipping it would silently empty the catalog.
constexpr std::array<std::string_view, 3> kReadableVersions = {"v1beta1", "v1alpha2", "v1"};
// No host has more logical CPUs; a bigger guest count is a typo, not a VM.
constexpr uint64_t kMaxGuestVcpus = 65536;
// yaml-cpp holds about 64 bytes of nodes per byte of YAML and parses about
// 1 MB/s here (a 10 MB, 62k-type file: 643 MB, 12 s). 2 MiB is ten times
// KubeVirt's whole common-instancetypes bundle and parses in about 2 s.
constexpr size_t kMaxCatalogFileBytes = 2u << 20;
constexpr std::string_view kCatalogLimitWhy =
    "ten times KubeVirt's whole common-instancetypes bundle; split a bigger catalog into several "
    "--catalog files";
constexpr uint64_t k2MiPageBytes = 2ull << 20;
constexpr uint64_t k1GiPageBytes = 1ull << 30;

constexpr std::string_view kKindsOfTheGroup[] = {
    "VirtualMachineClusterInstancetype", "VirtualMachineInstancetype",
    "VirtualMachineClusterPreference", "VirtualMachinePreference"};

bool IsInstancetypeKind(std::string_view kind) {
  return kind == "VirtualMachineClusterInstancetype" || kind == "VirtualMachineInstancetype";
}

bool IsReadableApiVersion(std::string_view api_version) {
  if (api_version.substr(0, kApiGroupPrefix.size()) != kApiGroupPrefix) return false;
  const std::string_view version = api_version.substr(kApiGroupPrefix.size());
  for (std::string_view readable : kReadableVersions)
    if (version == readable) return true;
  return false;
}

// Every field of KubeVirt's instancetype spec (v1beta1), read or knowingly
// ignored: anything else is a typo, and a typo such as "dedicatedCPUPlacment"
// would silently turn a dedicated type into a shared one.
constexpr std::string_view kSpecKeys[] = {
    "cpu",       "memory",      "gpus",           "annotations",  "ioThreadsPolicy",
    "ioThreads", "hostDevices", "launchSecurity", "nodeSelector", "schedulerName"};
constexpr std::string_view kCpuKeys[] = {
    "guest", "dedicatedCPUPlacement", "isolateEmulatorThread", "numa", "realtime", "maxSockets",
    "model"};
constexpr std::string_view kNumaKeys[] = {"guestMappingPassthrough"};
constexpr std::string_view kMemoryKeys[] = {"guest", "hugepages", "overcommitPercent", "maxGuest"};
constexpr std::string_view kHugepagesKeys[] = {"pageSize"};
constexpr std::string_view kGpuKeys[] = {"deviceName", "name", "virtualGPUOptions", "tag"};

// ObjectMeta fields that say nothing about placement; read past without a note.
const std::set<std::string, std::less<>> kQuietMetadataFields = {
    "annotations",     "namespace",         "uid",         "resourceVersion",
    "generation",      "creationTimestamp", "selfLink",    "managedFields",
    "ownerReferences", "finalizers",        "generateName"};

std::string NameOf(const YAML::Node& doc) {
  const YAML::Node metadata = doc["metadata"];
  if (!metadata.IsDefined() || !metadata.IsMap()) return "(unnamed)";
  const YAML::Node name = metadata["name"];
  // A missing key is a zombie node whose IsScalar() throws (found by fuzz_catalog).
  return name.IsDefined() && name.IsScalar() ? name.Scalar() : "(unnamed)";
}

// Reads one instancetype document. Combination rules are checked once the
// whole spec is read, against the lines remembered here.
class InstancetypeReader {
 public:
  explicit InstancetypeReader(const YamlFieldReader& yaml) : yaml_(yaml) {}

  InstanceType Read(const YAML::Node& doc) {
    type_.source = yaml_.Location(doc);
    const YAML::Node metadata = doc["metadata"];
    if (!metadata.IsDefined()) yaml_.Fail(doc, "metadata.name is required");
    ReadMetadata(metadata);
    const YAML::Node spec = doc["spec"];
    if (!spec.IsDefined() || spec.IsNull()) yaml_.Fail(doc, type_.name + ": spec is required");
    spec_line_ = YamlFieldReader::LineOf(spec);
    ReadSpec(spec);
    CheckCombinations();
    type_.irq_load_balancing_disabled = DisablesIrqLoadBalancing(type_.annotations);
    return type_;
  }

 private:
  void Note(const YAML::Node& at, std::string_view what) const {
    spdlog::debug("{}:{}: {}: {}", yaml_.source(), YamlFieldReader::LineOf(at), type_.name, what);
  }

  // A field KubeVirt defines that says nothing about placement: a debug note. A
  // field KubeVirt does not define: an error with the nearest known name.
  void Ignore(const YAML::Node& key_node, std::string_view field, const std::string& key,
              std::span<const std::string_view> known, std::string_view why = "") const {
    if (std::find(known.begin(), known.end(), key) == known.end())
      yaml_.Fail(key_node, std::string(field) + ": " + UnknownKeyReason(key, known));
    Note(key_node, "ignoring " + std::string(field) + "." + key + std::string(why));
  }

  void ReadMetadata(const YAML::Node& metadata) {
    bool has_name = false;
    yaml_.ForEachEntry(
        metadata, "metadata",
        [&](const std::string& key, const YAML::Node& key_node, const YAML::Node& value) {
          if (key == "name") {
            type_.name = yaml_.Text(value, "metadata.name");
            if (type_.name.empty()) yaml_.Fail(value, "metadata.name is empty");
            type_.series = SeriesOf(type_.name);
            has_name = true;
          } else if (key == "labels") {
            type_.labels = yaml_.StringMap(value, "metadata.labels");
          } else if (!kQuietMetadataFields.contains(key)) {
            Note(key_node, "ignoring unknown field metadata." + key);
          }
        });
    if (!has_name) yaml_.Fail(metadata, "metadata.name is required");
  }

  void ReadSpec(const YAML::Node& spec) {
    yaml_.ForEachEntry(
        spec, "spec",
        [&](const std::string& key, const YAML::Node& key_node, const YAML::Node& value) {
          if (key == "cpu") {
            ReadCpu(value);
          } else if (key == "memory") {
            ReadMemory(value);
          } else if (key == "gpus") {
            ReadGpus(value);
          } else if (key == "annotations") {
            type_.annotations = yaml_.StringMap(value, "spec.annotations");
          } else if (key == "ioThreadsPolicy") {
            Note(key_node,
                 "ignoring spec.ioThreadsPolicy: KubeVirt pins IO threads on CPUs the VM holds");
          } else {
            Ignore(key_node, "spec", key, kSpecKeys, ": not a placement concern of this agent");
          }
        });
    if (cpu_guest_line_ == 0) yaml_.Fail(spec_line_, type_.name + ": spec.cpu.guest is required");
    if (memory_guest_line_ == 0)
      yaml_.Fail(spec_line_, type_.name + ": spec.memory.guest is required");
  }

  // KubeVirt decodes `{}` into a set pointer and `null` into an unset one, so
  // presence of an object, not its content, turns realtime/NUMA passthrough on.
  bool PresentAsObject(const YAML::Node& value, std::string_view field) const {
    if (value.IsNull()) return false;
    if (!value.IsMap()) yaml_.Fail(value, std::string(field) + " must be an object such as {}");
    return true;
  }

  void ReadCpu(const YAML::Node& cpu) {
    yaml_.ForEachEntry(
        cpu, "spec.cpu",
        [&](const std::string& key, const YAML::Node& key_node, const YAML::Node& value) {
          if (key == "guest") {
            const uint64_t vcpus = yaml_.Unsigned(value, "spec.cpu.guest", kMaxGuestVcpus);
            if (vcpus == 0) yaml_.Fail(value, "spec.cpu.guest must be a positive integer, got 0");
            type_.vcpus = static_cast<unsigned>(vcpus);
            cpu_guest_line_ = YamlFieldReader::LineOf(value);
          } else if (key == "dedicatedCPUPlacement") {
            type_.cpu = yaml_.Bool(value, "spec.cpu.dedicatedCPUPlacement") ? CpuPolicy::kDedicated
                                                                            : CpuPolicy::kShared;
          } else if (key == "isolateEmulatorThread") {
            type_.isolate_emulator_thread = yaml_.Bool(value, "spec.cpu.isolateEmulatorThread");
            isolate_line_ = YamlFieldReader::LineOf(value);
          } else if (key == "numa") {
            ReadNuma(value);
          } else if (key == "realtime") {
            type_.realtime = PresentAsObject(value, "spec.cpu.realtime");
            realtime_line_ = YamlFieldReader::LineOf(key_node);
            if (type_.realtime && value["mask"].IsDefined())
              Note(key_node, "ignoring spec.cpu.realtime.mask: every vCPU is placed the same way");
          } else if (key == "maxSockets") {
            yaml_.Unsigned(value, "spec.cpu.maxSockets", kMaxGuestVcpus);
            Note(key_node,
                 "ignoring spec.cpu.maxSockets: a guest topology limit, not host capacity");
          } else {
            Ignore(key_node, "spec.cpu", key, kCpuKeys, ": not a placement concern of this agent");
          }
        });
  }

  void ReadNuma(const YAML::Node& numa) {
    yaml_.ForEachEntry(
        numa, "spec.cpu.numa",
        [&](const std::string& key, const YAML::Node& key_node, const YAML::Node& value) {
          if (key == "guestMappingPassthrough") {
            type_.guest_numa_passthrough =
                PresentAsObject(value, "spec.cpu.numa.guestMappingPassthrough");
            numa_line_ = YamlFieldReader::LineOf(key_node);
          } else {
            Ignore(key_node, "spec.cpu.numa", key, kNumaKeys);
          }
        });
  }

  void ReadMemory(const YAML::Node& memory) {
    yaml_.ForEachEntry(
        memory, "spec.memory",
        [&](const std::string& key, const YAML::Node& key_node, const YAML::Node& value) {
          if (key == "guest") {
            memory_bytes_ = yaml_.QuantityBytes(value, "spec.memory.guest");
            if (memory_bytes_ == 0) yaml_.Fail(value, "spec.memory.guest must be more than 0");
            memory_text_ = value.Scalar();
            type_.memory_kib = BytesToKibRoundUp(memory_bytes_);
            memory_guest_line_ = YamlFieldReader::LineOf(value);
          } else if (key == "hugepages") {
            ReadHugepages(value);
          } else if (key == "overcommitPercent") {
            // KubeVirt's instancetype webhook admits 0..100 only.
            type_.overcommit_percent =
                static_cast<unsigned>(yaml_.Unsigned(value, "spec.memory.overcommitPercent", 100));
            overcommit_line_ = YamlFieldReader::LineOf(value);
          } else if (key == "maxGuest") {
            Note(key_node,
                 "ignoring spec.memory.maxGuest: memory hotplug headroom is not reserved");
          } else {
            Ignore(key_node, "spec.memory", key, kMemoryKeys);
          }
        });
  }

  void ReadHugepages(const YAML::Node& hugepages) {
    hugepages_line_ = YamlFieldReader::LineOf(hugepages);
    bool has_page_size = false;
    yaml_.ForEachEntry(
        hugepages, "spec.memory.hugepages",
        [&](const std::string& key, const YAML::Node& key_node, const YAML::Node& value) {
          if (key != "pageSize")
            return Ignore(key_node, "spec.memory.hugepages", key, kHugepagesKeys);
          const uint64_t page_bytes = yaml_.QuantityBytes(value, "spec.memory.hugepages.pageSize");
          // The sizes x86-64 hosts offer and KubeVirt's catalogs use.
          if (page_bytes != k2MiPageBytes && page_bytes != k1GiPageBytes)
            yaml_.Fail(value, "spec.memory.hugepages.pageSize " + value.Scalar() +
                                  " is not supported (use 2Mi or 1Gi)");
          type_.hugepage_size_kib = page_bytes / 1024;
          page_size_text_ = value.Scalar();
          has_page_size = true;
        });
    if (!has_page_size) yaml_.Fail(hugepages_line_, "spec.memory.hugepages.pageSize is required");
  }

  void ReadGpus(const YAML::Node& gpus) {
    if (gpus.IsNull()) return;
    if (!gpus.IsSequence()) yaml_.Fail(gpus, "spec.gpus must be a list");
    for (const YAML::Node& gpu : gpus) {
      std::string device_name;
      yaml_.ForEachEntry(
          gpu, "spec.gpus[]",
          [&](const std::string& key, const YAML::Node& key_node, const YAML::Node& value) {
            if (key == "deviceName")
              device_name = yaml_.Text(value, "spec.gpus[].deviceName");
            else
              Ignore(key_node, "spec.gpus[]", key, kGpuKeys);
          });
      if (device_name.empty())
        yaml_.Fail(gpu, "spec.gpus[] needs a deviceName (e.g. nvidia.com/A400)");
      type_.gpu_device_names.push_back(device_name);
    }
    type_.gpus = static_cast<unsigned>(type_.gpu_device_names.size());
  }

  // The rules KubeVirt enforces when a VM built from this type is admitted: a
  // type that breaks them can never run, so counting capacity for it would lie.
  void CheckCombinations() const {
    const bool dedicated = type_.Dedicated();
    const bool hugepages = type_.hugepage_size_kib != 0;
    if (type_.isolate_emulator_thread && !dedicated)
      yaml_.Fail(isolate_line_,
                 "spec.cpu.isolateEmulatorThread needs spec.cpu.dedicatedCPUPlacement: true");
    if (type_.guest_numa_passthrough && !dedicated)
      yaml_.Fail(
          numa_line_,
          "spec.cpu.numa.guestMappingPassthrough needs spec.cpu.dedicatedCPUPlacement: true");
    if (type_.guest_numa_passthrough && !hugepages)
      yaml_.Fail(numa_line_, "spec.cpu.numa.guestMappingPassthrough needs spec.memory.hugepages");
    if (type_.realtime && !dedicated)
      yaml_.Fail(realtime_line_, "spec.cpu.realtime needs spec.cpu.dedicatedCPUPlacement: true");
    if (type_.realtime && !type_.guest_numa_passthrough)
      yaml_.Fail(realtime_line_, "spec.cpu.realtime needs spec.cpu.numa.guestMappingPassthrough");
    if (type_.overcommit_percent != 0 && hugepages)
      yaml_.Fail(overcommit_line_,
                 "spec.memory.overcommitPercent cannot be combined with "
                 "spec.memory.hugepages: hugepages are never overcommitted");
    if (hugepages && memory_bytes_ % (type_.hugepage_size_kib * 1024) != 0)
      yaml_.Fail(memory_guest_line_, "spec.memory.guest " + memory_text_ +
                                         " is not a whole number of " + page_size_text_ +
                                         " hugepages");
  }

  const YamlFieldReader& yaml_;
  InstanceType type_;
  uint64_t memory_bytes_ = 0;
  std::string memory_text_, page_size_text_;
  unsigned spec_line_ = 0, cpu_guest_line_ = 0, memory_guest_line_ = 0, isolate_line_ = 0,
           numa_line_ = 0, realtime_line_ = 0, hugepages_line_ = 0, overcommit_line_ = 0;
};

class CatalogCollector {
 public:
  explicit CatalogCollector(const YamlFieldReader& yaml) : yaml_(yaml) {}

  void Collect(const YAML::Node& doc) {
    if (doc.IsNull()) return;  // an empty document, e.g. after a trailing "---"
    if (!doc.IsMap()) yaml_.Fail(doc, "a document must be a Kubernetes object (a mapping)");
    // Two objects pasted together without "---" repeat apiVersion, kind...;
    // yaml-cpp would silently read only the first, so refuse repeated keys here.
    yaml_.ForEachEntry(doc, "document",
                       [](const std::string&, const YAML::Node&, const YAML::Node&) {});
    const YAML::Node kind_node = doc["kind"];
    if (!kind_node.IsDefined()) yaml_.Fail(doc, "document has no kind");
    const std::string kind = yaml_.Text(kind_node, "kind");
    const YAML::Node items = doc["items"];
    if (kind.ends_with("List") && items.IsDefined() &&
        items.IsSequence()) {  // `kubectl get ... -o yaml`
      for (const YAML::Node& item : items) Collect(item);
      return;
    }
    CheckKind(doc, kind_node, kind);
    if (!IsInstancetypeKind(kind)) {
      spdlog::debug("{}: skipping {} {}: not an instance type", yaml_.Location(doc), kind,
                    NameOf(doc));
      return;
    }
    const YAML::Node api_version_node = doc["apiVersion"];
    if (!api_version_node.IsDefined()) yaml_.Fail(doc, "document has no apiVersion");
    const std::string api_version = yaml_.Text(api_version_node, "apiVersion");
    if (!IsReadableApiVersion(api_version)) {
      spdlog::debug(
          "{}: skipping {} {}: apiVersion {} is not read (instancetype.kubevirt.io/v1beta1, "
          "v1alpha2 and v1 are)",
          yaml_.Location(doc), kind, NameOf(doc), api_version);
      return;
    }
    InstanceType type = InstancetypeReader(yaml_).Read(doc);
    const unsigned line = YamlFieldReader::LineOf(doc);
    const auto [first, inserted] = first_line_.emplace(type.name, line);
    if (!inserted)
      yaml_.Fail(line, "instance type " + type.name + " is defined twice (first at line " +
                           std::to_string(first->second) + ")");
    types_.push_back(std::move(type));
  }

  // Preferences and other objects of a bundle are skipped, but a kind of the
  // instancetype API group we do not know, or a misspelt instance type kind,
  // is a mistake that would silently drop the type.
  void CheckKind(const YAML::Node& doc, const YAML::Node& kind_node,
                 const std::string& kind) const {
    if (IsInstancetypeKind(kind) ||
        std::find(std::begin(kKindsOfTheGroup), std::end(kKindsOfTheGroup), kind) !=
            std::end(kKindsOfTheGroup))
      return;
    const YAML::Node api_version = doc["apiVersion"];
    const bool in_group = api_version.IsDefined() && api_version.IsScalar() &&
                          api_version.Scalar().starts_with(kApiGroupPrefix);
    const std::string reason = UnknownKeyReason(kind, kKindsOfTheGroup);
    if (in_group || reason.find("did you mean") != std::string::npos)
      yaml_.Fail(kind_node, "kind " + kind + " is not a kind of instancetype.kubevirt.io: " +
                                reason.substr(reason.find('(')));
  }

  Catalog Finish() {
    Catalog catalog{std::move(types_)};
    SortBySeriesThenSize(catalog.types);
    return catalog;
  }

 private:
  const YamlFieldReader& yaml_;
  std::vector<InstanceType> types_;
  std::map<std::string, unsigned> first_line_;
};

}  // namespace

Catalog ParseCatalogYaml(std::string_view text, std::string source_name) {
  const YamlFieldReader yaml(std::move(source_name));
  CatalogCollector collector(yaml);
  for (const YAML::Node& doc : yaml.ParseDocuments(text)) collector.Collect(doc);
  return collector.Finish();
}

Catalog LoadCatalogYaml(const std::filesystem::path& path) {
  return ParseCatalogYaml(ReadTextFile(path.string(), kMaxCatalogFileBytes, kCatalogLimitWhy),
                          path.string());
}

}  // namespace kvhost
