// Human sizes for blocker messages: Kubernetes quantity style ("4Gi", "512Mi").
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <string_view>

namespace kvhost {

// Joins pieces with one allocation: blocker texts are composed on every
// refusal, and capacity refuses once for every instance type it counts.
inline std::string StrCat(std::initializer_list<std::string_view> parts) {
  size_t size = 0;
  for (std::string_view p : parts) size += p.size();
  std::string out(size, '\0');
  char* at = out.data();
  for (std::string_view p : parts) at = std::copy(p.begin(), p.end(), at);
  return out;
}

// Appends pieces with at most one allocation, for lines built in parts.
inline void StrAppend(std::string& out, std::initializer_list<std::string_view> parts) {
  size_t size = out.size();
  for (std::string_view p : parts) size += p.size();
  out.reserve(size);
  for (std::string_view p : parts) out.append(p);
}

// `kib` / `unit` with two decimals and `suffix`, as "%.2f" prints the
// (exact) quotient: rounded to nearest, ties to even. Integer arithmetic
// because snprintf was the costliest part of a refusal.
inline std::string FormatTwoDecimals(uint64_t kib, uint64_t unit, const char* suffix) {
  uint64_t hundredths = kib * 100 / unit;
  const uint64_t rest = kib * 100 % unit;
  if (rest * 2 > unit || (rest * 2 == unit && hundredths % 2 == 1)) ++hundredths;
  char buf[40];
  char* end = std::to_chars(buf, buf + 24, hundredths / 100).ptr;
  *end++ = '.';
  *end++ = static_cast<char>('0' + hundredths % 100 / 10);
  *end++ = static_cast<char>('0' + hundredths % 10);
  while (*suffix) *end++ = *suffix++;
  return std::string(buf, end);
}

// `n` and `suffix` ("4Gi"), written once into the string.
inline std::string WholeUnits(uint64_t n, std::string_view suffix) {
  char buf[32];
  char* end = std::to_chars(buf, buf + 24, n).ptr;
  end = std::copy(suffix.begin(), suffix.end(), end);
  return std::string(buf, end);
}

// Exact sizes print exactly ("4Gi"); others with two decimals ("6.34Gi").
inline std::string FormatKib(uint64_t kib) {
  if (kib && kib % (1024 * 1024) == 0) return WholeUnits(kib / (1024 * 1024), "Gi");
  if (kib && kib % 1024 == 0 && kib < 1024 * 1024) return WholeUnits(kib / 1024, "Mi");
  if (kib < 1024) return WholeUnits(kib, "Ki");  // "0Ki": a full node's free memory
  if (kib < 1024 * 1024) return FormatTwoDecimals(kib, 1024, "Mi");
  // Beyond 2^53 KiB the double snprintf sees is no longer the exact quotient.
  constexpr uint64_t kExact = uint64_t{1} << 53;
  if (kib < kExact) return FormatTwoDecimals(kib, 1024 * 1024, "Gi");
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fGi", kib / 1048576.0);
  return buf;
}

// Pages needed to back `kib` of guest memory with pages of `page_kib`.
inline uint64_t PagesFor(uint64_t kib, uint64_t page_kib) {
  return page_kib ? (kib + page_kib - 1) / page_kib : 0;
}

}  // namespace kvhost
