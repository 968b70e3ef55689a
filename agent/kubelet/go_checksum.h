// kubelet's checkpoint checksum (pkg/kubelet/checkpointmanager/checksum): FNV-32a
// over the object printed by go-spew with {SortKeys, DisableMethods, SpewKeys}
// and "%#v" (k8s.io/utils/dump.ForHash, hashutil.DeepHashObject). These build
// that printed form for the two checkpoints we read, from the JSON as Go
// would have unmarshalled it (absent maps the constructor made are "map[]",
// JSON null ones "<nil>"), with the Checksum field zeroed as kubelet does.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "agent/kubelet/go_json.h"

namespace kvhost::kubelet {

uint32_t Fnv32a(std::string_view bytes);

enum class CpuCheckpointVersion {
  kV1,  // entries: containerID -> cpuset (kubelet < 1.18)
  kV2,  // entries: podUID -> container -> cpuset
};
// state.CPUManagerCheckpoint as spew prints it (V1 hashes under the V2 name, as
// kubelet's VerifyChecksum replaces it).
std::string SpewCpuCheckpoint(const JsonObject& doc, CpuCheckpointVersion version);
// state.MemoryManagerCheckpoint (machineState, entries) as spew prints it.
std::string SpewMemoryCheckpoint(const JsonObject& doc);

}  // namespace kvhost::kubelet
