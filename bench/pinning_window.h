// bench/pinning --libvirtd: how long a starting domain runs unpinned on a real
// libvirtd (qemu:///system, as tests/harness/libvirtd.sh brings it up).
//
// The agent's own watch loop (RunWatchLoop, with a Pinner verifying from
// /proc) runs in this process, as `pin --watch` does. A 1-vCPU diskless
// dedicated domain is defined fresh and started `starts` times; for each start
// the bench notes when virDomainCreate returned, when libvirt's STARTED event
// reached a second connection, when a poller first saw the vCPU thread in
// /proc (and every change of its Cpus_allowed_list), and when the agent had
// pinned and verified the domain. Each domain is destroyed and undefined
// before the next, so none starts with the previous start's <cputune>.
#pragma once

#include <string>

namespace kvhost::bench {

struct WindowOptions {
  int starts = 50;
  std::string domain_type = "kvm";  // "qemu": TCG, for machines without /dev/kvm
};

// Prints a Markdown table: the agent pinning after the fact, then the same
// domain defined with the agent's placement as a pinned <cputune> before it
// starts (what README's Pinning section tells operators to do). Throws
// std::runtime_error when a start is not pinned within 30 s.
void PrintUnpinnedWindow(const WindowOptions& options);

}  // namespace kvhost::bench
