// Pure model of CPU isolation: what the command line asked for and what sysfs
// says the kernel did. Dedicated vCPUs prefer isolated CPUs.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/cpu_set.h"
#include "base/sysfs_root.h"

namespace kvhost {

struct Isolcpus {
  std::string raw;
  std::vector<std::string> flags;  // nohz, domain, managed_irq
  CpuSet cpus;
  // The kernel isolates from scheduler domains only with no flags or "domain".
  bool domain_isolated = true;
};

struct Isolation {
  std::optional<Isolcpus> isolcpus;
  std::optional<CpuSet> nohz_full;
  std::optional<CpuSet> rcu_nocbs;
  std::optional<CpuSet> irqaffinity;
  std::optional<CpuSet> sysfs_isolated;
  std::optional<CpuSet> sysfs_nohz_full;
  CpuSet isolated;  // isolcpus= CPUs (whatever the flags) ∪ sysfs isolated
};

// Parses an isolcpus= value ("managed_irq,domain,2-5"). Throws FormatError.
Isolcpus ParseIsolcpus(const std::string& value, unsigned nr_cpus,
                       std::vector<std::string>& warnings);

// Reads proc/cmdline and sys/devices/system/cpu/{isolated,nohz_full}.
// `nr_cpus` resolves "N" (the last CPU) in command-line lists.
Isolation ReadIsolation(const SysfsRoot& root, unsigned nr_cpus,
                        std::vector<std::string>& warnings);

// A refresh: `boot` with sys/devices/system/cpu/isolated re-read (the kernel
// may change the domain-isolated set at run time; the command line and
// nohz_full are fixed at boot).
Isolation RereadIsolation(const SysfsRoot& root, const Isolation& boot);

}  // namespace kvhost
