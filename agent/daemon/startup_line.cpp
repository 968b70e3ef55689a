#include "agent/daemon/startup_line.h"

#include <fmt/format.h>

namespace kvhost {
namespace {

std::string Joined(const std::vector<std::string>& parts, const char* separator) {
  std::string out;
  for (const auto& part : parts) out += (out.empty() ? "" : separator) + part;
  return out;
}

// "10 s", "1.5 s", "250 ms": as an operator wrote it in refreshInterval.
std::string Interval(std::chrono::milliseconds interval) {
  if (interval.count() % 1000 == 0) return fmt::format("{} s", interval.count() / 1000);
  if (interval.count() > 1000) return fmt::format("{:g} s", interval.count() / 1000.0);
  return fmt::format("{} ms", interval.count());
}

std::string WhoPlaces(const StartupFacts& facts) {
  std::string out = "placement owner " + facts.owner + " (" + facts.owner_why + ")";
  if (!facts.kubelet_config.empty()) out += ", kubelet config " + facts.kubelet_config;
  if (facts.owner == "kubelet")
    return out + ", audits every " + std::to_string(facts.kubelet_audit_interval.count()) +
           " s and pins nothing";
  std::vector<std::string> sources = facts.libvirt_uris;
  if (facts.kubevirt_glob) sources.push_back("virt-launcher sockets " + *facts.kubevirt_glob);
  return out + ", pins VMs of " +
         (sources.empty() ? std::string("no libvirt") : Joined(sources, " and "));
}

std::string Outputs(const StartupFacts& facts, const DaemonSettings& settings) {
  std::vector<std::string> outputs;
  outputs.push_back(settings.feature_file.empty() ? "no labels"
                                                  : "labels to " + settings.feature_file);
  outputs.push_back(settings.nrt_file.empty() ? "no NRT" : "NRT to " + settings.nrt_file);
  if (settings.api_address.empty()) {
    outputs.push_back("API off");
  } else {
    const bool v6 = settings.api_address.find(':') != std::string::npos;
    outputs.push_back(fmt::format("API http://{}:{}",
                                  v6 ? "[" + settings.api_address + "]" : settings.api_address,
                                  facts.api_port));
  }
  if (facts.control_socket) outputs.push_back("control socket " + settings.control_socket);
  return Joined(outputs, ", ");
}

}  // namespace

std::string StartupLine(const StartupFacts& facts, const DaemonSettings& settings) {
  return fmt::format(
      "kvhost-agent {} (commit {}, {} build) ready on root {}: {}; {}; refresh every {}",
      facts.version, facts.git_commit, facts.build_type, facts.root, WhoPlaces(facts),
      Outputs(facts, settings), Interval(settings.refresh_interval));
}

}  // namespace kvhost
