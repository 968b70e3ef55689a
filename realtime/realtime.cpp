#include "realtime/realtime.h"

#include <map>
#include <vector>

namespace kvhost {
namespace {

Fact ReadPreemptRt(const SysfsRoot& root) {
  if (auto rt = root.ReadOptional("sys/kernel/realtime"); rt && *rt == "1")
    return {"PREEMPT_RT", Verdict::kOk, "sys/kernel/realtime is 1"};
  auto version = root.ReadOptional("proc/version");
  if (!version) return {"", Verdict::kUnknown, "no proc/version"};
  if (version->find("PREEMPT_RT") != std::string::npos ||
      version->find("PREEMPT RT") != std::string::npos)
    return {"PREEMPT_RT", Verdict::kOk, "proc/version names PREEMPT_RT"};
  const bool preempt = version->find("PREEMPT") != std::string::npos;
  return {preempt ? "PREEMPT" : "none", Verdict::kFail,
          "kernel is not PREEMPT_RT: guest latency is unbounded"};
}

Fact ReadRtRuntime(const SysfsRoot& root) {
  const char* file = "proc/sys/kernel/sched_rt_runtime_us";
  std::optional<int64_t> v;
  try {
    v = root.ReadIntOptional(file);
  } catch (const InputError& e) {
    return {"", Verdict::kUnknown, e.what()};
  }
  if (!v) return {"", Verdict::kUnknown, std::string("no ") + file};
  if (*v == -1) return {"-1", Verdict::kOk, "RT throttling off"};
  return {std::to_string(*v), Verdict::kWarn,
          "RT tasks are throttled to " + std::to_string(*v) +
              " us per period; set kernel.sched_rt_runtime_us=-1"};
}

Fact ReadGovernors(const SysfsRoot& root, const CpuSet& isolated) {
  if (isolated.Empty()) return {"", Verdict::kUnknown, "no isolated CPUs to check"};
  std::map<std::string, CpuSet> by_governor;
  isolated.ForEach([&](unsigned cpu) {
    auto g = root.ReadOptional("sys/devices/system/cpu/cpu" + std::to_string(cpu) +
                               "/cpufreq/scaling_governor");
    by_governor[g ? *g : "none"].Add(cpu);
  });
  std::string value;
  bool all_fixed = true;
  for (const auto& [gov, cpus] : by_governor) {
    if (!value.empty()) value += ",";
    value += gov + ":" + cpus.ToList();
    if (gov != "performance" && gov != "none") all_fixed = false;
  }
  if (all_fixed)
    return {value, Verdict::kOk,
            "isolated CPUs run at a fixed (performance or unscaled) frequency"};
  return {value, Verdict::kWarn,
          "frequency scaling on isolated CPUs adds latency; use 'performance'"};
}

Fact ReadThp(const SysfsRoot& root) {
  auto text = root.ReadOptional("sys/kernel/mm/transparent_hugepage/enabled");
  if (!text) return {"", Verdict::kUnknown, "no sys/kernel/mm/transparent_hugepage/enabled"};
  size_t open = text->find('['), close = text->find(']');
  if (open == std::string::npos || close == std::string::npos || close < open)
    return {*text, Verdict::kUnknown, "no [selected] mode in transparent_hugepage/enabled"};
  std::string mode = text->substr(open + 1, close - open - 1);
  if (mode == "always")
    return {mode, Verdict::kWarn,
            "khugepaged compaction can stall realtime threads; use madvise or never"};
  return {mode, Verdict::kOk, "no background collapsing of guest memory"};
}

// The fact is about the host (can QEMU use KVM), not about the agent's own
// /dev: the shipped unit's PrivateDevices=yes hides /dev/kvm from the agent,
// while /sys still shows the kvm misc device udev turns into /dev/kvm.
Fact ReadKvm(const SysfsRoot& root) {
  if (root.Exists("dev/kvm")) return {"present", Verdict::kOk, "/dev/kvm exists"};
  if (root.Exists("sys/class/misc/kvm"))
    return {"present", Verdict::kOk, "the kvm device is registered (/sys/class/misc/kvm)"};
  return {"absent", Verdict::kFail,
          "no /dev/kvm or /sys/class/misc/kvm: hardware virtualization unavailable"};
}

Fact ReadGuestRtBudget(const SysfsRoot& root) {
  constexpr const char* kRootBudget = "sys/fs/cgroup/cpu/cpu.rt_runtime_us";
  std::optional<int64_t> host_budget;
  try {
    host_budget = root.ReadIntOptional(kRootBudget);
  } catch (const InputError& e) {
    return {"", Verdict::kUnknown, e.what()};
  }
  if (!host_budget)
    return {"none", Verdict::kOk,
            "no cgroup v1 RT group scheduling: SCHED_FIFO needs no cgroup budget"};
  // libvirt puts guests under machine/ (cgroupfs) or machine.slice/ (systemd).
  for (const char* dir : {"sys/fs/cgroup/cpu/machine.slice", "sys/fs/cgroup/cpu/machine"}) {
    std::optional<int64_t> budget;
    try {
      budget = root.ReadIntOptional(std::string(dir) + "/cpu.rt_runtime_us");
    } catch (const InputError& e) {
      return {"", Verdict::kUnknown, e.what()};
    }
    if (!budget) continue;
    const std::string where = std::string(dir).substr(4);  // "fs/cgroup/cpu/..."
    if (*budget == 0)
      return {"0", Verdict::kFail,
              "/sys/" + where +
                  "/cpu.rt_runtime_us is 0: the kernel refuses SCHED_FIFO for guest vCPU threads"};
    return {std::to_string(*budget), Verdict::kOk, "guests' cgroup has a realtime budget"};
  }
  // A new cgroup starts with no RT budget, so the one libvirt creates will too.
  return {
      "0", Verdict::kFail,
      "RT group scheduling is on and libvirt's machine cgroup will start with cpu.rt_runtime_us 0: "
      "the kernel would refuse SCHED_FIFO for guest vCPU threads"};
}

}  // namespace

RealtimeReadiness ReadRealtime(const SysfsRoot& root, const CpuSet& isolated) {
  RealtimeReadiness rt;
  rt.preempt_rt = ReadPreemptRt(root);
  rt.sched_rt_runtime_us = ReadRtRuntime(root);
  rt.isolated_cpus =
      isolated.Empty()
          ? Fact{"", Verdict::kFail, "no isolated CPUs (isolcpus=/nohz_full=) for realtime vCPUs"}
          : Fact{isolated.ToList(), Verdict::kOk, "CPUs kept free of general scheduling"};
  rt.isolated_cpu_governors = ReadGovernors(root, isolated);
  rt.transparent_hugepages = ReadThp(root);
  rt.kvm = ReadKvm(root);
  rt.guest_rt_budget = ReadGuestRtBudget(root);
  return rt;
}

}  // namespace kvhost
