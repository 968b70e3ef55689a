// Runs the real `kvhost-agent inspect` on every fixture machine: proves the
// JSON output is the protobuf JSON mapping of kvhost.v1.HostReport (what other
// tools parse) and that the text summary shows every NUMA node.
#include <fcntl.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "base/cpu_set.h"
#include "host_report.pb.h"

extern char** environ;

namespace kvhost {
namespace {

namespace fs = std::filesystem;
using google::protobuf::Struct;
using google::protobuf::Value;

class ScopedFd {
 public:
  explicit ScopedFd(int fd = -1) : fd_(fd) {}
  ~ScopedFd() { Reset(); }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

struct CommandResult {
  int exit_code = -1;  // 128 + signal when the process was killed
  std::string out;
  std::string err;
};

std::string ReadAll(int fd) {
  std::string text;
  char buf[8192];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

// Runs argv[0] with posix_spawn. stdout comes through a pipe; stderr goes to an
// unlinked temp file, so a chatty stderr can never block the child on a full pipe.
CommandResult RunCommand(const std::vector<std::string>& args) {
  CommandResult result;
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return result;
  ScopedFd out_read(pipe_fds[0]), out_write(pipe_fds[1]);
  char err_name[] = "/tmp/kvhost-cli-stderr-XXXXXX";
  ScopedFd err_file(::mkostemp(err_name, O_CLOEXEC));
  if (err_file.get() < 0) return result;
  ::unlink(err_name);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_write.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_file.get(), STDERR_FILENO);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int spawn_rc = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  out_write.Reset();  // so the read below sees EOF when the child exits
  if (spawn_rc != 0) {
    result.err = "posix_spawn failed: " + std::string(std::strerror(spawn_rc));
    return result;
  }
  result.out = ReadAll(out_read.get());
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  ::lseek(err_file.get(), 0, SEEK_SET);
  result.err = ReadAll(err_file.get());
  return result;
}

std::string AgentPath() {
  const char* path = std::getenv("KVHOST_AGENT");
  return path ? path : "";
}

std::vector<fs::path> MachineDirs() {
  std::vector<fs::path> dirs;
  std::error_code ec;
  const char* root = std::getenv("KVHOST_FIXTURES");
  for (const auto& entry : fs::directory_iterator(root ? root : "", ec))
    if (entry.is_directory()) dirs.push_back(entry.path());
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

Struct ParseStruct(const std::string& json, const std::string& what) {
  Struct s;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &s);
  EXPECT_TRUE(status.ok()) << what << ": " << status.ToString();
  return s;
}

Struct LoadExpected(const fs::path& machine) {
  std::ifstream in(machine / "expected.json");
  std::stringstream text;
  text << in.rdbuf();
  return ParseStruct(text.str(), (machine / "expected.json").string());
}

const Value& Field(const Struct& s, const std::string& key) {
  static const Value kMissing;
  auto it = s.fields().find(key);
  if (it == s.fields().end()) {
    ADD_FAILURE() << "no '" << key << "' field";
    return kMissing;
  }
  return it->second;
}

std::string Canonical(const Value& list) {
  if (list.kind_case() != Value::kStringValue) return "";
  return ParseCpuList(list.string_value()).ToList();
}

std::vector<unsigned> ExpectedNodeIds(const Struct& expected) {
  std::vector<unsigned> ids;
  for (const auto& v : Field(expected, "numa_node_ids").list_value().values())
    ids.push_back(static_cast<unsigned>(v.number_value()));
  return ids;
}

class InspectCli : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(AgentPath().empty()) << "KVHOST_AGENT is not set (run through ctest)";
    machines_ = MachineDirs();
    ASSERT_FALSE(machines_.empty()) << "no fixture machines (KVHOST_FIXTURES)";
  }
  std::vector<fs::path> machines_;
};

// The strict parser rejects unknown fields, so a successful parse proves every
// name in the output is a lowerCamelCase field of HostReport.
void CheckJsonReport(const fs::path& machine, const std::string& json) {
  const Struct expected = LoadExpected(machine);
  v1::HostReport report;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &report);
  ASSERT_TRUE(status.ok()) << status.ToString() << "\n" << json.substr(0, 2000);

  const auto& t = report.topology();
  EXPECT_EQ(t.pus(), Field(expected, "pus").number_value());
  EXPECT_EQ(t.packages(), Field(expected, "packages").number_value());
  EXPECT_EQ(t.threads_per_core(), Field(expected, "threads_per_core").number_value());
  EXPECT_EQ(t.online_cpus(), Canonical(Field(expected, "online")));

  std::vector<unsigned> ids;
  for (const auto& n : t.numa_nodes()) ids.push_back(n.id());
  ASSERT_EQ(ids, ExpectedNodeIds(expected));
  const Struct& cpulists = Field(expected, "numa_cpulists").struct_value();
  const Struct& memory = Field(expected, "numa_memory_kb").struct_value();
  for (const auto& n : t.numa_nodes()) {
    SCOPED_TRACE("node" + std::to_string(n.id()));
    EXPECT_EQ(n.cpus(), Canonical(Field(cpulists, std::to_string(n.id()))));
    EXPECT_EQ(n.memory_kib(), Field(memory, std::to_string(n.id())).number_value());
  }

