// Realtime readiness of a host: the facts KubeVirt's rt1 guests depend on,
// each with a short verdict. A pure value (header-only) so the allocator reads
// it without linking the reader; realtime/realtime.h reads it from a root.
#pragma once

#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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
  bool Ready() const { return Blockers().empty(); }
  // The facts that keep the host from being ready, as "name: reason".
  std::vector<std::string> Blockers() const {
    std::vector<std::string> out;
    const std::pair<const char*, const Fact*> facts[] = {{"preemptRt", &preempt_rt},
                                                         {"schedRtRuntimeUs", &sched_rt_runtime_us},
                                                         {"isolatedCpus", &isolated_cpus},
                                                         {"kvm", &kvm},
                                                         {"guestRtBudget", &guest_rt_budget}};
    // Worded on every live load (the allocator refuses rt1 with them): each
    // line in one allocation, the list in one more.
    out.reserve(std::size(facts));
    // RT throttling, governors and THP only warn: they cost latency but do not
    // rule realtime out.
    for (const auto& [name, f] : facts) {
      if (f->verdict != Verdict::kFail && f->verdict != Verdict::kUnknown) continue;
      const std::string_view label = name;
      std::string line;
      line.reserve(label.size() + 2 + f->reason.size());
      line.append(label).append(": ").append(f->reason);
      out.push_back(std::move(line));
    }
    return out;
  }
};

inline const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kOk:
      return "ok";
    case Verdict::kWarn:
      return "warn";
    case Verdict::kFail:
      return "fail";
    case Verdict::kUnknown:
      return "unknown";
  }
  return "unknown";
}

}  // namespace kvhost
