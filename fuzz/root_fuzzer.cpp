// A whole damaged root: the input rewrites a few of the files discovery reads
// (node cpulists, meminfo, distances, hugepage counts, cpu/online, isolation,
// proc/cmdline...) in a copy of a real machine, then DiscoverHost runs on it.
// Input: chunks separated by '\x01'; a chunk's first byte picks the file, the
// rest is its content. The machine is KVHOST_FUZZ_ROOT (./dev fuzz sets it).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <string_view>

#include "agent/host/discover.h"
#include "base/errors.h"

namespace {

namespace fs = std::filesystem;

constexpr const char* kFiles[] = {
    "sys/devices/system/node/node0/cpulist",
    "sys/devices/system/node/node1/cpulist",
    "sys/devices/system/node/node0/meminfo",
    "sys/devices/system/node/node1/distance",
    "sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages",
    "sys/devices/system/node/node1/hugepages/hugepages-2048kB/free_hugepages",
    "sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages",
    "sys/devices/system/cpu/online",
    "sys/devices/system/cpu/possible",
    "sys/devices/system/cpu/isolated",
    "sys/devices/system/cpu/nohz_full",
    "sys/devices/system/cpu/kernel_max",
    "proc/cmdline",
    "proc/meminfo",
    "sys/kernel/realtime",
    "sys/devices/system/cpu/cpu1/topology/thread_siblings_list",
};
constexpr size_t kFileCount = std::size(kFiles);

fs::path g_root;
std::map<std::string, std::string> g_originals;  // file -> content ("\x02" when absent)

std::string Slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return "\x02";
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void Put(const fs::path& file, std::string_view content) {
  if (content == "\x02") {
    std::error_code ec;
    fs::remove(file, ec);
    return;
  }
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary | std::ios::trunc).write(content.data(), content.size());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* machine = std::getenv("KVHOST_FUZZ_ROOT");
  if (!machine) {
    fprintf(stderr, "set KVHOST_FUZZ_ROOT to a fixture root (./dev fuzz does)\n");
    std::exit(1);
  }
  // Every run rewrites files of the root: on tmpfs that costs a fraction of
  // what ext4 inode churn does (70% of a run's time was the kernel's).
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp                            ? tmp
                                    : fs::is_directory("/dev/shm") ? "/dev/shm"
                                                                   : "/tmp") +
                        "/kvhost-fuzz-root-XXXXXX";
  if (!::mkdtemp(pattern.data())) std::exit(1);
  g_root = fs::path(pattern) / "root";
  std::atexit([] {
    std::error_code ignored;
    fs::remove_all(g_root.parent_path(), ignored);  // libFuzzer ends with exit()
  });
  fs::copy(machine, g_root, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  for (const char* file : kFiles) g_originals[file] = Slurp(g_root / file);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::map<std::string, bool> touched;
  while (!input.empty()) {
    const size_t end = std::min(input.find('\x01'), input.size());
    const std::string_view chunk = input.substr(0, end);
    input.remove_prefix(std::min(end + 1, input.size()));
    if (chunk.empty()) continue;
    const char* file = kFiles[static_cast<unsigned char>(chunk[0]) % kFileCount];
    Put(g_root / file, chunk.substr(1));
    touched[file] = true;
  }
  try {
    kvhost::DiscoverHost(g_root);
  } catch (const kvhost::InputError&) {
  }
  for (const auto& [file, _] : touched) Put(g_root / file, g_originals[file]);
  return 0;
}
