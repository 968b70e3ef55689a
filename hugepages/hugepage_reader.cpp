#include "hugepages/hugepage_reader.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <sstream>

namespace kvhost {

const HugepagePool* HugepageInventory::NodePool(unsigned node, uint64_t size_kib) const {
  auto it = per_node.find(node);
  if (it == per_node.end()) return nullptr;
  for (const auto& p : it->second)
    if (p.size_kib == size_kib) return &p;
  return nullptr;
}

uint64_t HugepageDirSizeKib(const std::string& name) {
  constexpr std::string_view prefix = "hugepages-";
  if (name.size() <= prefix.size() + 2 || name.compare(0, prefix.size(), prefix) != 0 ||
      name.compare(name.size() - 2, 2, "kB") != 0)
    return 0;
  uint64_t v = 0;
  const char* b = name.data() + prefix.size();
  const char* e = name.data() + name.size() - 2;
  auto [p, ec] = std::from_chars(b, e, v);
  return (ec == std::errc() && p == e) ? v : 0;
}

namespace {

std::string PoolDir(const std::string& dir, uint64_t size_kib) {
  return dir + "/hugepages-" + std::to_string(size_kib) + "kB/";
}

// The kernel writes every count of a pool it lists: one missing is a broken
// dump or a pool going away, not an empty pool.
uint64_t ReadPoolCount(const SysfsRoot& root, const std::string& file) {
  const std::optional<uint64_t> count = root.ReadCountOptional(file);
  if (!count) throw InputError(root.PathOf(file), "missing from its hugepage pool directory");
  return *count;
}

HugepagePool ReadCounts(const SysfsRoot& root, const std::string& base, uint64_t size_kib,
                        bool global) {
  HugepagePool pool;
  pool.size_kib = size_kib;
  pool.total = ReadPoolCount(root, base + "nr_hugepages");
  pool.free = ReadPoolCount(root, base + "free_hugepages");
  pool.surplus = ReadPoolCount(root, base + "surplus_hugepages");
  if (global) pool.reserved = ReadPoolCount(root, base + "resv_hugepages");
  return pool;
}

// Free pages are pages of the pool, so no kernel reports more free than the
// pool holds; believed, they would be offered to guests. Counts read while an
// admin resizes the pool can disagree for a moment: they are read once more.
HugepagePool ReadPoolCounts(const SysfsRoot& root, const std::string& dir, uint64_t size_kib,
                            bool global) {
  const std::string base = PoolDir(dir, size_kib);
  HugepagePool pool = ReadCounts(root, base, size_kib, global);
  if (pool.free > pool.total + pool.surplus) pool = ReadCounts(root, base, size_kib, global);
  if (pool.free > pool.total + pool.surplus)
    throw InputError(root.PathOf(base + "free_hugepages"),
                     std::to_string(pool.free) + " free pages exceed the pool's " +
                         std::to_string(pool.total) + " + " + std::to_string(pool.surplus) +
                         " surplus");
  return pool;
}

std::string NodeDir(unsigned node) {
  return "sys/devices/system/node/node" + std::to_string(node) + "/hugepages";
}

constexpr char kGlobalDir[] = "sys/kernel/mm/hugepages";

std::vector<HugepagePool> ReadPools(const SysfsRoot& root, const std::string& dir, bool global) {
  std::vector<HugepagePool> pools;
  for (const auto& name : root.ListNames(dir, "hugepages-")) {
    const uint64_t size_kib = HugepageDirSizeKib(name);
    if (size_kib != 0) pools.push_back(ReadPoolCounts(root, dir, size_kib, global));
  }
  std::sort(pools.begin(), pools.end(),
            [](const HugepagePool& a, const HugepagePool& b) { return a.size_kib < b.size_kib; });
  return pools;
}

uint64_t ReadDefaultSizeKib(const SysfsRoot& root) {
  auto text = root.ReadOptional("proc/meminfo");
  if (!text) return 0;
  size_t pos = text->find("Hugepagesize:");
  if (pos == std::string::npos) return 0;  // kernels without hugetlbfs
  std::istringstream in(text->substr(pos + 13));
  int64_t kib = -1;
  std::string unit;
  if (!(in >> kib >> unit) || kib <= 0 || unit != "kB")
    throw InputError(root.PathOf("proc/meminfo"), "Hugepagesize is not '<number> kB'");
  return static_cast<uint64_t>(kib);
}

}  // namespace

HugepageInventory ReadHugepages(const SysfsRoot& root, const std::vector<unsigned>& node_ids) {
  HugepageInventory inv;
  inv.default_size_kib = ReadDefaultSizeKib(root);
  inv.global = ReadPools(root, kGlobalDir, true);
  for (unsigned id : node_ids) {
    auto pools = ReadPools(root, NodeDir(id), false);
    if (!pools.empty()) inv.per_node[id] = std::move(pools);
  }
  return inv;
}

HugepageInventory RereadHugepageCounts(const SysfsRoot& root, const HugepageInventory& known) {
  HugepageInventory inv = known;
  for (HugepagePool& pool : inv.global)
    pool = ReadPoolCounts(root, kGlobalDir, pool.size_kib, true);
  for (auto& [id, pools] : inv.per_node)
    for (HugepagePool& pool : pools) pool = ReadPoolCounts(root, NodeDir(id), pool.size_kib, false);
  return inv;
}

}  // namespace kvhost
