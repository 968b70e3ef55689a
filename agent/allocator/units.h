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
  for (std::string_view p : parts)  // an empty piece (a text's optional part) costs no copy call
    if (!p.empty()) at = std::copy(p.begin(), p.end(), at);
  return out;
}

// Appends pieces with at most one allocation, for lines built in parts.
inline void StrAppend(std::string& out, std::initializer_list<std::string_view> parts) {
  size_t size = out.size();
  for (std::string_view p : parts) size += p.size();
  out.reserve(size);
  for (std::string_view p : parts)
    if (!p.empty()) out.append(p);
}

// A number's decimal digits, held in place: blocker lines print several
// numbers each, and a std::string per number was a good part of their cost.
// A temporary inside a StrCat/StrAppend list lives as long as the call.
class Decimal {
 public:
  explicit Decimal(uint64_t n)
      : size_(static_cast<size_t>(std::to_chars(buf_, buf_ + sizeof buf_, n).ptr - buf_)) {}
  operator std::string_view() const { return {buf_, size_}; }

 private:
  char buf_[20];  // 2^64 - 1 has 20 digits
  size_t size_;
};

// `kib` / `unit` with two decimals and `suffix` at `at`, as "%.2f" prints the
// (exact) quotient: rounded to nearest, ties to even. Integer arithmetic
// because snprintf was the costliest part of a refusal. Returns the end.
inline char* WriteTwoDecimals(char* at, uint64_t kib, uint64_t unit, std::string_view suffix) {
  uint64_t hundredths = kib * 100 / unit;
  const uint64_t rest = kib * 100 % unit;
  if (rest * 2 > unit || (rest * 2 == unit && hundredths % 2 == 1)) ++hundredths;
  at = std::to_chars(at, at + 20, hundredths / 100).ptr;
  *at++ = '.';
  *at++ = static_cast<char>('0' + hundredths % 100 / 10);
  *at++ = static_cast<char>('0' + hundredths % 10);
  return std::copy(suffix.begin(), suffix.end(), at);
}

// A size as FormatKib prints it, held in place like Decimal: a refusal line
// carries up to three sizes, and each was a std::string built and copied.
class Kib {
 public:
  explicit Kib(uint64_t kib) : size_(static_cast<size_t>(Write(kib) - buf_)) {}
  operator std::string_view() const { return {buf_, size_}; }

 private:
  // Exact sizes print exactly ("4Gi"); others with two decimals ("6.34Gi").
  char* Write(uint64_t kib) {
    if (kib && kib % (1024 * 1024) == 0) return Whole(kib / (1024 * 1024), "Gi");
    if (kib && kib % 1024 == 0 && kib < 1024 * 1024) return Whole(kib / 1024, "Mi");
    if (kib < 1024) return Whole(kib, "Ki");  // "0Ki": a full node's free memory
    if (kib < 1024 * 1024) return WriteTwoDecimals(buf_, kib, 1024, "Mi");
    // Beyond 2^53 KiB the double snprintf sees is no longer the exact quotient.
    constexpr uint64_t kExact = uint64_t{1} << 53;
    if (kib < kExact) return WriteTwoDecimals(buf_, kib, 1024 * 1024, "Gi");
    const int n = std::snprintf(buf_, sizeof buf_, "%.2fGi", kib / 1048576.0);
    return buf_ + std::clamp(n, 0, static_cast<int>(sizeof buf_) - 1);
  }
  char* Whole(uint64_t n, std::string_view suffix) {
    char* end = std::to_chars(buf_, buf_ + 20, n).ptr;
    return std::copy(suffix.begin(), suffix.end(), end);
  }

  char buf_[40];  // 20 digits, ".00", "Gi": snprintf's longest is shorter still
  size_t size_;
};

inline std::string FormatKib(uint64_t kib) { return std::string(Kib(kib)); }

// Pages needed to back `kib` of guest memory with pages of `page_kib`.
inline uint64_t PagesFor(uint64_t kib, uint64_t page_kib) {
  return page_kib ? (kib + page_kib - 1) / page_kib : 0;
}

}  // namespace kvhost
