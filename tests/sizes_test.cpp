// The one size formatter (base/sizes.h): Kubernetes quantity style, exact
// sizes exactly, others with two decimals rounded as "%.2f" rounds.
#include "base/sizes.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace kvhost {
namespace {

constexpr uint64_t kMi = 1024, kGi = 1024 * 1024;

// What "%.2f" prints for kib / unit: the rule the integer arithmetic follows.
std::string PrintfTwoDecimals(uint64_t kib, uint64_t unit, const char* suffix) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f%s", static_cast<double>(kib) / static_cast<double>(unit),
                suffix);
  return buf;
}

TEST(Sizes, ExactSizesPrintInTheirLargestWholeUnit) {
  EXPECT_EQ(FormatKib(0), "0Ki");  // a full node's free memory
  EXPECT_EQ(FormatKib(64), "64Ki");
  EXPECT_EQ(FormatKib(1023), "1023Ki");
  EXPECT_EQ(FormatKib(2048), "2Mi");
  EXPECT_EQ(FormatKib(512 * kMi), "512Mi");
  EXPECT_EQ(FormatKib(kGi), "1Gi");
  EXPECT_EQ(FormatKib(16 * kGi), "16Gi");
  EXPECT_EQ(FormatKib(uint64_t{1} << 40), "1048576Gi");
}

TEST(Sizes, OtherSizesPrintTwoDecimalsOfTheUnitBelowThem) {
  EXPECT_EQ(FormatKib(1536), "1.50Mi");
  EXPECT_EQ(FormatKib(1536 * kMi), "1.50Gi");  // whole MiB, but past 1Gi: in Gi
  EXPECT_EQ(FormatKib(42682748), "40.71Gi");
  EXPECT_EQ(FormatKib(1152), "1.12Mi");  // 1.125: a tie, to even
  EXPECT_EQ(FormatKib(1408), "1.38Mi");  // 1.375: a tie, to even
}

TEST(Sizes, TwoDecimalsRoundAsPrintfDoes) {
  // Every KiB from 1Mi to 3Mi (ties included), and a stride through the Gi range.
  for (uint64_t kib = kMi + 1; kib < 3 * kMi; ++kib) {
    if (kib % kMi == 0) continue;  // exact: "2Mi"
    ASSERT_EQ(FormatKib(kib), PrintfTwoDecimals(kib, kMi, "Mi")) << kib;
  }
  for (uint64_t kib = kGi + 1; kib < 64 * kGi; kib += 40961) {
    if (kib % kGi == 0) continue;
    ASSERT_EQ(FormatKib(kib), PrintfTwoDecimals(kib, kGi, "Gi")) << kib;
  }
  for (uint64_t kib = kGi + kGi / 200; kib < 8 * kGi; kib += kGi / 100)  // near-ties (x.xx5)
    ASSERT_EQ(FormatKib(kib), PrintfTwoDecimals(kib, kGi, "Gi")) << kib;
}

TEST(Sizes, SizesBeyondIntegerRangePrintWithoutOverflow) {
  const uint64_t huge = (uint64_t{1} << 60) + 12345;  // kib * 100 would overflow
  EXPECT_EQ(FormatKib(huge), PrintfTwoDecimals(huge, kGi, "Gi"));
  EXPECT_EQ(FormatKib(UINT64_MAX), PrintfTwoDecimals(UINT64_MAX, kGi, "Gi"));
}

TEST(Sizes, KibFormatsInsideLargerLines) {
  EXPECT_EQ(fmt::format("{} free, needs {}", Kib{1536 * kMi}, Kib{4 * kGi}),
            "1.50Gi free, needs 4Gi");
}

TEST(Sizes, PagesRoundUp) {
  EXPECT_EQ(PagesFor(4 * kGi, 2048), 2048u);
  EXPECT_EQ(PagesFor(4 * kGi + 1, 2048), 2049u);
  EXPECT_EQ(PagesFor(4 * kGi, 0), 0u);  // no page size: no pages
}

}  // namespace
}  // namespace kvhost
