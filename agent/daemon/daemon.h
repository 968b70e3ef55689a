// `kvhost-agent run`: the one long-running process of a hypervisor host. One
// Boost.Asio io_context owns the allocator (through the Pinner), libvirt's
// lifecycle events, the periodic refresh, the publishers and systemd's
// notifications; see README "The daemon".
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "agent/catalog/instance_type.h"

namespace kvhost {

class LibvirtConnection;

struct DaemonOptions {
  std::filesystem::path root = "/";
  std::string config_path;  // empty: the default path, which may be absent
  // kubelet mode: kubelet's config (run --kubelet-config); empty: the config's
  // kubeletConfig, else found (agent/live/kubelet_config_location.h).
  std::string kubelet_config;
  std::filesystem::path state_dir = "/var/lib/kvhost-agent";
  std::vector<std::string> connect;          // libvirt URIs
  std::optional<std::string> kubevirt_glob;  // virt-launcher sockets, when --kubevirt
  std::function<Catalog()> load_catalog;     // called at start and on SIGHUP
  std::string version;
  std::string git_commit;
  std::string build_type;
  // Called once on the loop's thread right after READY=1, with the open
  // libvirt connections (embedding: bench/footprint starts VMs through them).
  std::function<void(const std::vector<const LibvirtConnection*>&)> on_ready;
};

// Runs until SIGTERM or SIGINT; returns the exit code (0 on a clean stop).
// Throws (naming the file) when the first config, catalog or discovery fails.
int RunDaemon(const DaemonOptions& options);

}  // namespace kvhost
