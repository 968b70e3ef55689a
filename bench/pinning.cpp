// bench/pinning: the time to pin one domain and to reconcile 100 domains on
// libvirt's test:/// driver, each as a ratio to listing those domains through
// the same connection (the least any pass over them costs). Medians of
// --rounds runs; every round opens a fresh copy of the node, unpinned.
//
// Host model: the fixture hwloc-256ppc-8n8s4t (256 CPUs, 8 nodes, SMT4) with
// 8192 free 2Mi pages per node; domains: 40 cx1.medium (dedicated core +
// emulator CPU, hugepages) and 60 u1.small (shared pool), all running.
//
// --libvirtd [--starts N] [--tcg] adds the unpinned window of starting domains
// on the real libvirtd (bench/pinning_window.h); README says how to bring one up.
#include <cstdio>
#include <fstream>
#include <iostream>

#include "agent/catalog/builtin_catalog.h"
#include "agent/host/discover.h"
#include "agent/pinning/pinner.h"
#include "bench/bench_support.h"
#include "bench/pinning_window.h"

namespace kvhost::bench {
namespace {

constexpr int kDedicated = 40, kShared = 60;

std::string DomainXml(const std::string& name, int index, const char* type, unsigned memory_kib,
                      bool hugepages) {
  char uuid[40];
  std::snprintf(uuid, sizeof uuid, "b0000000-0000-4000-8000-%012d", index);
  return std::string("<domain type='test'><name>") + name + "</name><uuid>" + uuid + "</uuid>" +
         "<metadata><kvhost:instance xmlns:kvhost='https://kvhost.cozystack.io/xmlns/v1' type='" +
         type + "'/></metadata><memory unit='KiB'>" + std::to_string(memory_kib) + "</memory>" +
         (hugepages ? "<memoryBacking><hugepages/></memoryBacking>" : "") +
         "<vcpu>1</vcpu><os><type>hvm</type></os></domain>\n";
}

void WriteNode(const std::filesystem::path& file) {
  std::ofstream out(file);
  out << "<node><cpu><mhz>3000</mhz><model>ppc64</model><active>256</active><nodes>8</nodes>"
         "<sockets>8</sockets><cores>8</cores><threads>4</threads></cpu><memory>536870912</"
         "memory>\n";
  for (int i = 0; i < kDedicated; ++i)
    out << DomainXml("cx-" + std::to_string(i), i, "cx1.medium", 2097152, true);
  for (int i = 0; i < kShared; ++i)
    out << DomainXml("u-" + std::to_string(i), kDedicated + i, "u1.small", 2097152, false);
  out << "</node>\n";
}

std::shared_ptr<const HostResources> Host(const std::filesystem::path& fixtures) {
  HostModel host = DiscoverHost(fixtures / "hwloc-256ppc-8n8s4t");
  for (auto& node : host.numa.nodes)
    if (!node.cpus.Empty()) host.hugepages.per_node[node.id] = {{2048, 8192, 8192, 0, 0}};
  return std::make_shared<const HostResources>(BuildHostResources(host, AgentConfig{}));
}

int Run(int argc, char** argv) {
  long rounds = 11;
  std::string fixtures_dir;
  std::optional<WindowOptions> window;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--rounds" && i + 1 < argc)
      rounds = ParseCount(argv[++i], "--rounds", 1, 1000);
    else if (arg == "--fixtures" && i + 1 < argc)
      fixtures_dir = argv[++i];
    else if (arg == "--libvirtd")
      window.emplace();
    else if (arg == "--starts" && i + 1 < argc && window)
      window->starts = static_cast<int>(ParseCount(argv[++i], "--starts", 1, 10000));
    else if (arg == "--tcg" && window)
      window->domain_type = "qemu";
    else
      throw std::runtime_error(
          "usage: pinning [--rounds N] [--fixtures DIR] [--libvirtd [--starts N] [--tcg]]");
  }
  FixtureMachines fixtures(fixtures_dir, KVHOST_FIXTURES_TARBALL);
  TempDir work;
  WriteNode(work.path() / "node.xml");
  const std::string uri = "test://" + (work.path() / "node.xml").string();
  const auto host = Host(fixtures.root());
  const Catalog catalog = BuiltinCatalog();

  std::vector<double> list_ms, reconcile_ms, pin_ms;
  for (long r = 0; r < rounds; ++r) {
    const LibvirtConnection connection = LibvirtConnection::Open(uri);
    Stopwatch clock;
    const auto domains = connection.ListDomainSummaries();
    list_ms.push_back(clock.ElapsedMs());
    Consume(domains.size());

    const auto state_dir = work.path() / ("state-" + std::to_string(r));
    Pinner pinner(host, catalog, StateStore(state_dir));
    pinner.AddConnection(&connection);
    clock.Restart();
    const ReconcileReport report = pinner.Reconcile();
    reconcile_ms.push_back(clock.ElapsedMs());
    if (report.placed.size() != kDedicated + kShared)
      throw std::runtime_error("reconcile placed " + std::to_string(report.placed.size()) +
                               " of 100 domains");

    pinner.Unpin(uri, "cx-7");
    clock.Restart();
    pinner.Pin(uri, "cx-7");
    pin_ms.push_back(clock.ElapsedMs());
    std::filesystem::remove_all(state_dir);
  }
  const double list = Median(list_ms), reconcile = Median(reconcile_ms), pin = Median(pin_ms);
  std::printf("test:/// node, %d domains (%d cx1.medium, %d u1.small), %ld rounds, medians\n\n",
              kDedicated + kShared, kDedicated, kShared, rounds);
  std::printf("| operation | median (ms) | ratio to listing |\n|---|---:|---:|\n");
  std::printf("| list 100 domains | %.3f | 1.00 |\n", list);
  std::printf("| reconcile 100 domains (place, pin, verify, save) | %.3f | %.1f |\n", reconcile,
              reconcile / list);
  std::printf("| pin one domain (place, save, pin, verify, save) | %.3f | %.2f |\n", pin,
              pin / list);
  if (window) PrintUnpinnedWindow(*window);
  return 0;
}

}  // namespace
}  // namespace kvhost::bench

int main(int argc, char** argv) {
  try {
    return kvhost::bench::Run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "pinning: " << e.what() << "\n";
    return 1;
  }
}