  // The same text as a generic JSON tree: names are lowerCamelCase and default
  // values are printed, so a CPU-less node shows "cpus": "" instead of nothing.
  const Struct tree = ParseStruct(json, "inspect output");
  const Struct& topology = Field(tree, "topology").struct_value();
  EXPECT_TRUE(topology.fields().count("threadsPerCore"));
  EXPECT_FALSE(topology.fields().count("threads_per_core"));
  EXPECT_TRUE(topology.fields().count("offlineCpus"));
  for (const auto& node : Field(topology, "numaNodes").list_value().values()) {
    const Struct& node_fields = node.struct_value();
    const std::string id =
        std::to_string(static_cast<unsigned>(Field(node_fields, "id").number_value()));
    SCOPED_TRACE("json node" + id);
    const Value& cpus = Field(node_fields, "cpus");
    EXPECT_EQ(cpus.kind_case(), Value::kStringValue) << "\"cpus\" must always be printed";
    EXPECT_EQ(cpus.string_value(), Canonical(Field(cpulists, id)));
    EXPECT_EQ(node_fields.fields().count("memoryKib"), 1u);
  }
}

TEST_F(InspectCli, JsonOutputIsTheHostReportMappingOfEveryMachine) {
  for (const auto& machine : machines_) {
    SCOPED_TRACE(machine.filename().string());
    const auto run = RunCommand({AgentPath(), "inspect", "--root", machine.string(), "-o", "json"});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    CheckJsonReport(machine, run.out);
  }
}

TEST_F(InspectCli, CpuLessNodesPrintAnEmptyCpusString) {
  // Guards the mapping contract on a machine that has such a node; the
  // collection must contain at least one (PMEM nodes), or this proves nothing.
  bool found_cpu_less_node = false;
  for (const auto& machine : machines_) {
    const Struct expected = LoadExpected(machine);
    for (const auto& [id, list] : Field(expected, "numa_cpulists").struct_value().fields()) {
      if (list.kind_case() != Value::kStringValue || !list.string_value().empty()) continue;
      found_cpu_less_node = true;
      SCOPED_TRACE(machine.filename().string() + " node" + id);
      const auto run =
          RunCommand({AgentPath(), "inspect", "--root", machine.string(), "-o", "json"});
      ASSERT_EQ(run.exit_code, 0) << run.err;
      const std::string key = "\"id\": " + id + ",";
      const size_t node_at = run.out.find(key);
      ASSERT_NE(node_at, std::string::npos) << "no node " << id << " in output";
      const size_t cpus_at = run.out.find("\"cpus\":", node_at);
      ASSERT_NE(cpus_at, std::string::npos);
      EXPECT_EQ(run.out.substr(cpus_at, 11), "\"cpus\": \"\",");
    }
  }
  EXPECT_TRUE(found_cpu_less_node) << "no fixture has a CPU-less node";
}

TEST_F(InspectCli, TextOutputNamesEveryNumaNode) {
  for (const auto& machine : machines_) {
    SCOPED_TRACE(machine.filename().string());
    const auto run = RunCommand({AgentPath(), "inspect", "--root", machine.string(), "-o", "text"});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const auto ids = ExpectedNodeIds(LoadExpected(machine));
    EXPECT_NE(run.out.find("numa      " + std::to_string(ids.size()) + " node(s)"),
              std::string::npos)
        << run.out;
    for (unsigned id : ids)
      EXPECT_NE(run.out.find("node " + std::to_string(id) + " "), std::string::npos)
          << "node " << id << " missing from:\n"
          << run.out;
  }
}

TEST_F(InspectCli, UnknownOutputFormatIsRejected) {
  const auto run =
      RunCommand({AgentPath(), "inspect", "--root", machines_.front().string(), "-o", "yaml"});
  EXPECT_NE(run.exit_code, 0);
  EXPECT_TRUE(run.out.empty()) << run.out;
  EXPECT_FALSE(run.err.empty());
}

TEST_F(InspectCli, VersionSaysTheVersionCommitAndBuildTypeTheMetricsSayToo) {
  const auto version = RunCommand({AgentPath(), "--version"});
  EXPECT_EQ(version.exit_code, 0) << version.err;
  const std::regex line(
      R"(kvhost-agent (\d+\.\d+\.\d+) \(commit ([0-9a-f]{12}(-dirty)?|unknown), (\w+) build\)\n)");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(version.out, m, line)) << version.out;
  const auto metrics = RunCommand({AgentPath(), "metrics", "--root", machines_.front().string()});
  EXPECT_EQ(metrics.exit_code, 0) << metrics.err;
  const std::string info = "kvhost_build_info{version=\"" + m[1].str() + "\",commit=\"" +
                           m[2].str() + "\",build_type=\"" + m[4].str() + "\"} 1";
  EXPECT_NE(metrics.out.find(info), std::string::npos) << metrics.out;
}

}  // namespace
}  // namespace kvhost
