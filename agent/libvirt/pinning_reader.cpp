#include "agent/libvirt/pinning_reader.h"

#include <libvirt/libvirt.h>

#include <cstring>

#include "agent/libvirt/affect_flags.h"
#include "agent/libvirt/cpumap.h"
#include "agent/libvirt/handles.h"
#include "agent/libvirt/libvirt_error.h"

namespace kvhost {

namespace {

std::vector<CpuSet> ReadVcpuPins(const LibvirtDomain& domain, size_t maplen, unsigned flags) {
  unsigned vcpus = domain.MaxVcpus();
  std::vector<unsigned char> maps(vcpus * maplen, 0);
  int filled = virDomainGetVcpuPinInfo(domain.raw(), static_cast<int>(vcpus), maps.data(),
                                       static_cast<int>(maplen), flags);
  if (filled < 0) {
    ThrowLastLibvirtError("read the vCPU pinning (" + DescribeAffectFlags(flags) + ") of " +
                          domain.Describe());
  }
  std::vector<CpuSet> pins;
  for (int vcpu = 0; vcpu < filled; ++vcpu) {
    pins.push_back(CpumapToCpuSet(maps.data() + static_cast<size_t>(vcpu) * maplen, maplen));
  }
  return pins;
}

std::optional<CpuSet> ReadEmulatorPin(const LibvirtDomain& domain, size_t maplen, unsigned flags) {
  std::vector<unsigned char> map(maplen, 0);
  int pinned =
      virDomainGetEmulatorPinInfo(domain.raw(), map.data(), static_cast<int>(maplen), flags);
  if (pinned < 0) {
    ThrowLastLibvirtError("read the emulator pinning (" + DescribeAffectFlags(flags) + ") of " +
                          domain.Describe());
  }
  if (pinned == 0) return std::nullopt;
  return CpumapToCpuSet(map.data(), maplen);
}

std::optional<NumaTune> ReadNumaTune(const LibvirtDomain& domain, unsigned flags) {
  const std::string context =
      "read the numatune (" + DescribeAffectFlags(flags) + ") of " + domain.Describe();
  // The documented two-step: ask for the count, then for the values.
  int count = 0;
  if (virDomainGetNumaParameters(domain.raw(), nullptr, &count, flags) < 0)
    ThrowLastLibvirtError(context);
  if (count <= 0) return std::nullopt;
  TypedParamsBuffer params(count);
  if (virDomainGetNumaParameters(domain.raw(), params.data(), params.count(), flags) < 0) {
    ThrowLastLibvirtError(context);
  }
  NumaTune tune;
  bool has_nodeset = false;
  for (int i = 0; i < params.size(); ++i) {
    const virTypedParameter& param = params.data()[i];
    if (std::strcmp(param.field, VIR_DOMAIN_NUMA_MODE) == 0 && param.type == VIR_TYPED_PARAM_INT) {
      tune.mode = NumaModeName(param.value.i);
    } else if (std::strcmp(param.field, VIR_DOMAIN_NUMA_NODESET) == 0 &&
               param.type == VIR_TYPED_PARAM_STRING && param.value.s != nullptr &&
               *param.value.s != '\0') {
      try {
        tune.nodeset = ParseCpuList(param.value.s);
      } catch (const FormatError& e) {
        throw LibvirtError(
            context, std::string("unreadable nodeset '") + param.value.s + "': " + e.what(), 0);
      }
      has_nodeset = true;
    }
  }
  // libvirt reports mode "strict" even without <numatune>; only a nodeset means a binding.
  if (!has_nodeset) return std::nullopt;
  return tune;
}

}  // namespace

std::string NumaModeName(int libvirt_mode) {
  switch (libvirt_mode) {
    case VIR_DOMAIN_NUMATUNE_MEM_STRICT:
      return "strict";
    case VIR_DOMAIN_NUMATUNE_MEM_PREFERRED:
      return "preferred";
    case VIR_DOMAIN_NUMATUNE_MEM_INTERLEAVE:
      return "interleave";
    case VIR_DOMAIN_NUMATUNE_MEM_RESTRICTIVE:
      return "restrictive";
    default:
      return "mode " + std::to_string(libvirt_mode);
  }
}

DomainPinning ReadPinning(const LibvirtConnection& connection, const LibvirtDomain& domain,
                          unsigned affect_flags) {
  size_t maplen = CpumapLength(connection.HostCpuCount());
  DomainPinning pinning;
  pinning.vcpus = ReadVcpuPins(domain, maplen, affect_flags);
  pinning.emulator = ReadEmulatorPin(domain, maplen, affect_flags);
  pinning.numa = ReadNumaTune(domain, affect_flags);
  return pinning;
}

DomainPinning ReadPinning(const LibvirtConnection& connection, const LibvirtDomain& domain,
                          DomainDefinition definition) {
  switch (definition) {
    case DomainDefinition::kLive:
      return ReadPinning(connection, domain, VIR_DOMAIN_AFFECT_LIVE);
    case DomainDefinition::kConfig:
      return ReadPinning(connection, domain, VIR_DOMAIN_AFFECT_CONFIG);
    case DomainDefinition::kCurrent:
      break;
  }
  return ReadPinning(connection, domain, VIR_DOMAIN_AFFECT_CURRENT);
}

std::optional<DomainPinning> ReadStoredPinning(const LibvirtConnection& connection,
                                               const LibvirtDomain& domain) {
  if (!domain.IsPersistent()) return std::nullopt;
  return ReadPinning(connection, domain, VIR_DOMAIN_AFFECT_CONFIG);
}

}  // namespace kvhost
