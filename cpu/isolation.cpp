#include "cpu/isolation.h"

#include "cpu/kernel_cmdline.h"

namespace kvhost {
namespace {

bool IsFlagWord(std::string_view w) {
  if (w.empty()) return false;
  for (char c : w)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')) return false;
  return true;
}

CpuSet IsolatedCpus(const Isolation& iso) {
  CpuSet isolated;
  if (iso.isolcpus) isolated |= iso.isolcpus->cpus;
  if (iso.sysfs_isolated) isolated |= *iso.sysfs_isolated;
  return isolated;
}

constexpr char kSysfsIsolated[] = "sys/devices/system/cpu/isolated";

}  // namespace

Isolcpus ParseIsolcpus(const std::string& value, unsigned nr_cpus,
                       std::vector<std::string>& warnings) {
  Isolcpus iso;
  iso.raw = value;
  std::string_view rest = value;
  // Like the kernel's housekeeping_isolcpus_setup: leading "word," items are flags.
  for (size_t comma;
       (comma = rest.find(',')) != std::string_view::npos && IsFlagWord(rest.substr(0, comma));) {
    std::string flag(rest.substr(0, comma));
    if (flag != "nohz" && flag != "domain" && flag != "managed_irq")
      warnings.push_back("isolcpus: unknown flag '" + flag + "' (the kernel skips it)");
    iso.flags.push_back(flag);
    rest.remove_prefix(comma + 1);
  }
  if (IsFlagWord(rest) && rest != "N")
    throw FormatError("isolcpus='" + value + "' has flags but no CPU list");
  iso.cpus = ParseCpuList(rest, nr_cpus);
  // The kernel skips unknown flags, and with no known flag left it defaults to
  // domain isolation (housekeeping_isolcpus_setup: "if (!flags) flags |= HK_FLAG_DOMAIN").
  iso.domain_isolated = true;
  for (const auto& f : iso.flags)
    if (f == "nohz" || f == "managed_irq") iso.domain_isolated = false;
  for (const auto& f : iso.flags)
    if (f == "domain") iso.domain_isolated = true;
  return iso;
}

Isolation ReadIsolation(const SysfsRoot& root, unsigned nr_cpus,
                        std::vector<std::string>& warnings) {
  Isolation iso;
  iso.sysfs_isolated = root.ReadCpuListOptional(kSysfsIsolated);
  // A kernel built with NO_HZ_FULL but booted without nohz_full= prints its
  // unallocated mask as "(null)", padded with spaces: no CPUs, not bad input.
  const auto nohz_text = root.ReadOptional("sys/devices/system/cpu/nohz_full");
  if (nohz_text && nohz_text->find_first_not_of(" \t") != std::string::npos &&
      nohz_text->substr(nohz_text->find_first_not_of(" \t")) == "(null)")
    iso.sysfs_nohz_full = CpuSet();
  else if (nohz_text) {
    // Parse the text already read (as ReadCpuListOptional would) rather than
    // opening the file a second time: each open is a visible cost of discovery.
    try {
      iso.sysfs_nohz_full = ParseCpuList(*nohz_text);
    } catch (const FormatError& e) {
      throw InputError(root.PathOf("sys/devices/system/cpu/nohz_full"), e.what());
    }
  }

  if (auto text = root.ReadOptional("proc/cmdline")) {
    const auto cmdline = KernelCmdline::Parse(*text);
    auto list = [&](std::string_view key) -> std::optional<CpuSet> {
      auto v = cmdline.Last(key);
      if (!v) return std::nullopt;
      // rcu_nocbs without a value (or "all") offloads every CPU on newer kernels.
      if ((v->empty() || *v == "all") && key == "rcu_nocbs" && nr_cpus)
        return CpuSet::Range(0, nr_cpus - 1);
      try {
        return ParseCpuList(*v, nr_cpus);
      } catch (const FormatError& e) {
        throw InputError(root.PathOf("proc/cmdline"), std::string(key) + "=: " + e.what());
      }
    };
    if (auto v = cmdline.Last("isolcpus")) {
      try {
        iso.isolcpus = ParseIsolcpus(*v, nr_cpus, warnings);
      } catch (const FormatError& e) {
        throw InputError(root.PathOf("proc/cmdline"), e.what());
      }
    }
    iso.nohz_full = list("nohz_full");
    iso.rcu_nocbs = list("rcu_nocbs");
    iso.irqaffinity = list("irqaffinity");
  }
  iso.isolated = IsolatedCpus(iso);
  if (iso.isolcpus && iso.isolcpus->domain_isolated && iso.sysfs_isolated &&
      !iso.isolcpus->cpus.IsSubsetOf(*iso.sysfs_isolated))
    warnings.push_back("isolcpus= asks for " + iso.isolcpus->cpus.ToList() +
                       " but the kernel isolated only '" + iso.sysfs_isolated->ToList() + "'");
  return iso;
}

Isolation RereadIsolation(const SysfsRoot& root, const Isolation& boot) {
  Isolation iso = boot;
  iso.sysfs_isolated = root.ReadCpuListOptional(kSysfsIsolated);
  iso.isolated = IsolatedCpus(iso);
  return iso;
}

}  // namespace kvhost
