// Catalog helpers shared by the built-in table and the YAML loader.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "agent/catalog/instance_type.h"

namespace kvhost {

// CRI-O annotation that keeps device interrupts off a pod's CPUs (rt1, n1).
inline constexpr std::string_view kIrqLoadBalancingAnnotation = "irq-load-balancing.crio.io";

// "cx1.large" -> "cx1"; a name without '.' is its own series.
std::string SeriesOf(std::string_view name);

// True when spec.annotations asks CRI-O to disable IRQ load balancing.
bool DisablesIrqLoadBalancing(const std::map<std::string, std::string>& annotations);

// The catalog's order: series by name, then by size (vCPUs, then memory), then
// by name, so "n1.medium" (4 vCPUs, 4Gi) comes before "n1.large" (4, 8Gi) and
// "cx1.large" before its 1Gi-page twin "cx1.large1gi".
void SortBySeriesThenSize(std::vector<InstanceType>& types);

}  // namespace kvhost
