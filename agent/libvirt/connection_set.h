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

// The socket a local URI is reached through, when none exists: "/run/libvirt/
// libvirt-sock" for qemu:///system with neither libvirtd's nor virtqemud's
// socket there, PATH for ?socket=PATH. Empty when one exists or the URI is not
// a local socket's (test:///, remote). A libvirt daemon that crashed or is
// socket-activated keeps its socket (the connection is then refused).
std::string AbsentLibvirtSocket(const std::string& uri);

class ConnectionSet {
 public:
  using Clock = std::chrono::steady_clock;

  // A one-shot command tries each URI once; the daemon retries with backoff.
  enum class Retrying { kWithBackoff, kOnce };

  // Every connection it opens carries `domains`: the agent sees no other domain.
  ConnectionSet(std::vector<std::string> fixed_uris, std::optional<std::string> socket_glob,
                Retrying retrying = Retrying::kWithBackoff, DomainFilter domains = {});

  // A new config's `domains` (SIGHUP), for the open connections and the next.
  void UseDomainFilter(const DomainFilter& domains);

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
  // "libvirt qemu:///system does not answer: <why>" for the first fixed URI
  // not open (a virt-launcher socket comes and goes with its pod: not one).
  // A URI whose socket does not exist is not one either: no libvirt daemon
  // runs there, so no VM can have been started or be started through it.
  std::optional<std::string> Unanswered() const;
  // "URI: why; URI: why" for every wanted URI not open (its socket absent
  // included): what a one-shot command that needs libvirt says when none opened.
  std::string NotOpen() const;

 private:
  struct Retry {
    Clock::time_point next;
    std::chrono::milliseconds delay{500};
  };
  void Failed(const std::string& uri, const std::string& why, Retry& retry, Clock::time_point now);

  std::vector<std::string> fixed_;
  Retrying retrying_;
  std::map<std::string, std::string> last_error_;  // of each URI not open
  std::map<std::string, std::string> absent_;      // URI -> its socket that does not exist
  std::optional<std::string> glob_;
  DomainFilter domains_;
  std::map<std::string, std::unique_ptr<LibvirtConnection>> open_;
  std::map<std::string, Retry> retry_;
};

}  // namespace kvhost
