// Kubernetes label key and value rules, ported from k8s.io/apimachinery
// (pkg/api/validate/content/kube.go and dns.go: IsLabelKey, which
// validation.IsQualifiedName aliases, and IsLabelValue). Each returns the
// problems in apimachinery's words; empty means valid.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kvhost::publish {

std::vector<std::string> IsQualifiedName(std::string_view key);
std::vector<std::string> IsValidLabelValue(std::string_view value);
std::vector<std::string> IsDns1123Subdomain(std::string_view value);

}  // namespace kvhost::publish
