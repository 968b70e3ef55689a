#include <spdlog/spdlog.h>

#include <stdexcept>

#include "agent/catalog/builtin_catalog.h"
#include "agent/cli/commands.h"
#include "agent/config/config_loader.h"
#include "agent/yaml/yaml_catalog.h"

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

void HostOptions::AddStateDir(CLI::App* command) {
  command->add_option(
      "--state-dir", state_dir,
      "Where the agent keeps its allocations (default <root>/var/lib/kvhost-agent)");
}

LiveHost HostOptions::LoadLive() const {
  // Under a replayed --root the state belongs to that root too, as kubelet's
  // files do: a fixture must never be charged with this machine's VMs.
  const std::filesystem::path dir = state_dir.empty()
                                        ? std::filesystem::path(root) / "var/lib/kvhost-agent"
                                        : std::filesystem::path(state_dir);
  LiveHost live = LoadLiveHost({.root = root, .state_dir = dir, .config = LoadConfig()});
  for (const auto& w : live.warnings) spdlog::warn("{}", w);
  spdlog::info("placement owner: {} ({})", PlacementOwnerName(live.owner.owner), live.owner.why);
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
