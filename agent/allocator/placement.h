// What the allocator decides for one VM. The same value is advertised as
// capacity, applied through libvirt, and saved in the state file.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "agent/allocator/refusal_lines.h"
#include "base/cpu_set.h"

namespace kvhost {

struct HugepageGrant {
  unsigned node = 0;
  uint64_t size_kib = 0;
  uint64_t pages = 0;
  bool operator==(const HugepageGrant&) const = default;
};

struct GuestNumaCell {
  unsigned host_node = 0;
  std::vector<unsigned> vcpus;  // guest vCPU indexes in this cell
  uint64_t memory_kib = 0;
  bool operator==(const GuestNumaCell&) const = default;
};

struct Placement {
  std::string vm;             // domain key (name or UUID)
  std::string instance_type;  // catalog name
  bool dedicated = false;
  std::vector<unsigned> vcpu_cpus;         // dedicated: host CPU of vCPU i
  CpuSet shared_cpus;                      // shared: the pool the vCPUs float on
  std::optional<unsigned> emulator_cpu;    // isolated emulator thread
  std::vector<unsigned> numa_nodes;        // host nodes the memory is bound to
  std::vector<GuestNumaCell> guest_cells;  // guest NUMA mirrors host (CX/RT)
  std::vector<HugepageGrant> hugepages;
  uint64_t memory_kib = 0;    // ordinary memory taken (no hugepages)
  unsigned shared_vcpus = 0;  // vCPUs counted against the shared pool
  unsigned gpus = 0;
  std::string gpu_device;  // e.g. "nvidia.com/A400"

  bool operator==(const Placement&) const = default;

  // Every host CPU this VM holds exclusively (vCPUs, their SMT siblings are
  // tracked by the allocator, and the emulator CPU).
  CpuSet DedicatedCpus() const {
    CpuSet s;
    for (unsigned c : vcpu_cpus) s.Add(c);
    if (emulator_cpu) s.Add(*emulator_cpu);
    return s;
  }
};

// A placement that would break an invariant (a CPU given twice, pages beyond free...).
class AllocationConflict : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct PlaceResult {
  // User-provided on purpose: GCC 12 zero-fills the whole storage of an empty
  // std::optional<Placement> (~350 bytes, `rep stos`) when the implicit
  // constructor runs, and capacity makes a PlaceResult for every type.
  PlaceResult() {}  // NOLINT(modernize-use-equals-default)
  std::optional<Placement> placement;
  RefusalLines reasons;  // why not, in plain words with the numbers
};

}  // namespace kvhost
