#include "agent/allocator/capacity.h"

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "agent/allocator/refusal_text.h"
#include "base/sizes.h"

namespace kvhost {

namespace {

constexpr std::string_view kNamePrefix = "capacity/";

// CountFits writing its names into `vm` (which starts with kNamePrefix): ComputeCapacity hands
// every type the same buffer, so a type refused at once (every type on a small host) costs no name
// allocation of its own.
TypeCapacity CountFitsNamed(const Allocator& state, const InstanceType& type, unsigned limit,
                            std::string& vm) {
  if (limit == 0) {
    TypeCapacity out;
    out.type = &type;
    return out;
  }
  TryNames names(vm, type.name);
  return state.policy().Count(state, type, limit, names);
}

// A name buffer holding "capacity/", with room for "<name>/" and any count.
std::string NameBuffer(size_t type_name_size) {
  std::string vm;
  vm.reserve(kNamePrefix.size() + type_name_size + 12);
  vm = kNamePrefix;
  return vm;
}

}  // namespace

TryNames::TryNames(std::string& buffer, std::string_view type_name)
    : buffer_(buffer), prefix_size_(kNamePrefix.size() + type_name.size() + 1) {
  // "capacity/<type>/0", written in one go behind the "capacity/" the buffer starts with.
  buffer_.resize(prefix_size_ + 1);
  char* at = std::copy(type_name.begin(), type_name.end(), buffer_.data() + kNamePrefix.size());
  *at++ = '/';
  *at = '0';
}

const std::string& TryNames::Try(unsigned n) {
  char digits[16];
  const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  buffer_.replace(prefix_size_, std::string::npos, digits, static_cast<size_t>(end - digits));
  return buffer_;
}

TypeCapacity CountFits(const Allocator& state, const InstanceType& type, unsigned limit) {
  std::string vm = NameBuffer(type.name.size());
  return CountFitsNamed(state, type, limit, vm);
}

std::vector<TypeCapacity> ComputeCapacity(const Allocator& state, const Catalog& catalog) {
  size_t longest = 0;
  for (const auto& type : catalog.types) longest = std::max(longest, type.name.size());
  std::string vm = NameBuffer(longest);
  std::vector<TypeCapacity> out;
  out.reserve(catalog.types.size());
  for (const auto& type : catalog.types)
    out.push_back(CountFitsNamed(state, type, kCountLimit, vm));
  return out;
}

FragmentationScore ComputeFragmentation(const Allocator& state, const Catalog& catalog) {
  FragmentationScore f;
  const HostResources& host = state.host();
  // Smallest dedicated need in CPUs, and smallest hugepage need per page size.
  unsigned min_cpus = 0;
  std::map<uint64_t, uint64_t> min_pages;
  for (const auto& t : catalog.types) {
    if (t.Dedicated()) {
      const unsigned need = t.vcpus + (t.isolate_emulator_thread ? 1 : 0);
      if (!min_cpus || need < min_cpus) min_cpus = need;
    }
    if (t.hugepage_size_kib) {
      const uint64_t pages = PagesFor(t.memory_kib, t.hugepage_size_kib);
      auto& m = min_pages[t.hugepage_size_kib];
      if (!m || pages < m) m = pages;
    }
  }
  for (size_t ni = 0; ni < host.nodes.size(); ++ni) {
    const unsigned free = state.EmulatorCandidates(ni).Count();
    f.free_dedicated_cpus += free;
    if (!min_cpus || free < min_cpus) f.stranded_dedicated_cpus += free;
    for (const auto& [size, pool] : host.nodes[ni].hugepages_free) {
      const uint64_t pages = state.FreeHugepages(ni, size);
      f.free_hugepage_kib += pages * size;
      auto m = min_pages.find(size);
      if (m == min_pages.end() || pages < m->second) f.stranded_hugepage_kib += pages * size;
    }
  }
  double sum = 0;
  int parts = 0;
  if (f.free_dedicated_cpus)
    sum += double(f.stranded_dedicated_cpus) / f.free_dedicated_cpus, ++parts;
  if (f.free_hugepage_kib)
    sum += double(f.stranded_hugepage_kib) / double(f.free_hugepage_kib), ++parts;
  f.score = parts ? sum / parts : 0;
  return f;
}

std::vector<WhatIfChange> ParseWhatIf(const std::string& text) {
  std::string_view s = text;
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  WhatIfChange proto;
  if (s.rfind("add ", 0) == 0)
    s.remove_prefix(4);
  else if (s.rfind("remove ", 0) == 0)
    proto.add = false, s.remove_prefix(7);
  else
    throw std::invalid_argument("what-if '" + text + "' must start with 'add ' or 'remove '");
  std::vector<WhatIfChange> out;
  while (!s.empty()) {
    const size_t comma = s.find(',');
    std::string_view item = s.substr(0, comma);
    s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) throw std::invalid_argument("what-if '" + text + "' has an empty item");
    WhatIfChange c = proto;
    const size_t eq = item.find('=');
    c.type = std::string(item.substr(0, eq));
    if (eq != std::string_view::npos) {
      std::string_view n = item.substr(eq + 1);
      auto [p, ec] = std::from_chars(n.data(), n.data() + n.size(), c.count);
      if (ec != std::errc() || p != n.data() + n.size() || c.count == 0)
        throw std::invalid_argument("what-if '" + std::string(item) +
                                    "': count must be a positive integer");
    }
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<std::string> ApplyWhatIf(Allocator& state, const Catalog& catalog,
                                     const std::vector<WhatIfChange>& changes) {
  std::vector<std::string> lines;
  unsigned serial = 0;
  for (const auto& c : changes) {
    const InstanceType* type = catalog.Find(c.type);
    if (!type)
      throw std::invalid_argument("what-if: unknown instance type '" + c.type + "'" +
                                  catalog.DidYouMean(c.type));
    if (c.add) {
      for (unsigned i = 0; i < c.count; ++i) {
        const std::string vm = "what-if/" + c.type + "/" + std::to_string(serial++);
        PlaceResult r = state.Place(*type, vm);
        if (!r.placement) {
          throw std::invalid_argument("what-if: add " + c.type + " #" + std::to_string(i + 1) +
                                      " does not fit" + r.reasons.Prefixed("; "));
        }
        state.Commit(*r.placement);
      }
      lines.push_back("add " + c.type + "=" + std::to_string(c.count));
    } else {
      std::vector<std::string> victims;
      for (const auto& [vm, p] : state.placements())
        if (p.instance_type == c.type) victims.push_back(vm);
      if (victims.size() < c.count)
        throw std::invalid_argument("what-if: remove " + c.type + "=" + std::to_string(c.count) +
                                    " but only " + std::to_string(victims.size()) + " are placed");
      // Newest first: hypothetical VMs carry increasing serials.
      std::sort(victims.begin(), victims.end(), [](const std::string& a, const std::string& b) {
        return a.size() != b.size() ? a.size() > b.size() : a > b;
      });
      for (unsigned i = 0; i < c.count; ++i) state.Release(victims[i]);
      lines.push_back("remove " + c.type + "=" + std::to_string(c.count));
    }
  }
  return lines;
}

}  // namespace kvhost
