#include "agent/libvirt/domain_filter.h"

#include <fnmatch.h>

#include <algorithm>

namespace kvhost {

DomainFilter::DomainFilter() : DomainFilter({"*"}, "the default") {}

DomainFilter::DomainFilter(std::vector<std::string> globs, std::string source)
    : globs_(std::move(globs)), source_(std::move(source)) {
  every_ = std::find(globs_.begin(), globs_.end(), "*") != globs_.end();
}

bool DomainFilter::Manages(std::string_view domain_name) const {
  if (every_) return true;
  const std::string name(domain_name);
  return std::any_of(globs_.begin(), globs_.end(), [&](const std::string& glob) {
    return fnmatch(glob.c_str(), name.c_str(), 0) == 0;
  });
}

std::string DomainFilter::Describe() const {
  std::string globs;
  for (const auto& glob : globs_) globs += (globs.empty() ? "\"" : ", \"") + glob + "\"";
  return "domains " + (globs_.size() == 1 ? globs : "[" + globs + "]") + " (" + source_ + ")";
}

DomainNotManaged::DomainNotManaged(const std::string& domain_name, const DomainFilter& filter)
    : std::runtime_error("domain '" + domain_name + "' is not managed by this agent: outside " +
                         filter.Describe() + "; nothing changed") {}

}  // namespace kvhost
