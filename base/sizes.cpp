#include "base/sizes.h"

#include <iterator>

namespace kvhost {

std::string FormatKib(uint64_t kib) { return fmt::format(FMT_COMPILE("{}"), Kib{kib}); }

std::string KibQuantity(uint64_t kib) {
  if (kib == 0) return "0";
  static constexpr const char* kSuffixes[] = {"Ki", "Mi", "Gi", "Ti", "Pi"};
  size_t step = 0;
  while (step + 1 < std::size(kSuffixes) && kib % 1024 == 0) {
    kib /= 1024;
    ++step;
  }
  return std::to_string(kib) + kSuffixes[step];
}

}  // namespace kvhost
