// Which file is kubelet's KubeletConfiguration on a host. kubelet reads
// whatever its --config argument names, and distributions put it in different
// places (kubeadm /var/lib/kubelet/config.yaml, Talos /etc/kubernetes/
// kubelet.yaml inside kubelet's own container), so the file is found the way
// kubelet's command line says, everything read under the root.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace kvhost {

struct KubeletConfigLocation {
  // Found: the file to read. A file named by the operator or by kubelet's
  // command line is given whether or not it exists; its reader says it is
  // absent, with `why`. Not found: the first file tried, for the error.
  std::filesystem::path file;
  // One line. Found: how the file was chosen ("--kubelet-config", "config
  // /etc/kvhost-agent/config.yaml: kubeletConfig", "default
  // /var/lib/kubelet/config.yaml", "kubelet pid 1234 --config
  // /etc/kubernetes/kubelet.yaml (read through proc/1234/root: kubelet's own
  // mount namespace)"). Not found: what was tried, after `file` ("absent, and
  // no process under /proc runs kubelet").
  std::string why;
  bool found = false;
};

// In order:
// - explicit_file (--kubelet-config): a path on this machine, as given;
// - config_key_file (the agent config's kubeletConfig, `config_source` its
//   file): an absolute path on the host, read under `root`;
// - <root>/var/lib/kubelet/config.yaml when it exists;
// - the --config of the kubelet running under the root: the first process of
//   <root>/proc whose argv[0] is named kubelet. Its path is read under the
//   root when kubelet shares the root's mount namespace (this process's on
//   the real root, else that of <root>/proc/1); otherwise (or when that cannot
//   be told) through <root>/proc/<pid>/root when the file is there. A
//   relative path is taken from kubelet's working directory.
KubeletConfigLocation LocateKubeletConfig(const std::filesystem::path& root,
                                          const std::string& explicit_file,
                                          const std::string& config_key_file,
                                          const std::string& config_source);

// The value of --config on a NUL-separated command line (/proc/<pid>/cmdline),
// as kubelet's flag parser (spf13/pflag) takes it: `--config FILE` or
// `--config=FILE`, the last one winning, nothing after a bare `--`. nullopt
// when there is none.
std::optional<std::string> KubeletConfigArgument(std::string_view cmdline);

}  // namespace kvhost
