// `kvhost-agent nrt` against the NodeResourceTopology CRD's own v1alpha2 schema
// (tests/data/nrt/crd.yaml, see its README), in YAML and JSON, for every
// fixture host; and its numbers against the allocator.
#include <gtest/gtest.h>

#include "agent/publish/nrt.h"
#include "agent/publish/proto_yaml.h"
#include "agent/report/host_report.h"
#include "agent_process_support.h"
#include "openapi_schema.h"
#include "publish_support.h"

namespace kvhost::publish {
namespace {

YAML::Node Schema() {
  const char* source = std::getenv("KVHOST_SOURCE_DIR");
  const std::string dir = source ? source : "..";
  return testing::CrdSchema(YAML::LoadFile(dir + "/tests/data/nrt/crd.yaml"), "v1alpha2");
}

std::string RunAgent(const std::vector<std::string>& args) {
  const char* agent = std::getenv("KVHOST_AGENT");
  if (!agent) return "";
  std::vector<std::string> argv{agent};
  argv.insert(argv.end(), args.begin(), args.end());
  const it::RunResult r = it::RunProcess(argv);
  EXPECT_TRUE(r.end.Exited(0)) << r.Describe();
  return r.out;
}

std::string Join(const std::vector<std::string>& errors) {
  std::string s;
  for (const auto& e : errors) s += e + "\n";
  return s;
}

TEST(NodeResourceTopology, AgentOutputFollowsTheCrdSchemaForEveryFixtureHost) {
  const YAML::Node schema = Schema();
  for (const auto& name : testing::FixtureNames()) {
    const std::string root = (testing::FixturesDir() / name).string();
    for (const char* format : {"yaml", "json"}) {
      const YAML::Node nrt =
          YAML::Load(RunAgent({"nrt", "--node-name", "worker-1", "-o", format, "--root", root}));
      EXPECT_EQ(Join(testing::ValidateOpenApi(schema, nrt)), "") << name << " " << format;
      EXPECT_EQ(nrt["apiVersion"].as<std::string>(), "topology.node.k8s.io/v1alpha2");
      EXPECT_EQ(nrt["metadata"]["name"].as<std::string>(), "worker-1");
      const HostModel host = testing::LoadFixture(name);
      ASSERT_EQ(nrt["zones"].size(), host.numa.nodes.size()) << name;
      for (size_t i = 0; i < host.numa.nodes.size(); ++i) {
        const YAML::Node zone = nrt["zones"][i];
        EXPECT_EQ(zone["name"].as<std::string>(), "node-" + std::to_string(host.numa.nodes[i].id));
        EXPECT_EQ(zone["type"].as<std::string>(), "Node");
        // No SLIT (a machine without node distances): no costs rather than made-up ones.
        EXPECT_EQ(zone["costs"].size(), host.numa.nodes[i].distances.size()) << name;
        EXPECT_EQ(zone["resources"][0]["capacity"].as<unsigned>(), host.numa.nodes[i].cpus.Count());
      }
    }
  }
}

TEST(NodeResourceTopology, SchemaValidatorCatchesBrokenObjects) {
  const YAML::Node schema = Schema();
  const auto report = testing::MakeNodeReport(testing::LoadFixture("nri-desktop-10c20t"));
  const std::string good = ToYaml(BuildNodeResourceTopology(report));
  ASSERT_TRUE(testing::ValidateOpenApi(schema, YAML::Load(good)).empty());
  YAML::Node no_zones = YAML::Load(good);
  no_zones.remove("zones");
  EXPECT_FALSE(testing::ValidateOpenApi(schema, no_zones).empty());
  YAML::Node bad_cost = YAML::Load(good);
  bad_cost["zones"][0]["costs"][0]["value"] = "ten";
  EXPECT_FALSE(testing::ValidateOpenApi(schema, bad_cost).empty());
  YAML::Node bad_quantity = YAML::Load(good);
  bad_quantity["zones"][0]["resources"][0]["available"] = "12 cores";
  EXPECT_FALSE(testing::ValidateOpenApi(schema, bad_quantity).empty());
  YAML::Node no_available = YAML::Load(good);
  no_available["zones"][0]["resources"][0].remove("available");
  EXPECT_FALSE(testing::ValidateOpenApi(schema, no_available).empty());
  YAML::Node unknown = YAML::Load(good);
  unknown["zones"][0]["numaNode"] = 0;
  EXPECT_FALSE(testing::ValidateOpenApi(schema, unknown).empty());
  // A quoted number is a string the quantity pattern accepts; a quoted name stays a string.
  EXPECT_EQ(testing::OpenApiType(YAML::Load("'12'")), "string");
  EXPECT_EQ(testing::OpenApiType(YAML::Load("12")), "integer");
}

std::string Resource(const v1::nrt::Zone& zone, const std::string& name, int column) {
  for (const auto& r : zone.resources())
    if (r.name() == name)
      return column == 0 ? r.capacity() : column == 1 ? r.allocatable() : r.available();
  return "missing";
}

TEST(NodeResourceTopology, AvailableFollowsPlacementsAndPolicyFollowsAllowNumaSpan) {
  HostModel host = testing::LoadFixture("nri-desktop-10c20t");
  testing::ReserveHugepages(host, 2048, 4096);
  Allocator state = testing::MakeAllocator(host);
  const auto before = BuildNodeResourceTopology(testing::MakeNodeReport(host, state));
  ASSERT_EQ(testing::PlaceVms(state, "cx1.medium", 1), 1u);
  const auto after = BuildNodeResourceTopology(testing::MakeNodeReport(host, state));
  const auto& z0 = before.zones(0);
  const auto& z1 = after.zones(0);
  EXPECT_EQ(Resource(z0, "cpu", 0), Resource(z1, "cpu", 0));
  EXPECT_EQ(Resource(z0, "cpu", 1), Resource(z1, "cpu", 1));
  // One vCPU on a whole SMT core, the emulator on its idle sibling: 2 CPUs held.
  EXPECT_EQ(std::stoi(Resource(z0, "cpu", 2)) - std::stoi(Resource(z1, "cpu", 2)), 2);
  EXPECT_EQ(Resource(z0, "hugepages-2Mi", 2), "8Gi");
  EXPECT_EQ(Resource(z1, "hugepages-2Mi", 2), "6Gi");
  EXPECT_EQ(before.attributes(0).name(), "topologyManagerPolicy");
  EXPECT_EQ(before.attributes(0).value(), "restricted");
  AgentConfig no_span;
  no_span.allow_numa_span = false;
  const auto strict = BuildNodeResourceTopology(
      testing::MakeNodeReport(host, testing::MakeAllocator(host, no_span)));
  EXPECT_EQ(strict.attributes(0).value(), "single-numa-node");
  EXPECT_EQ(strict.attributes(1).value(), "pod");
}

TEST(NodeResourceTopology, InKubeletModeSaysKubeletsPolicyScopeAndCpus) {
  HostModel host = testing::LoadFixture("nri-desktop-10c20t");
  v1::NodeReport report = testing::MakeNodeReport(host);
  auto* kubelet = report.mutable_placement()->mutable_kubelet();
  kubelet->set_topology_manager_policy("single-numa-node");
  kubelet->set_topology_manager_scope("container");
  report.mutable_kubelet_cpus()->set_reserved_cpus("0,10");
  report.mutable_kubelet_cpus()->set_exclusive_cpus("1-3,11-13");
  const auto nrt = BuildNodeResourceTopology(report);
  EXPECT_EQ(nrt.attributes(0).value(), "single-numa-node");
  EXPECT_EQ(nrt.attributes(1).value(), "container");
  const unsigned cpus = host.cpu.online.Count();
  EXPECT_EQ(Resource(nrt.zones(0), "cpu", 1), std::to_string(cpus - 2));
  EXPECT_EQ(Resource(nrt.zones(0), "cpu", 2), std::to_string(cpus - 8));
}

TEST(NodeResourceTopology, NoneWhileCapacityIsUnknown) {
  v1::NodeReport report = testing::MakeNodeReport(testing::LoadFixture("nri-desktop-10c20t"));
  report.set_capacity_unknown("/var/lib/kubelet/cpu_manager_state: bad checksum");
  EXPECT_THROW(BuildNodeResourceTopology(report), std::invalid_argument);
}

}  // namespace
}  // namespace kvhost::publish
