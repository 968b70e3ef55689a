// The libvirt connections the agent keeps open: fixed URIs (--connect) and, in
// KubeVirt mode, one per virt-launcher pod socket matched by a glob, picked up
// as pods come and go. Dead connections are dropped and reopened with backoff.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/libvirt/connection.h"

namespace kvhost {

inline constexpr char kKubevirtSocketGlob[] =
    "/var/lib/kubelet/pods/*/volumes/kubernetes.io~empty-dir/libvirt-runtime/virtqemud-sock";

// "qemu+unix:///session?socket=PATH": how a per-pod virtqemud is reached.
std::string SessionUriForSocket(const std::string& socket_path);

class ConnectionSet {
 public:
  using Clock = std::chrono::steady_clock;

  ConnectionSet(std::vector<std::string> fixed_uris, std::optional<std::string> socket_glob);

  struct Changes {
    std::vector<const LibvirtConnection*> opened;  // new or reopened: watch and reconcile them
    std::vector<std::string> closed;               // gone or dead: forget their watchers first
    std::vector<std::string> failed;               // tried now and refused: retried after a backoff
  };
  // Opens what is due, drops what died or whose socket vanished. `before_close`
  // runs for each URI about to be closed, so watchers can go first.
  Changes Refresh(Clock::time_point now,
                  const std::function<void(const std::string&)>& before_close);

  std::vector<const LibvirtConnection*> Open() const;
  std::vector<std::string> WantedUris() const;

 private:
  struct Retry {
    Clock::time_point next;
    std::chrono::milliseconds delay{500};
  };
  std::vector<std::string> fixed_;
  std::optional<std::string> glob_;
  std::map<std::string, std::unique_ptr<LibvirtConnection>> open_;
  std::map<std::string, Retry> retry_;
};

}  // namespace kvhost
