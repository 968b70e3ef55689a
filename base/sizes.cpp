#include "base/sizes.h"

namespace kvhost {

std::string FormatKib(uint64_t kib) { return fmt::format(FMT_COMPILE("{}"), Kib{kib}); }

}  // namespace kvhost
