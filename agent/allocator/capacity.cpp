#include "agent/allocator/capacity.h"

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "agent/allocator/kubelet/kubelet_host.h"
#include "agent/allocator/refusal_text.h"
#include "base/sizes.h"

namespace kvhost {

namespace {

constexpr std::string_view kNamePrefix = "capacity/";

// The count's try names: "capacity/<type>/<n>", the count rewritten per try
// behind the prefix `vm` holds.
void NameTry(std::string& vm, size_t prefix_size, unsigned n) {
  char digits[16];
  const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  vm.replace(prefix_size, std::string::npos, digits, static_cast<size_t>(end - digits));
}

// kubelet mode: kubelet's node alone decides where the next pod goes (Place's
// other refusals do not change between tries, and the allocator's books are
// not read), so every try admits into one scratch copy of the node. Place
// copies the node, pods and all, per try, which made a count quadratic in the
// pods admitted.
TypeCapacity CountKubeletAdmissions(const Allocator& state, const InstanceType& type,
                                    unsigned limit, std::string& vm, size_t prefix_size) {
  TypeCapacity out;
  out.type = &type;
  out.blockers = state.RefusalsBeforePlacing(type, vm);
  if (!out.blockers.empty()) return out;
  const kubelet::KubeletHost& node = *state.kubelet();
  const auto request_for_type = kubelet::RequestFor(node, type);
  const kubelet::KubeVirtPodRequest& request = *request_for_type;
  // A type the scheduler's fit refuses at once (most of them on a small host)
  // costs no copy of the node: the first try would refuse it with these words.
  if (const auto unfit = kubelet::NodeResourcesUnfit(node, request.need)) {
    kubelet::AddNotAdmittedLine(out.blockers, *unfit);
    return out;
  }
  kubelet::KubeletHost scratch = node;
  for (; out.count < limit; ++out.count) {
    NameTry(vm, prefix_size, out.count);
    if (out.count > 0 && state.placements().count(vm)) {
      AddLine(out.blockers, FMT_COMPILE("VM {} is already placed"), vm);
      break;
    }
    const kubelet::AdmitResult admitted = kubelet::AdmitKubeVirtPodUnkept(scratch, vm, request);
    if (!admitted.admitted) {
      kubelet::AddNotAdmittedLine(out.blockers, admitted);
      break;
    }
  }
  return out;
}

// CountFits writing its names into `vm` (which starts with kNamePrefix): ComputeCapacity hands
// every type the same buffer, so a type refused at once (every type on a small host) costs no name
// allocation of its own.
TypeCapacity CountFitsNamed(const Allocator& state, const InstanceType& type, unsigned limit,
                            std::string& vm) {
  TypeCapacity out;
  out.type = &type;
  if (limit == 0) return out;
  // "capacity/<type>/<n>", the count rewritten per try; written in one go
  // behind the "capacity/" that `vm` starts with.
  const size_t prefix_size = kNamePrefix.size() + type.name.size() + 1;
  vm.resize(prefix_size + 1);
  char* at = std::copy(type.name.begin(), type.name.end(), vm.data() + kNamePrefix.size());
  *at++ = '/';
  *at = '0';
  if (state.kubelet()) return CountKubeletAdmissions(state, type, limit, vm, prefix_size);
  // The first try goes to `state` itself: a type that does not fit at all
  // (most of them on small hosts) then costs no copy.
  PlaceResult r = state.Place(type, vm);
  if (!r.placement) {
    out.blockers = std::move(r.reasons);
    return out;
  }
  Allocator copy = state;
  // Placements are committed unkept, so the copy's names stay those of `state`
  // and Place's "already placed" check sees exactly what it would have seen.
  for (;;) {
    copy.CommitUnkept(*r.placement);
    if (++out.count >= limit) break;
    NameTry(vm, prefix_size, out.count);
    r = copy.Place(type, vm);
    if (!r.placement) {
      out.blockers = std::move(r.reasons);
      break;
    }
  }
  return out;
}

// A name buffer holding "capacity/", with room for "<name>/" and any count.
std::string NameBuffer(size_t type_name_size) {
  std::string vm;
  vm.reserve(kNamePrefix.size() + type_name_size + 12);
  vm = kNamePrefix;
  return vm;
}

}  // namespace

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
    if (!type) throw std::invalid_argument("what-if: unknown instance type '" + c.type + "'");
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
