// Refusal lines: why a VM does not fit, in words with the numbers. Built with
// fmt only for a refusal that is returned; a try thrown away keeps flags and
// numbers, not words (see node_fit.h).
#pragma once

#include <fmt/compile.h>
#include <fmt/format.h>

#include <cstdint>
#include <string>

#include "agent/allocator/refusal_lines.h"
#include "base/sizes.h"

namespace kvhost {

// fmt::format for refusal lines. Capacity returns a refusal for every type it
// counts, so a line should cost about one allocation: the format is compiled
// (pass FMT_COMPILE("...")) and written into fmt's stack buffer, then copied
// into the string once. fmt::format(FMT_COMPILE(...)) with a Kib among the
// arguments takes the runtime path, and a std::string grown piece by piece
// zero-fills every piece first; each measured about twice the instructions.
template <typename Format, typename... Args>
std::string RefusalLine(const Format& format, const Args&... args) {
  fmt::memory_buffer line;
  fmt::format_to(fmt::appender(line), format, args...);
  return std::string(line.data(), line.size());
}

// RefusalLine added to `lines`: formatted on the stack, then copied once into
// the lines' one block.
template <typename Format, typename... Args>
void AddLine(RefusalLines& lines, const Format& format, const Args&... args) {
  fmt::memory_buffer line;
  fmt::format_to(fmt::appender(line), format, args...);
  lines.push_back({line.data(), line.size()});
}

// The shared pool's vCPU:CPU ratio as configured: its shortest digits ("1.5").
struct Ratio {
  double value = 0;
};

}  // namespace kvhost

template <>
struct fmt::formatter<kvhost::Ratio> {
  constexpr auto parse(format_parse_context& ctx) { return ctx.begin(); }
  // Whole ratios, the usual 1, 2 and 4, print as the integer they are: the
  // shortest-double path costs as much again as the rest of a pool line.
  template <typename Context>
  auto format(kvhost::Ratio ratio, Context& ctx) const {
    const double r = ratio.value;
    if (r >= 0 && r < 0x1p53 && r == static_cast<double>(static_cast<uint64_t>(r)))
      return fmt::format_to(ctx.out(), FMT_COMPILE("{}"), static_cast<uint64_t>(r));
    return fmt::format_to(ctx.out(), FMT_COMPILE("{}"), r);
  }
};
