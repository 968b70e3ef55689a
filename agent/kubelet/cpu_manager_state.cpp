#include "agent/kubelet/cpu_manager_state.h"

#include "agent/kubelet/go_checksum.h"
#include "agent/kubelet/go_json.h"
#include "base/errors.h"

namespace kvhost::kubelet {
namespace {

// kubelet unmarshals as V2 first and falls back to V1 when an entry is a plain string.
CpuCheckpointVersion VersionOf(const JsonObject& doc) {
  const JsonObject* entries = Object(Field(doc, "entries"), "entries");
  if (entries == nullptr) return CpuCheckpointVersion::kV2;
  for (const auto& [key, value] : entries->fields())
    if (value.kind_case() == JsonValue::kStringValue) return CpuCheckpointVersion::kV1;
  return CpuCheckpointVersion::kV2;
}

// A file without entries parses as both versions; kubelet then verifies as V2
// and, when that fails, as V1 (and migrates).
void VerifyChecksum(const JsonObject& doc, CpuCheckpointVersion version) {
  const uint64_t stored = Unsigned(Field(doc, "checksum"), "checksum");
  if (stored == 0) return;  // kubelet accepts a zero checksum (old file backend)
  const uint32_t actual = Fnv32a(SpewCpuCheckpoint(doc, version));
  if (stored == actual) return;
  const JsonObject* entries = Object(Field(doc, "entries"), "entries");
  if (version == CpuCheckpointVersion::kV2 && (entries == nullptr || entries->fields().empty()) &&
      stored == Fnv32a(SpewCpuCheckpoint(doc, CpuCheckpointVersion::kV1)))
    return;
  if (stored != actual)
    throw FormatError("checksum mismatch: the file says " + std::to_string(stored) +
                      ", its content hashes to " + std::to_string(actual) +
                      " (kubelet's algorithm); the checkpoint is corrupt");
}

CpuSet Cpus(const std::string& list, const std::string& what, const CpuSet* host) {
  CpuSet cpus;
  try {
    cpus = ParseCpuList(list);
  } catch (const FormatError& e) {
    throw FormatError(what + ": " + e.what());
  }
  if (host != nullptr && !cpus.IsSubsetOf(*host))
    throw FormatError(what + " holds CPUs " + (cpus - *host).ToList() +
                      " that this host does not have (online: " + host->ToList() + ")");
  return cpus;
}

void ReadEntries(const JsonObject& doc, CpuCheckpointVersion version, const CpuSet* host,
                 CpuManagerState& state) {
  const JsonObject* entries = Object(Field(doc, "entries"), "entries");
  if (entries == nullptr) return;
  for (const auto& [key, value] : entries->fields()) {
    if (version == CpuCheckpointVersion::kV1) {
      state.entries[""][key] = Cpus(String(&value, "entries." + key), "entries." + key, host);
      continue;
    }
    const JsonObject* containers = Object(&value, "entries." + key);
    if (containers == nullptr) continue;
    for (const auto& [name, cpus] : containers->fields()) {
      const std::string what = "entries." + key + "." + name;
      state.entries[key][name] = Cpus(String(&cpus, what), what, host);
    }
  }
}

// Containers of one pod may share CPUs (init containers hand theirs on);
// two pods never do, and exclusive CPUs are never in the shared pool.
void CheckNoDoubleBooking(const CpuManagerState& state) {
  std::map<unsigned, std::string> owner;
  for (const auto& entry : state.entries) {
    const std::string& pod = entry.first;  // clang 14 cannot capture a structured binding
    CpuSet pod_cpus;
    for (const auto& [name, cpus] : entry.second) pod_cpus |= cpus;
    pod_cpus.ForEach([&](unsigned cpu) {
      auto [it, fresh] = owner.emplace(cpu, pod);
      if (!fresh)
        throw FormatError("CPU " + std::to_string(cpu) + " is held by two pods, '" + it->second +
                          "' and '" + pod + "'");
    });
    const CpuSet shared = pod_cpus & state.default_cpu_set;
    if (!shared.Empty())
      throw FormatError("CPUs " + shared.ToList() + " of pod '" + pod +
                        "' are also in defaultCpuSet");
  }
}

}  // namespace

CpuSet CpuManagerState::Exclusive() const {
  CpuSet all;
  for (const auto& [pod, containers] : entries)
    for (const auto& [name, cpus] : containers) all |= cpus;
  return all;
}

CpuManagerState ParseCpuManagerState(std::string_view text, const CpuSet* host_cpus) {
  const JsonObject doc = ParseJsonObject(text);
  if (Field(doc, "data") != nullptr || Field(doc, "dataChecksum") != nullptr)
    throw FormatError("checkpoint with 'data'/'dataChecksum' (a kubelet newer than we model)");
  const CpuCheckpointVersion version = VersionOf(doc);
  VerifyChecksum(doc, version);
  CpuManagerState state;
  state.policy_name = String(Field(doc, "policyName"), "policyName");
  if (state.policy_name != "none" && state.policy_name != "static")
    throw FormatError("unknown policyName '" + state.policy_name +
                      "' (kubelet's CPU manager has 'none' and 'static')");
  state.default_cpu_set =
      Cpus(String(Field(doc, "defaultCpuSet"), "defaultCpuSet"), "defaultCpuSet", host_cpus);
  ReadEntries(doc, version, host_cpus, state);
  CheckNoDoubleBooking(state);
  return state;
}

std::optional<CpuManagerState> ReadCpuManagerState(const SysfsRoot& root, const CpuSet* host_cpus) {
  return root.ParseOptional(kCpuManagerStatePath, [&](std::string_view text) {
    return ParseCpuManagerState(text, host_cpus);
  });
}

}  // namespace kvhost::kubelet
