#include <spdlog/spdlog.h>

#include <stdexcept>

#include "agent/catalog/builtin_catalog.h"
#include "agent/cli/commands.h"
#include "agent/config/config_loader.h"
#include "agent/libvirt/connection_set.h"
#include "agent/live/kubelet_live.h"
#include "agent/pinning/live_domains.h"
#include "agent/yaml/yaml_catalog.h"
#include "base/errors.h"
#include "base/host_root.h"
#include "base/nearest_name.h"

namespace kvhost::cli {

void HostOptions::AddTo(CLI::App* command, bool with_catalog) {
  command->add_option("--root", root, "Filesystem root to read (a sysfs/procfs dump)")
      ->capture_default_str();
  command->add_option("-o,--output", output, "text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  if (!with_catalog) return;
  command->add_option(
      "--config", config,
      "Agent config YAML (default /etc/kvhost-agent/config.yaml; absent = defaults)");
  command->add_option(
      "--catalog", catalogs,
      "KubeVirt instancetype YAML; extends (or, by name, replaces) the built-in set");
  command->add_flag("--no-builtin-catalog", no_builtin_catalog, "Use only the --catalog files");
}

void HostOptions::AddLiveOptions(CLI::App* command) {
  command->add_option(
      "--state-dir", state_dir,
      "Where the agent keeps its allocations (default <root>/var/lib/kvhost-agent)");
  command->add_option("--kubelet-config", kubelet_config, kKubeletConfigHelp);
  command->add_option("--connect", connect,
                      "libvirt URI asked what runs (repeatable; default qemu:///system when "
                      "--root is /, none otherwise)");
}

std::filesystem::path HostOptions::StateDir() const {
  // Under a replayed --root the state belongs to that root too, as kubelet's
  // files do: a fixture must never be charged with this machine's VMs.
  return state_dir.empty() ? std::filesystem::path(root) / "var/lib/kvhost-agent"
                           : std::filesystem::path(state_dir);
}

std::optional<std::string> HostOptions::MissingStateDir() const {
  if (state_dir.empty()) return std::nullopt;
  const std::filesystem::path dir = std::filesystem::path(state_dir).lexically_normal();
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return std::nullopt;
  std::vector<std::string> siblings;
  const std::filesystem::path parent =
      dir.has_filename() ? dir.parent_path() : dir.parent_path().parent_path();
  for (const auto& entry : std::filesystem::directory_iterator(parent, ec))
    if (entry.is_directory(ec)) siblings.push_back((parent / entry.path().filename()).string());
  const std::string given = dir.has_filename() ? dir.string() : dir.parent_path().string();
  return "--state-dir " + state_dir + " does not exist" + DidYouMean(given, siblings);
}

void HostOptions::RefuseMissingStateDir() const {
  if (const auto missing = MissingStateDir())
    throw std::runtime_error(*missing +
                             ": pin, unpin and reconcile keep allocations only where the daemon "
                             "does (create it, or leave --state-dir out for " +
                             (std::filesystem::path(root) / "var/lib/kvhost-agent").string() + ")");
}

DomainFilter HostOptions::ManagedDomains() const { return kvhost::ManagedDomains(LoadConfig()); }

std::optional<RunningDomains> HostOptions::ReadRunning(const Catalog& catalog) const {
  std::vector<std::string> uris = connect;
  // Asked before discovery: the rule a discovered HostModel keeps, applied to --root.
  if (uris.empty() && IsRealHostRoot(root)) uris.push_back("qemu:///system");
  if (uris.empty()) return std::nullopt;
  ConnectionSet connections(uris, std::nullopt, ConnectionSet::Retrying::kOnce, ManagedDomains());
  connections.Refresh(ConnectionSet::Clock::now(), nullptr);
  const std::vector<const LibvirtConnection*> open = connections.Open();
  // No libvirt daemon at any URI (no socket): nothing runs through one.
  if (!open.empty() || !connections.Unanswered()) return GatherRunningDomains(open, catalog);
  // kubelet's files say what it placed; the agent's allocations need libvirt
  // to say what still runs (QEMU outlives a stopped libvirtd): unknown then.
  if (ChoosePlacementOwner(root, LoadConfig()).owner == PlacementOwner::kKubelet) {
    spdlog::warn("no libvirt connection answered: nothing to audit, kubelet's files place");
    return std::nullopt;
  }
  throw std::runtime_error(
      "no libvirt connection could be opened: in agent mode what runs, and so what is free, "
      "is unknown (start libvirtd, or --connect the URI the VMs run under)");
}

LiveHost HostOptions::LoadLive(std::optional<RunningDomains> running) const {
  if (const auto missing = MissingStateDir()) spdlog::warn("{}: read as an empty state", *missing);
  LiveHost live = LoadLiveHost({.root = root,
                                .state_dir = StateDir(),
                                .config = LoadConfig(),
                                .kubelet_config = kubelet_config,
                                .running = std::move(running)});
  for (const auto& w : live.warnings) spdlog::warn("{}", w);
  spdlog::info("placement owner: {} ({})", PlacementOwnerName(live.owner.owner), live.owner.why);
  return live;
}

LiveHost HostOptions::LoadLiveShape() const {
  LiveHost live = LoadLiveHostShape({.root = root,
                                     .state_dir = StateDir(),
                                     .config = LoadConfig(),
                                     .kubelet_config = kubelet_config,
                                     .running = {}});
  for (const auto& w : live.warnings) spdlog::warn("{}", w);
  spdlog::info("placement owner: {} ({})", PlacementOwnerName(live.owner.owner), live.owner.why);
  return live;
}

LiveHost HostOptions::LoadAuditView() const {
  LiveHost live = LoadLiveShape();
  if (live.owner.owner != PlacementOwner::kKubelet) return live;
  // Without a readable config the checkpoint alone still says which CPUs each
  // pod holds; only full-pcpus-only goes unchecked.
  try {
    live.kubelet = FindKubeletConfig(root, kubelet_config, LoadConfig());
  } catch (const InputError& e) {
    spdlog::warn("{}: audited by kubelet's checkpoint alone", e.what());
  }
  if (!live.kubelet) spdlog::warn("no kubelet config found: full-pcpus-only not checked");
  return live;
}

AgentConfig HostOptions::LoadConfig() const {
  // An explicitly named config must exist; the default path may be absent.
  return config.empty() ? LoadAgentConfig() : LoadAgentConfig(config, true);
}

Catalog HostOptions::LoadCatalog() const {
  Catalog catalog = no_builtin_catalog ? Catalog{} : BuiltinCatalog();
  for (const auto& file : catalogs) {
    Catalog extra = LoadCatalogYaml(file);
    spdlog::info("{}: {} instance types", file, extra.types.size());
    catalog.Merge(extra);
  }
  // An empty table with exit 0 would read as "nothing fits here".
  if (catalog.types.empty())
    throw std::invalid_argument(
        catalogs.empty() ? "--no-builtin-catalog needs at least one --catalog file"
                         : "--no-builtin-catalog: the --catalog files hold no instance type");
  return catalog;
}

}  // namespace kvhost::cli
