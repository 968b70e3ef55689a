#include "agent/libvirt/affect_flags.h"

#include <libvirt/libvirt.h>

namespace kvhost {

AffectFlags ChooseAffectFlags(HypervisorDriver driver, DomainModes modes) {
  AffectFlags flags;
  if (driver == HypervisorDriver::kTest) {
    flags.pin = VIR_DOMAIN_AFFECT_CURRENT;
    flags.numa = VIR_DOMAIN_AFFECT_CURRENT;
    // The test driver takes CONFIG alone for numatune, which is what a deferred binding needs.
    if (modes.running && modes.persistent) flags.numa_next_start = VIR_DOMAIN_AFFECT_CONFIG;
    flags.verify = {VIR_DOMAIN_AFFECT_CURRENT};
    return flags;
  }
  if (!modes.running) {
    // An inactive domain has only its config (a transient one would not exist).
    flags.pin = flags.numa = VIR_DOMAIN_AFFECT_CONFIG;
    flags.verify = {VIR_DOMAIN_AFFECT_CONFIG};
    return flags;
  }
  if (!modes.persistent) {
    // Transient: nothing to persist, and CONFIG would be refused.
    flags.pin = flags.numa = VIR_DOMAIN_AFFECT_LIVE;
    flags.verify = {VIR_DOMAIN_AFFECT_LIVE};
    return flags;
  }
  flags.pin = flags.numa = VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_AFFECT_CONFIG;
  flags.numa_next_start = VIR_DOMAIN_AFFECT_CONFIG;
  flags.verify = {VIR_DOMAIN_AFFECT_LIVE, VIR_DOMAIN_AFFECT_CONFIG};
  return flags;
}

std::string DescribeAffectFlags(unsigned flags) {
  bool live = flags & VIR_DOMAIN_AFFECT_LIVE;
  bool config = flags & VIR_DOMAIN_AFFECT_CONFIG;
  if (live && config) return "live+config";
  if (live) return "live";
  if (config) return "config";
  return "current";
}

}  // namespace kvhost
