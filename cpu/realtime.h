// Realtime readiness of a host: the facts KubeVirt's rt1 guests depend on,
// each with a short verdict. Missing facts are "unknown", never guessed.
#pragma once

#include <string>

#include "cpu/cpu_set.h"
#include "cpu/sysfs_root.h"

namespace kvhost {

enum class Verdict { kOk, kWarn, kFail, kUnknown };

struct Fact {
  std::string value;
  Verdict verdict = Verdict::kUnknown;
  std::string reason;
};

struct RealtimeReadiness {
  Fact preempt_rt;
  Fact sched_rt_runtime_us;
  Fact isolated_cpus;
  Fact isolated_cpu_governors;
  Fact transparent_hugepages;
  Fact kvm;
  // cgroup v1 RT group scheduling: the guests' cgroup needs a realtime budget,
  // or the kernel refuses SCHED_FIFO for their vCPU threads (EPERM, even as root).
  Fact guest_rt_budget;
  // No fact failed or is unknown: realtime guests may be placed here.
  bool Ready() const;
  // The facts that keep the host from being ready, as "name: reason".
  std::vector<std::string> Blockers() const;
};

RealtimeReadiness ReadRealtime(const SysfsRoot& root, const CpuSet& isolated);

const char* VerdictName(Verdict v);

}  // namespace kvhost
