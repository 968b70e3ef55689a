#include "agent/live/kubelet_config_location.h"

#include <vector>

#include "agent/kubelet/kubelet_config.h"
#include "base/host_root.h"
#include "base/sysfs_root.h"

namespace kvhost {
namespace {

namespace fs = std::filesystem;

std::vector<std::string_view> Arguments(std::string_view cmdline) {
  std::vector<std::string_view> args;
  while (!cmdline.empty()) {
    const size_t nul = cmdline.find('\0');
    args.push_back(cmdline.substr(0, nul));
    if (nul == std::string_view::npos) break;
    cmdline.remove_prefix(nul + 1);
  }
  return args;
}

bool RunsKubelet(std::string_view cmdline) {
  const std::string_view argv0 = cmdline.substr(0, cmdline.find('\0'));
  const size_t slash = argv0.rfind('/');
  return (slash == std::string_view::npos ? argv0 : argv0.substr(slash + 1)) == "kubelet";
}

struct KubeletProcess {
  unsigned pid = 0;
  std::optional<std::string> config;  // its --config
};

// comm is read first: reading a process's cmdline waits for the lock on its
// memory map, which a process stuck in the kernel can hold for good, while
// comm never waits; and it is one short read for each of the many processes
// that are not kubelet. A root replayed without comm files has every cmdline
// read.
std::optional<KubeletProcess> FindKubelet(const SysfsRoot& root) {
  for (const unsigned pid : root.ListNumbered("proc", "")) {
    const std::string dir = "proc/" + std::to_string(pid) + "/";
    try {
      if (auto comm = root.ReadOptional(dir + "comm"); comm && *comm != "kubelet") continue;
      const std::optional<std::string> cmdline = root.ReadOptional(dir + "cmdline");
      if (cmdline && RunsKubelet(*cmdline))
        return KubeletProcess{pid, KubeletConfigArgument(*cmdline)};
    } catch (const InputError&) {
      // A process that ended mid-read, or an entry no reader may open: not kubelet.
    }
  }
  return std::nullopt;
}

// readlink's text ("mnt:[4026531840]", a working directory); nullopt when the
// link cannot be read (absent, not a link, another user's process).
std::optional<std::string> LinkText(const SysfsRoot& root, const std::string& relative) {
  std::error_code ec;
  const fs::path target = fs::read_symlink(root.PathOf(relative), ec);
  if (ec) return std::nullopt;
  return target.string();
}

// The mount namespace whose files <root>/<path> shows: on the real root this
// process's own; any other root (the host's filesystem mounted into a
// container, a replay) is the host's, the namespace of its init.
std::optional<std::string> RootsNamespace(const SysfsRoot& root) {
  return LinkText(root, IsRealHostRoot(root.root()) ? "proc/self/ns/mnt" : "proc/1/ns/mnt");
}

// The file kubelet's --config names, as kubelet itself opens it.
KubeletConfigLocation FromKubelet(const SysfsRoot& root, const KubeletProcess& kubelet) {
  const std::string proc = "proc/" + std::to_string(kubelet.pid);
  std::string why = "kubelet pid " + std::to_string(kubelet.pid);
  if (!kubelet.config || kubelet.config->empty())
    return {root.PathOf(kubelet::kKubeletConfigPath),
            "absent, and " + why + " runs without --config (" +
                root.PathOf(proc + "/cmdline").string() + ")",
            false};
  why += " --config " + *kubelet.config;
  fs::path path = *kubelet.config;
  if (path.is_relative()) {
    const std::optional<std::string> cwd = LinkText(root, proc + "/cwd");
    if (!cwd || !cwd->starts_with('/'))
      return {root.PathOf(proc + "/cwd"),
              "cannot be read, and " + why + " is relative to kubelet's working directory", false};
    path = fs::path(*cwd) / path;
    why += " in " + *cwd;
  }
  // Normalized first, so no ".." leads out of the root.
  const std::string relative = path.lexically_normal().relative_path().string();
  const std::optional<std::string> own = LinkText(root, proc + "/ns/mnt");
  const std::optional<std::string> roots = RootsNamespace(root);
  if (own && roots && *own == *roots)
    return {root.PathOf(relative), why + " (the host's mount namespace)", true};
  const std::string through = proc + "/root/" + relative;
  const std::string ns = own && roots ? "kubelet's own mount namespace"
                                      : "kubelet's mount namespace could not be told";
  const bool inside = root.Exists(through);
  if (inside || !root.Exists(relative))
    return {root.PathOf(through),
            why + " (read through " + proc + "/root: " + ns +
                (inside ? "" : "; the host's /" + relative + " is absent too") + ")",
            true};
  return {root.PathOf(relative),
          why + " (" + ns + ", but " + through + " is absent: the host's file of that name)", true};
}

}  // namespace

std::optional<std::string> KubeletConfigArgument(std::string_view cmdline) {
  const std::vector<std::string_view> args = Arguments(cmdline);
  std::optional<std::string> value;
  // Which other flags take a value is not known here, so one whose value is
  // literally "--config" would be misread; kubelet has no such flag value.
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (arg == "--") break;
    if (arg == "--config" && i + 1 < args.size())
      value = std::string(args[++i]);
    else if (arg.starts_with("--config="))
      value = std::string(arg.substr(std::string_view("--config=").size()));
  }
  return value;
}

KubeletConfigLocation LocateKubeletConfig(const std::filesystem::path& root,
                                          const std::string& explicit_file,
                                          const std::string& config_key_file,
                                          const std::string& config_source) {
  if (!explicit_file.empty()) return {explicit_file, "--kubelet-config", true};
  const SysfsRoot host(root, SysfsRoot::Access::kKeptFiles);  // a file or two: no root fd
  if (!config_key_file.empty()) {
    const size_t start = config_key_file.find_first_not_of('/');
    return {host.PathOf(start == std::string::npos ? "" : config_key_file.substr(start)),
            "config " + config_source + ": kubeletConfig", true};
  }
  const std::string_view default_file = kubelet::kKubeletConfigPath;
  if (host.Exists(default_file))
    return {host.PathOf(default_file), "default /" + std::string(default_file), true};
  const SysfsRoot scanned(root);  // a read or two per process: the root opened once
  if (const std::optional<KubeletProcess> kubelet = FindKubelet(scanned))
    return FromKubelet(scanned, *kubelet);
  return {host.PathOf(default_file),
          "absent, and no process under " + host.PathOf("proc").string() + " runs kubelet", false};
}

}  // namespace kvhost
