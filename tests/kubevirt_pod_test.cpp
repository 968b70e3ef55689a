// The virt-launcher pod for an instance type, against figures worked by hand
// from KubeVirt's GetMemoryOverhead and renderresources.go (see kubevirt_pod.h).
#include "agent/allocator/kubelet/kubevirt_pod.h"

#include <gtest/gtest.h>

#include "agent/allocator/kubelet/kubelet_host.h"
#include "agent/catalog/builtin_catalog.h"

namespace kvhost::kubevirt {
namespace {

constexpr uint64_t kMi = 1024 * 1024, kGi = 1024 * kMi;

InstanceType Type(unsigned vcpus, uint64_t gib, bool dedicated) {
  InstanceType t;
  t.name = "test";
  t.vcpus = vcpus;
  t.memory_kib = gib * 1024 * 1024;
  t.cpu = dedicated ? CpuPolicy::kDedicated : CpuPolicy::kShared;
  t.isolate_emulator_thread = dedicated;
  return t;
}

TEST(KubevirtPod, DedicatedTypeIsGuaranteedWithTheEmulatorCpu) {
  const PodResources pod = PodFor(Type(2, 4, true));
  // 240Mi fixed + 2 x 8Mi CPU tables + 8Mi IOThread + 32Mi video + 100Mi dedicated
  EXPECT_EQ(pod.memory_overhead, 396 * kMi);
  ASSERT_EQ(pod.containers.size(), 2u);
  const ContainerResources& compute = pod.containers[0];
  EXPECT_EQ(compute.name, "compute");
  EXPECT_EQ(compute.cpu_request_milli, 3000u);
  EXPECT_EQ(compute.cpu_limit_milli, 3000u);
  EXPECT_EQ(compute.memory_request, 4 * kGi + 396 * kMi);
  EXPECT_EQ(compute.memory_limit, compute.memory_request);
  EXPECT_EQ(pod.qos, QosClass::kGuaranteed);
  EXPECT_EQ(pod.exclusive_cpus, 3u);
  // The console-log container of a dedicated VM has requests = limits (15m, 60M).
  EXPECT_EQ(pod.containers[1].cpu_request_milli, 15u);
  EXPECT_EQ(pod.containers[1].memory_request, 60'000'000u);
}

TEST(KubevirtPod, AlignCpusCompletesTheEmulatorToEvenParity) {
  Settings align;
  align.align_cpus = true;
  EXPECT_EQ(PodFor(Type(2, 4, true), align).exclusive_cpus, 4u);  // 2 + 2
  EXPECT_EQ(PodFor(Type(3, 4, true), align).exclusive_cpus, 4u);  // 3 + 1
  EXPECT_EQ(PodFor(Type(3, 4, true)).exclusive_cpus, 4u);
  EXPECT_EQ(PodFor(Type(4, 4, true)).exclusive_cpus, 5u);
}

TEST(KubevirtPod, SharedTypeIsBurstableAtTheAllocationRatio) {
  const PodResources pod = PodFor(Type(1, 4, false));
  const ContainerResources& compute = pod.containers[0];
  EXPECT_EQ(compute.cpu_request_milli, 100u);
  EXPECT_EQ(compute.cpu_limit_milli, 0u);
  EXPECT_EQ(pod.memory_overhead, (240 + 8 + 8 + 32) * kMi);
  EXPECT_EQ(compute.memory_request, 4 * kGi + 288 * kMi);
  EXPECT_EQ(compute.memory_limit, 0u);
  EXPECT_EQ(pod.qos, QosClass::kBurstable);
  EXPECT_EQ(pod.exclusive_cpus, 0u);
  EXPECT_EQ(pod.containers[1].cpu_request_milli, 5u);  // console log: Burstable requests

  Settings ratio3;
  ratio3.cpu_allocation_ratio = 3;
  EXPECT_EQ(PodFor(Type(4, 4, false)).containers[0].cpu_request_milli, 400u);
  EXPECT_EQ(PodFor(Type(1, 4, false), ratio3).containers[0].cpu_request_milli, 334u);  // 333.3m
}

TEST(KubevirtPod, OvercommitPercentLowersTheRequestAndCountsItsPageTables) {
  InstanceType o1 = Type(2, 8, false);
  o1.overcommit_percent = 50;
  const PodResources pod = PodFor(o1);
  // requests.memory = 4Gi; page tables = ceil(4Gi / 1000) * 1000 / 512 = 8388609
  const uint64_t overhead = 8388609 + (240 + 16 + 8 + 32) * kMi;
  EXPECT_EQ(pod.memory_overhead, overhead);
  EXPECT_EQ(pod.containers[0].memory_request, 4 * kGi + overhead);
}

TEST(KubevirtPod, HugepagesHoldTheGuestAndMemoryTheOverhead) {
  InstanceType rt = Type(4, 8, true);
  rt.hugepage_size_kib = 1024 * 1024;
  const PodResources pod = PodFor(rt);
  const ContainerResources& compute = pod.containers[0];
  EXPECT_EQ(compute.hugepage_kib, 1024u * 1024);
  EXPECT_EQ(compute.hugepage_bytes, 8 * kGi);
  EXPECT_EQ(pod.memory_overhead, (240 + 32 + 8 + 32 + 100) * kMi);
  EXPECT_EQ(compute.memory_request, 412 * kMi);
  EXPECT_EQ(compute.memory_limit, 412 * kMi);
  EXPECT_EQ(pod.exclusive_cpus, 5u);
}

TEST(KubevirtPod, GpusAddTheVfioReserve) {
  InstanceType gn = Type(4, 16, true);
  gn.gpus = 1;
  EXPECT_EQ(PodFor(gn).memory_overhead, (240 + 32 + 8 + 32 + 100 + 1024) * kMi);
  Settings no_console;
  no_console.serial_console_log = false;
  EXPECT_EQ(PodFor(gn, no_console).containers.size(), 1u);
}

// RequestFor keeps one request per pod shape: for every type of the seed
// catalog, under settings that each change some pod, it answers what PodFor
// computes afresh, asked first, again, and after the other settings.
TEST(KubeVirtPodRequest, KeptPerShapeIsWhatPodForComputes) {
  Settings ratio4, align, no_console, overcommit, arm;
  ratio4.cpu_allocation_ratio = 4;
  align.align_cpus = true;
  no_console.serial_console_log = false;
  overcommit.memory_overcommit = 150;
  arm.arm64 = true;
  const Catalog catalog = BuiltinCatalog();
  for (int round = 0; round < 2; ++round)
    for (const Settings& settings : {Settings{}, ratio4, align, no_console, overcommit, arm}) {
      kubelet::KubeletHost host;
      host.kubevirt = settings;
      for (const auto& type : catalog.types) {
        const PodResources fresh = PodFor(type, settings);
        const auto kept = kubelet::RequestFor(host, type);
        ASSERT_EQ(kept->pod.containers.size(), fresh.containers.size()) << type.name;
        for (size_t i = 0; i < fresh.containers.size(); ++i) {
          EXPECT_EQ(kept->pod.containers[i].cpu_request_milli,
                    fresh.containers[i].cpu_request_milli)
              << type.name;
          EXPECT_EQ(kept->pod.containers[i].memory_request, fresh.containers[i].memory_request)
              << type.name;
          EXPECT_EQ(kept->pod.containers[i].hugepage_bytes, fresh.containers[i].hugepage_bytes)
              << type.name;
        }
        EXPECT_EQ(kept->pod.exclusive_cpus, fresh.exclusive_cpus) << type.name;
        const kubelet::ResourceList need = kubelet::PodRequests(fresh);
        ASSERT_EQ(kept->need.size(), need.size()) << type.name;
        for (size_t i = 0; i < need.size(); ++i) EXPECT_EQ(kept->need[i], need[i]) << type.name;
      }
    }
}

}  // namespace
}  // namespace kvhost::kubevirt
