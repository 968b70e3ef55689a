// The edge of the kubelet-mode audit: each running domain (SurveyRunningDomains)
// with what /proc says about its QEMU process, when that process is found
// through libvirt's pid file under `root`: the pod UID from its cgroup path
// and the scheduling policy of each vCPU thread.
#pragma once

#include <vector>

#include "agent/pinning/audit.h"
#include "agent/pinning/kubelet_audit.h"
#include "base/sysfs_root.h"

namespace kvhost {

std::vector<KubeletAuditDomain> SurveyKubeletDomains(std::vector<AuditDomain> domains,
                                                     const SysfsRoot& root);

}  // namespace kvhost
