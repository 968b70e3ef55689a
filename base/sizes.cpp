#include "base/sizes.h"

#include <array>
#include <charconv>

namespace kvhost {

std::string FormatKib(uint64_t kib) { return fmt::format(FMT_COMPILE("{}"), Kib{kib}); }

namespace {

// A KiB count's binary suffixes, each 1024 times the one before.
constexpr std::array<std::string_view, 5> kBinarySuffixes = {"Ki", "Mi", "Gi", "Ti", "Pi"};
constexpr std::string_view kHugepagesPrefix = "hugepages-";

}  // namespace

std::string KibQuantity(uint64_t kib) {
  if (kib == 0) return "0";
  size_t step = 0;
  while (step + 1 < kBinarySuffixes.size() && kib % 1024 == 0) {
    kib /= 1024;
    ++step;
  }
  return std::to_string(kib) + std::string(kBinarySuffixes[step]);
}

std::string HugepageResourceName(uint64_t page_kib) {
  return std::string(kHugepagesPrefix) + KibQuantity(page_kib);
}

std::optional<uint64_t> HugepageSizeKib(std::string_view resource) {
  if (!resource.starts_with(kHugepagesPrefix)) return std::nullopt;
  const std::string_view quantity = resource.substr(kHugepagesPrefix.size());
  const char* const last = quantity.data() + quantity.size();
  uint64_t number = 0;
  const auto [digits_end, ec] = std::from_chars(quantity.data(), last, number);
  if (ec != std::errc() || number == 0) return std::nullopt;
  const std::string_view suffix(digits_end, static_cast<size_t>(last - digits_end));
  for (size_t step = 0; step < kBinarySuffixes.size(); ++step) {
    if (suffix != kBinarySuffixes[step]) continue;
    const unsigned shift = 10 * static_cast<unsigned>(step);
    if (number > (UINT64_MAX >> shift)) return std::nullopt;
    const uint64_t kib = number << shift;
    // Only the spelling HugepageResourceName gives: "hugepages-2048Ki" is
    // not kubelet's name for 2Mi pages, and "hugepages-02Mi" no name at all.
    if (HugepageResourceName(kib) != resource) return std::nullopt;
    return kib;
  }
  return std::nullopt;
}

}  // namespace kvhost
