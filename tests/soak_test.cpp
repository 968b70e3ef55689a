// Soak: random place / free / pin / unpin / crash-restart operations on the
// pinning service against libvirt's test:/// driver (tests/data/libvirt/
// soak-node.xml: more guests than the host holds), with the allocator
// invariants (tests/allocator_invariants.h) checked after every step and
// libvirt's actual pinning checked against the allocations every few steps.
// KVHOST_SOAK_OPS sets the count (ctest: 2000; the figure: 100000).
// Host: hwloc-16amd64-4n4c-hugepages with 2048 free 2Mi pages per node.
#include <gtest/gtest.h>
#include <libvirt/libvirt.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <random>

#include "agent/catalog/builtin_catalog.h"
#include "agent/libvirt/libvirt_error.h"
#include "agent/libvirt/pinning_reader.h"
#include "agent/pinning/pinner.h"
#include "allocator_invariants.h"
#include "allocator_support.h"

namespace kvhost::testing {
namespace {

namespace fs = std::filesystem;

unsigned SoakOps() {
  const char* text = std::getenv("KVHOST_SOAK_OPS");
  return text ? static_cast<unsigned>(std::stoul(text)) : 2000;
}

std::string SoakNodeUri() {
  const char* source = std::getenv("KVHOST_SOURCE_DIR");
  return std::string("test://") + (source ? source : ".") + "/tests/data/libvirt/soak-node.xml";
}

struct Tally {
  unsigned pinned = 0, refused = 0, unpinned = 0, stopped = 0, started = 0, restarts = 0;
  unsigned libvirt_checks = 0;
};

class Soak : public ::testing::Test {
 protected:
  void SetUp() override {
    HostModel model = LoadFixture("hwloc-16amd64-4n4c-hugepages");
    ReserveHugepages(model, 2048, 2048);
    host = std::make_shared<const HostResources>(BuildHostResources(model, AgentConfig{}));
    state_dir = fs::temp_directory_path() / ("kvhost-soak-" + std::to_string(::getpid()));
    fs::remove_all(state_dir);
    Restart();
    for (const auto& d : connection.ListAllDomains()) domains.push_back(d.name());
  }
  void TearDown() override { fs::remove_all(state_dir); }

  // A crash: the pinner and everything it held in memory are gone; a new one
  // starts from the state file and libvirt, as the daemon does.
  void Restart() {
    pinner.reset();
    pinner = std::make_unique<Pinner>(host, catalog, StateStore(state_dir));
    pinner->AddConnection(&connection);
    pinner->Reconcile();
  }
  bool Running(const std::string& name) { return connection.LookupDomain(name).IsActive(); }

  // What the watch loop does on a lifecycle event, done here by the test.
  void Stop(const std::string& name, Tally& tally) {
    const LibvirtDomain d = connection.LookupDomain(name);
    if (!d.IsActive()) return;
    ASSERT_EQ(virDomainDestroy(d.raw()), 0) << name;
    pinner->Forget(d.uuid());
    ++tally.stopped;
  }
  void Start(const std::string& name, Tally& tally) {
    const LibvirtDomain d = connection.LookupDomain(name);
    if (d.IsActive()) return;
    ASSERT_EQ(virDomainCreate(d.raw()), 0) << name;
    ++tally.started;
    Pin(name, tally);
  }
  void Pin(const std::string& name, Tally& tally) {
    try {
      pinner->PinOnAnyConnection(name);
      ++tally.pinned;
    } catch (const std::exception& e) {
      ++tally.refused;  // does not fit, or not running: the state must be unchanged
    }
  }

