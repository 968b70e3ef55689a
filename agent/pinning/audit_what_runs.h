// The audit of every domain behind some libvirt connections by the placement
// owner's rules: the agent's placement policy, or kubelet's exclusive cpusets
// when kubelet places. One implementation for `audit`, `reconcile` under
// kubelet and the daemon's periodic audit.
#pragma once

#include <filesystem>
#include <vector>

#include "agent/catalog/instance_type.h"
#include "agent/libvirt/connection.h"
#include "agent/live/live_host.h"
#include "audit.pb.h"

namespace kvhost {

// `state_dir`: the agent's state (types and intended spans, read only).
// Findings are logged as warnings too. Throws InputError (naming the file)
// when kubelet places but its CPU manager checkpoint cannot be read.
v1::AuditReport AuditWhatRuns(const LiveHost& live, const Catalog& catalog,
                              const std::filesystem::path& state_dir,
                              const std::vector<const LibvirtConnection*>& connections);

}  // namespace kvhost
