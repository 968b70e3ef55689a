// Which accelerator the real-libvirtd tests' domains use: KVM where /dev/kvm
// works, else QEMU's TCG (<domain type='qemu'>). Pinning, lifecycle events,
// numatune and the vCPU threads in /proc behave the same under both; only the
// threads' names differ ("CPU 0/KVM", "CPU 0/TCG"). KVHOST_IT_FORCE_TCG=1
// takes TCG on a machine with KVM, to prove the fallback there. The same rule
// as tests/harness/libvirtd.sh, which checks that libvirt offers the type.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

namespace kvhost::testing {

struct ItAccelerator {
  std::string domain_type;  // <domain type='...'>: "kvm" or "qemu"
  std::string name;         // what QEMU appends to vCPU thread names: "KVM" or "TCG"
  std::string why;          // why this one, for logs and messages
};

inline ItAccelerator ChooseItAccelerator() {
  if (const char* force = std::getenv("KVHOST_IT_FORCE_TCG"); force && std::string(force) == "1")
    return {"qemu", "TCG", "KVHOST_IT_FORCE_TCG=1"};
  const int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) return {"qemu", "TCG", std::string("/dev/kvm: ") + std::strerror(errno)};
  close(fd);
  return {"kvm", "KVM", "/dev/kvm opens read-write"};
}

// The name of vCPU `vcpu`'s thread under this accelerator: "CPU 1/TCG".
inline std::string VcpuThreadName(const ItAccelerator& accelerator, unsigned vcpu) {
  return "CPU " + std::to_string(vcpu) + "/" + accelerator.name;
}

}  // namespace kvhost::testing
