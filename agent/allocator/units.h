// Human sizes for blocker messages: Kubernetes quantity style ("4Gi", "512Mi").
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace kvhost {

// Exact sizes print exactly ("4Gi"); others with two decimals ("6.34Gi").
inline std::string FormatKib(uint64_t kib) {
  if (kib && kib % (1024 * 1024) == 0) return std::to_string(kib / (1024 * 1024)) + "Gi";
  if (kib && kib % 1024 == 0 && kib < 1024 * 1024) return std::to_string(kib / 1024) + "Mi";
  char buf[32];
  if (kib >= 1024 * 1024)
    std::snprintf(buf, sizeof buf, "%.2fGi", kib / 1048576.0);
  else if (kib >= 1024)
    std::snprintf(buf, sizeof buf, "%.2fMi", kib / 1024.0);
  else
    std::snprintf(buf, sizeof buf, "%lluKi", static_cast<unsigned long long>(kib));
  return buf;
}

// Pages needed to back `kib` of guest memory with pages of `page_kib`.
inline uint64_t PagesFor(uint64_t kib, uint64_t page_kib) {
  return page_kib ? (kib + page_kib - 1) / page_kib : 0;
}

}  // namespace kvhost
