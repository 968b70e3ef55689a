// The daemon's one line at start, at the default log level: what it is, what
// it reads, who places, and what it publishes where. An operator reading a
// journal learns from it alone where to look next.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "agent/config/agent_config.h"

namespace kvhost {

struct StartupFacts {
  std::string version;
  std::string git_commit;
  std::string build_type;
  std::string root;
  std::string owner;           // "agent" | "kubelet"
  std::string owner_why;       // how it was chosen
  std::string kubelet_config;  // kubelet mode: the file read and why; empty otherwise
  std::vector<std::string> libvirt_uris;
  std::optional<std::string> kubevirt_glob;
  std::chrono::seconds kubelet_audit_interval{0};  // kubelet mode
  unsigned short api_port = 0;                     // as bound (0: off)
  bool control_socket = false;                     // served (agent mode)
};

// "kvhost-agent 0.5.0 (commit 1a2b3c4, RelWithDebInfo build) ready on root /:
// placement owner agent (auto: ...), pins VMs of qemu:///system; labels to F,
// NRT to F, API http://127.0.0.1:9478, control socket S; refresh every 10 s"
std::string StartupLine(const StartupFacts& facts, const DaemonSettings& settings);

}  // namespace kvhost
