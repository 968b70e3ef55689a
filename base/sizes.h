// Sizes in KiB, the unit every model keeps memory in: how many pages hold
// one, and how one prints (Kubernetes quantity style: "4Gi", "512Mi", "6.34Gi").
// The one size formatter of the tree: refusals, reports and `inspect` use it.
#pragma once

#include <fmt/compile.h>
#include <fmt/format.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kvhost {

// The two hugepage sizes x86 and arm64 hosts offer VMs, and the units
// quantities are written in, all in KiB.
inline constexpr uint64_t kMiKib = 1024;
inline constexpr uint64_t kGiKib = 1024 * 1024;
inline constexpr uint64_t k2MiPageKib = 2 * kMiKib;
inline constexpr uint64_t k1GiPageKib = kGiKib;

// Pages needed to back `kib` of guest memory with pages of `page_kib`.
inline uint64_t PagesFor(uint64_t kib, uint64_t page_kib) {
  return page_kib ? (kib + page_kib - 1) / page_kib : 0;
}

// A size to print with fmt: fmt::format("{} free", Kib{kib}). Exact sizes
// print exactly ("4Gi", "512Mi", "64Ki", "0Ki"); others in the largest unit
// below them with two decimals ("6.34Gi", "1.50Gi"), as "%.2f" rounds.
struct Kib {
  uint64_t kib = 0;
};

std::string FormatKib(uint64_t kib);

// Kubernetes quantity strings for sizes kept in KiB: the largest binary suffix
// that divides exactly ("2Mi", "64Gi", "1536Ki"), "0" for nothing. Exact, so
// what a config or an object says reads back as the same number of bytes.
std::string KibQuantity(uint64_t kib);

// kubelet's resource name for hugepages of `page_kib`, as Kubernetes spells
// it (HugePageResourceName: "hugepages-" and the size as a quantity):
// "hugepages-64Ki", "hugepages-2Mi", "hugepages-32Mi", "hugepages-1Gi".
std::string HugepageResourceName(uint64_t page_kib);
// The page size in KiB a name HugepageResourceName would give stands for;
// nullopt for any other ("memory", "hugepages-2048Ki", "hugepages-2M").
std::optional<uint64_t> HugepageSizeKib(std::string_view resource);

namespace sizes_internal {

// `kib` / `unit` with two decimals: the exact quotient rounded to nearest,
// ties to even, which is what "{:.2f}" prints for it. In integers because
// refusals print sizes on capacity's path and "{:.2f}" costs three times as
// much; beyond 2^53 KiB (where kib * 100 could overflow) the double's own.
template <typename Out>
Out WriteTwoDecimals(Out out, uint64_t kib, uint64_t unit, const char* suffix) {
  if (kib >= uint64_t{1} << 53)
    return fmt::format_to(out, FMT_COMPILE("{:.2f}{}"), static_cast<double>(kib) / unit, suffix);
  uint64_t hundredths = kib * 100 / unit;
  const uint64_t rest = kib * 100 % unit;
  if (rest * 2 > unit || (rest * 2 == unit && hundredths % 2 == 1)) ++hundredths;
  return fmt::format_to(out, FMT_COMPILE("{}.{:02}{}"), hundredths / 100, hundredths % 100, suffix);
}

template <typename Out>
Out WriteKib(Out out, uint64_t kib) {
  constexpr uint64_t kMi = kMiKib, kGi = kGiKib;
  if (kib < kMi) return fmt::format_to(out, FMT_COMPILE("{}Ki"), kib);
  if (kib % kGi == 0) return fmt::format_to(out, FMT_COMPILE("{}Gi"), kib / kGi);
  if (kib >= kGi) return WriteTwoDecimals(out, kib, kGi, "Gi");
  if (kib % kMi == 0) return fmt::format_to(out, FMT_COMPILE("{}Mi"), kib / kMi);
  return WriteTwoDecimals(out, kib, kMi, "Mi");
}

}  // namespace sizes_internal
}  // namespace kvhost

template <>
struct fmt::formatter<kvhost::Kib> {
  constexpr auto parse(format_parse_context& ctx) { return ctx.begin(); }
  // Written into a local buffer and copied out once: writing each piece
  // through the caller's output iterator cost twice as much.
  template <typename Context>
  auto format(kvhost::Kib size, Context& ctx) const {
    char text[32];  // the longest, 2^64 - 1 KiB: "17592186044416.00Gi"
    const char* end = kvhost::sizes_internal::WriteKib(text, size.kib);
    return fmt::format_to(ctx.out(), FMT_COMPILE("{}"),
                          fmt::string_view(text, static_cast<size_t>(end - text)));
  }
};
