// Kubernetes resource quantities ("512Mi", "4Gi", "1G", "1.5Gi", "1e9", plain
// bytes) as the instance-type and config loaders need them: exact integer bytes.
#pragma once

#include <cstdint>
#include <string_view>

namespace kvhost {

// Parses a quantity into bytes, following k8s.io/apimachinery resource.Quantity:
// binary suffixes Ki Mi Gi Ti Pi Ei, decimal suffixes n u m k M G T P E, an
// exponent ("1e9"), an optional '+' and a fraction ("1.5Gi"). A fraction of a
// byte rounds up, as Quantity.Value() does. Throws FormatError (cpu/cpu_set.h)
// with the reason; callers add the file and line.
uint64_t ParseQuantityBytes(std::string_view text);

// Memory is accounted in KiB; a partial KiB rounds up so nothing is undercounted.
constexpr uint64_t BytesToKibRoundUp(uint64_t bytes) { return bytes / 1024 + (bytes % 1024 != 0); }

}  // namespace kvhost
