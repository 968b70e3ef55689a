#include "agent/catalog/catalog.h"

#include <algorithm>
#include <tuple>

#include "base/nearest_name.h"

namespace kvhost {

std::string SeriesOf(std::string_view name) { return std::string(name.substr(0, name.find('.'))); }

bool DisablesIrqLoadBalancing(const std::map<std::string, std::string>& annotations) {
  const auto it = annotations.find(std::string(kIrqLoadBalancingAnnotation));
  return it != annotations.end() && it->second == "disable";
}

void SortBySeriesThenSize(std::vector<InstanceType>& types) {
  std::stable_sort(types.begin(), types.end(), [](const InstanceType& a, const InstanceType& b) {
    return std::tie(a.series, a.vcpus, a.memory_kib, a.name) <
           std::tie(b.series, b.vcpus, b.memory_kib, b.name);
  });
}

const InstanceType* Catalog::Find(const std::string& name) const {
  const auto it = std::find_if(types.begin(), types.end(),
                               [&](const InstanceType& t) { return t.name == name; });
  return it == types.end() ? nullptr : &*it;
}

std::string Catalog::DidYouMean(const std::string& name) const {
  std::vector<std::string> names;
  for (const auto& t : types) names.push_back(t.name);
  return kvhost::DidYouMean(name, names);
}

void Catalog::Merge(const Catalog& other) {
  for (const InstanceType& incoming : other.types) {
    const auto it = std::find_if(types.begin(), types.end(),
                                 [&](const InstanceType& t) { return t.name == incoming.name; });
    if (it == types.end())
      types.push_back(incoming);
    else
      *it = incoming;  // the later source wins: an operator's file overrides the built-in table
  }
  SortBySeriesThenSize(types);
}

}  // namespace kvhost