  // No two running domains hold a dedicated CPU in libvirt, and each pinned
  // dedicated domain's vCPUs are where its allocation says.
  std::vector<std::string> CheckLibvirt() {
    std::vector<std::string> bad;
    std::map<unsigned, std::string> owner;
    for (const auto& [uuid, vm] : pinner->vms()) {
      if (!vm.placement.dedicated) continue;
      const LibvirtDomain d = connection.LookupDomain(uuid);
      const DomainPinning actual = ReadPinning(connection, d, VIR_DOMAIN_AFFECT_CURRENT);
      for (size_t v = 0; v < vm.placement.vcpu_cpus.size(); ++v) {
        const unsigned cpu = vm.placement.vcpu_cpus[v];
        if (v >= actual.vcpus.size() || actual.vcpus[v].ToList() != std::to_string(cpu))
          bad.push_back(vm.name + " vCPU " + std::to_string(v) + " not on CPU " +
                        std::to_string(cpu) + " in libvirt");
        auto [it, fresh] = owner.emplace(cpu, vm.name);
        if (!fresh)
          bad.push_back("CPU " + std::to_string(cpu) + " held by " + it->second + " and " +
                        vm.name + " in libvirt");
      }
    }
    return bad;
  }

  // The pinner's records and its allocator agree, and the invariants hold.
  std::vector<std::string> CheckAllocator() {
    std::vector<std::string> bad = CheckInvariants(pinner->allocator(), catalog);
    if (pinner->allocator().placements().size() != pinner->vms().size())
      bad.push_back("allocator holds " + std::to_string(pinner->allocator().placements().size()) +
                    " placements, the pinner " + std::to_string(pinner->vms().size()));
    for (const auto& [uuid, vm] : pinner->vms())
      if (!pinner->allocator().placements().count(uuid))
        bad.push_back(vm.name + " pinned without an allocation");
    return bad;
  }

  const Catalog catalog = BuiltinCatalog();
  std::shared_ptr<const HostResources> host;
  fs::path state_dir;
  LibvirtConnection connection = LibvirtConnection::Open(SoakNodeUri());
  std::unique_ptr<Pinner> pinner;
  std::vector<std::string> domains;
};

TEST_F(Soak, RandomOperationsNeverDoubleAllocateACpuOrAHugepage) {
  const unsigned ops = SoakOps();
  std::mt19937 rng(20261203);
  Tally tally;
  unsigned violations = 0;
  const auto start = std::chrono::steady_clock::now();
  for (unsigned step = 0; step < ops; ++step) {
    const std::string& name = domains[rng() % domains.size()];
    switch (rng() % 10) {
      case 0:
      case 1:
      case 2:
        Pin(name, tally);
        break;  // place (running, unpinned) or re-apply (pinned)
      case 3:
      case 4:
        try {
          if (pinner->UnpinOnAnyConnection(name)) ++tally.unpinned;
        } catch (const std::exception&) {
          ++tally.refused;
        }
        break;
      case 5:
      case 6:
        Stop(name, tally);
        break;  // free
      case 7:
      case 8:
        Start(name, tally);
        break;
      case 9:
        // Sometimes a domain also stops while the agent is down.
        if (rng() % 2 && Running(name)) {
          ASSERT_EQ(virDomainDestroy(connection.LookupDomain(name).raw()), 0) << name;
        }
        Restart();
        ++tally.restarts;
        break;
    }
    std::vector<std::string> bad = CheckAllocator();
    if (step % 25 == 0) {
      ++tally.libvirt_checks;
      for (auto& b : CheckLibvirt()) bad.push_back(std::move(b));
    }
    violations += static_cast<unsigned>(bad.size());
    ASSERT_TRUE(bad.empty()) << "step " << step << ": " << bad.front();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "soak: " << ops << " ops in " << seconds << " s; pinned " << tally.pinned
            << ", refused " << tally.refused << ", unpinned " << tally.unpinned << ", stopped "
            << tally.stopped << ", started " << tally.started << ", restarts " << tally.restarts
            << ", libvirt checks " << tally.libvirt_checks << "; violations " << violations << "\n";
  // Every kind of operation really happened, or the soak proves little.
  EXPECT_GT(tally.pinned, ops / 20);
  EXPECT_GT(tally.refused, 0u);
  EXPECT_GT(tally.unpinned, ops / 40);
  EXPECT_GT(tally.stopped, ops / 40);
  EXPECT_GT(tally.restarts, ops / 40);
}

}  // namespace
}  // namespace kvhost::testing
