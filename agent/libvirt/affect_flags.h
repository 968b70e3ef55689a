// Which virDomainModificationImpact flags a pinning call uses, per driver and
// domain state. Real drivers (qemu) take LIVE|CONFIG so a running VM changes
// now and keeps the change across restarts. The test:/// driver refuses those
// combinations (virDomainPinVcpuFlags accepts no flag at all, and LIVE|CONFIG
// together is "mutually exclusive" everywhere in it), so it gets
// VIR_DOMAIN_AFFECT_CURRENT: the live definition when running, else the config.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace kvhost {

enum class HypervisorDriver { kTest, kOther };

struct DomainModes {
  bool running = false;     // active: has a live definition
  bool persistent = false;  // has a config definition (transient domains have none)
};

struct AffectFlags {
  unsigned pin = 0;   // virDomainPinVcpuFlags and virDomainPinEmulator
  unsigned numa = 0;  // first try of virDomainSetNumaParameters
  // Retried when a running domain refuses the live numatune change (qemu does
  // for a mode change or without the cpuset controller): the config only, so
  // the binding applies at next start. Absent when there is no config to change.
  std::optional<unsigned> numa_next_start;
  // The definitions to read back after applying, one flag value each.
  std::vector<unsigned> verify;
};

AffectFlags ChooseAffectFlags(HypervisorDriver driver, DomainModes modes);

// "live+config", "current", ...: for error messages.
std::string DescribeAffectFlags(unsigned flags);

}  // namespace kvhost
