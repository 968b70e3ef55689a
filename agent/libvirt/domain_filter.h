// Which libvirt domains the agent manages (config key `domains`): those whose
// name matches one of the globs. The others are another's VMs, on a host the
// agent shares: it never pins, unpins, re-pins, reconciles, audits or counts
// them. Every connection carries one (LibvirtConnection), so every listing and
// look-up of the agent goes through it.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace kvhost {

class DomainFilter {
 public:
  // Every domain ("*"), as with no `domains` key.
  DomainFilter();
  // fnmatch(3) globs on domain names (`*`, `?`, `[...]`); a name matching any
  // is managed. `source`: where they were set, for messages (a config file).
  DomainFilter(std::vector<std::string> globs, std::string source);

  bool Manages(std::string_view domain_name) const;
  bool ManagesEvery() const { return every_; }
  const std::vector<std::string>& globs() const { return globs_; }
  // `domains "kvhost-*"` (config /etc/kvhost-agent/config.yaml).
  std::string Describe() const;

 private:
  std::vector<std::string> globs_;
  std::string source_;
  bool every_ = false;
};

// A look-up of a domain the filter leaves alone: it exists, but the agent
// must act as if it did not.
class DomainNotManaged : public std::runtime_error {
 public:
  DomainNotManaged(const std::string& domain_name, const DomainFilter& filter);
};

}  // namespace kvhost
