// Unit tests for the text parsers every reader builds on: kernel cpulists and
// cpumasks, CpuSet set algebra, the kernel command line and isolcpus=.
#include "base/cpu_set.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "cpu/isolation.h"
#include "cpu/kernel_cmdline.h"

namespace kvhost {
namespace {

CpuSet Of(std::initializer_list<unsigned> ids) {
  CpuSet s;
  for (unsigned id : ids) s.Add(id);
  return s;
}

// The FormatError message for `text`, or "" when it parses.
std::string ParseError(std::string_view text, unsigned nr_cpus = 0) {
  try {
    ParseCpuList(text, nr_cpus);
  } catch (const FormatError& e) {
    return e.what();
  }
  return "";
}

// --- ParseCpuList -----------------------------------------------------------

TEST(ParseCpuList, SingleIdsAndRanges) {
  EXPECT_EQ(ParseCpuList("0"), Of({0}));
  EXPECT_EQ(ParseCpuList("0-3,8,10-11"), Of({0, 1, 2, 3, 8, 10, 11}));
  EXPECT_EQ(ParseCpuList("5-5"), Of({5}));
  EXPECT_EQ(ParseCpuList("200"), Of({200}));  // beyond the first 64-bit word
}

TEST(ParseCpuList, EmptyTextIsTheEmptySet) {
  // sysfs prints "" for an empty mask (a CPU-less node, no isolated CPUs).
  EXPECT_TRUE(ParseCpuList("").Empty());
  EXPECT_TRUE(ParseCpuList("  ").Empty());
}

TEST(ParseCpuList, GroupFormTakesUsedOfEverySize) {
  // lib/bitmap.c: "0-31:2/8" is CPUs 0-1, 8-9, 16-17, 24-25.
  EXPECT_EQ(ParseCpuList("0-31:2/8"), Of({0, 1, 8, 9, 16, 17, 24, 25}));
  EXPECT_EQ(ParseCpuList("0-7:1/2"), Of({0, 2, 4, 6}));
  EXPECT_EQ(ParseCpuList("4-9:3/3"), CpuSet::Range(4, 9));
  // The group restarts at the range's first CPU, not at CPU 0.
  EXPECT_EQ(ParseCpuList("1-8:1/4"), Of({1, 5}));
}

TEST(ParseCpuList, NIsTheLastCpuWhenTheCountIsKnown) {
  EXPECT_EQ(ParseCpuList("N", 8), Of({7}));
  EXPECT_EQ(ParseCpuList("4-N", 8), CpuSet::Range(4, 7));
  EXPECT_EQ(ParseCpuList("0-N:1/2", 8), Of({0, 2, 4, 6}));
  // Without a CPU count "N" means nothing.
  EXPECT_NE(ParseError("N"), "");
}

TEST(ParseCpuList, SpacesAroundItemsAndNumbersAreAccepted) {
  EXPECT_EQ(ParseCpuList(" 0-3, 8 "), Of({0, 1, 2, 3, 8}));
  EXPECT_EQ(ParseCpuList("0 - 2,\t5"), Of({0, 1, 2, 5}));
}

TEST(ParseCpuList, BackwardsRangeIsAnErrorNamingTheItem) {
  const std::string err = ParseError("0,7-3");
  EXPECT_NE(err.find("7-3"), std::string::npos) << err;
  EXPECT_NE(err.find("backwards"), std::string::npos) << err;
}

TEST(ParseCpuList, GarbageIsAnErrorNamingThePiece) {
  for (const char* text : {"abc", "0-3,x", "1-", "-1", "0x3", "3.5", "1-2-3", "0-3/2"}) {
    SCOPED_TRACE(text);
    EXPECT_NE(ParseError(text), "");
  }
  const std::string err = ParseError("0-3,zz");
  EXPECT_NE(err.find("'zz'"), std::string::npos) << err;
}

TEST(ParseCpuList, EmptyItemIsAnError) {
  for (const char* text : {"0,,2", "1,", ",1", ","}) {
    SCOPED_TRACE(text);
    EXPECT_NE(ParseError(text).find("empty item"), std::string::npos) << ParseError(text);
  }
}

TEST(ParseCpuList, BadGroupsAreErrors) {
  for (const char* text : {"0-7:2", "0-7:0/4", "0-7:3/2", "0-7:1/0", "0-7:a/4"}) {
    SCOPED_TRACE(text);
    EXPECT_NE(ParseError(text), "");
  }
}

TEST(ParseCpuList, IdsBeyondAnyRealMachineAreErrors) {
  // A corrupt file must not make us allocate a bitmap for CPU 4 billion.
  EXPECT_NE(ParseError("4294967295"), "");
  EXPECT_NE(ParseError("0-99999999"), "");
}

// --- ParseCpuMask -----------------------------------------------------------

TEST(ParseCpuMask, ThirtyTwoBitGroupsMostSignificantFirst) {
  EXPECT_EQ(ParseCpuMask("0000ff0f"), Of({0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15}));
  EXPECT_EQ(ParseCpuMask("00000000,0000ff0f"), ParseCpuMask("0000ff0f"));
  EXPECT_EQ(ParseCpuMask("00000001,00000000"), Of({32}));
  EXPECT_EQ(ParseCpuMask("80000000,00000000,00000001"), Of({0, 95}));
  EXPECT_EQ(ParseCpuMask("FF"), CpuSet::Range(0, 7));  // upper-case hex too
}

TEST(ParseCpuMask, ZeroAndEmptyMasksAreEmptySets) {
  EXPECT_TRUE(ParseCpuMask("").Empty());
  EXPECT_TRUE(ParseCpuMask("00000000,00000000").Empty());
}

TEST(ParseCpuMask, NonHexIsAnError) {
  EXPECT_THROW(ParseCpuMask("0000fg00"), FormatError);
  EXPECT_THROW(ParseCpuMask("0-3"), FormatError);
}

// --- CpuSet -----------------------------------------------------------------

TEST(CpuSet, ToListIsTheCanonicalKernelCpulist) {
  EXPECT_EQ(CpuSet().ToList(), "");
  EXPECT_EQ(Of({3}).ToList(), "3");
  EXPECT_EQ(Of({0, 1, 2, 3, 8, 10, 11}).ToList(), "0-3,8,10-11");
  EXPECT_EQ(Of({63, 64}).ToList(), "63-64");  // a run across a word boundary
}

TEST(CpuSet, CanonicalListsRoundTrip) {
  for (const char* list : {"", "0", "0-3,8,10-11", "1,3,5", "0-127", "63-64,200-255,1000"}) {
    SCOPED_TRACE(list);
    EXPECT_EQ(ParseCpuList(list).ToList(), list);
  }
}

TEST(CpuSet, RandomSetsRoundTripThroughListAndIds) {
  std::mt19937 rng(20240611);  // fixed: the same sets on every run
  for (int round = 0; round < 200; ++round) {
    CpuSet s;
    const unsigned span = 1 + rng() % 300;
    for (unsigned c = 0; c < span; ++c)
      if (rng() % 3 == 0) s.Add(c);
    SCOPED_TRACE(s.ToList());
    EXPECT_EQ(ParseCpuList(s.ToList()), s);
    CpuSet rebuilt;
    for (unsigned id : s.Ids()) rebuilt.Add(id);
    EXPECT_EQ(rebuilt, s);
    EXPECT_EQ(s.Ids().size(), s.Count());
  }
}

TEST(CpuSet, FirstLastCountAndContains) {
  const CpuSet s = Of({5, 70, 130});
  EXPECT_EQ(s.First(), 5);
  EXPECT_EQ(s.Last(), 130);
  EXPECT_EQ(s.Count(), 3u);
  EXPECT_TRUE(s.Contains(70));
  EXPECT_FALSE(s.Contains(6));
  EXPECT_FALSE(s.Contains(100000));  // far beyond the stored words
  EXPECT_EQ(CpuSet().First(), -1);
  EXPECT_EQ(CpuSet().Last(), -1);
  EXPECT_EQ(CpuSet::Range(2, 4), Of({2, 3, 4}));
}

TEST(CpuSet, SetOperations) {
  const CpuSet a = ParseCpuList("0-7,64-71");
  const CpuSet b = ParseCpuList("4-11");
  EXPECT_EQ((a | b).ToList(), "0-11,64-71");
  EXPECT_EQ((a & b).ToList(), "4-7");
  EXPECT_EQ((a - b).ToList(), "0-3,64-71");
  EXPECT_EQ((b - a).ToList(), "8-11");
  EXPECT_TRUE(a.Intersects(b));
  EXPECT_FALSE(ParseCpuList("0-3").Intersects(ParseCpuList("4-7")));
  EXPECT_TRUE(ParseCpuList("4-5").IsSubsetOf(b));
  EXPECT_FALSE(a.IsSubsetOf(b));
  EXPECT_TRUE(CpuSet().IsSubsetOf(b));

  CpuSet c = a;
  c |= ParseCpuList("200");
  EXPECT_EQ(c.ToList(), "0-7,64-71,200");
  c -= ParseCpuList("64-300");
  EXPECT_EQ(c.ToList(), "0-7");
}

TEST(CpuSet, EqualityIgnoresHowTheSetWasBuilt) {
  // Removing the only high CPU must leave a set equal to one that never had it.
  CpuSet s = Of({1, 200});
  s.Remove(200);
  EXPECT_EQ(s, Of({1}));
  EXPECT_EQ(ParseCpuList("0-255") & ParseCpuList("0-3"), ParseCpuList("0-3"));
  EXPECT_EQ(ParseCpuList("0-255") - ParseCpuList("4-255"), ParseCpuList("0-3"));
  s.Remove(1);
  EXPECT_TRUE(s.Empty());
  EXPECT_EQ(s, CpuSet());
}

// --- KernelCmdline ----------------------------------------------------------

TEST(KernelCmdline, LastValueBareKeysAndAbsence) {
  const auto cmd = KernelCmdline::Parse(
      "BOOT_IMAGE=/vmlinuz-6.1 root=UUID=ab-cd ro quiet isolcpus=1-3 isolcpus=4-5\n");
  EXPECT_EQ(cmd.Last("BOOT_IMAGE"), "/vmlinuz-6.1");
  EXPECT_EQ(cmd.Last("root"), "UUID=ab-cd");  // only the first '=' splits
  EXPECT_EQ(cmd.Last("quiet"), "");           // bare key
  EXPECT_EQ(cmd.Last("isolcpus"), "4-5");     // a later repeat wins, as in the kernel
  EXPECT_EQ(cmd.Last("nohz_full"), std::nullopt);
  EXPECT_EQ(cmd.Last("qui"), std::nullopt);  // no prefix matches
}

TEST(KernelCmdline, QuotesKeepSpacesInsideAValue) {
  const auto cmd = KernelCmdline::Parse(R"(a=1 dyndbg="file foo.c +p" "b=two words" c="x")");
  EXPECT_EQ(cmd.Last("dyndbg"), "file foo.c +p");
  EXPECT_EQ(cmd.Last("b"), "two words");
  EXPECT_EQ(cmd.Last("c"), "x");
  EXPECT_EQ(cmd.Last("a"), "1");
}

TEST(KernelCmdline, WhitespaceOnlyAndEmpty) {
  EXPECT_EQ(KernelCmdline::Parse("").Last("x"), std::nullopt);
  EXPECT_EQ(KernelCmdline::Parse(" \t\n ").Last("x"), std::nullopt);
  EXPECT_EQ(KernelCmdline::Parse("  x=1\t\ty=2  ").Last("y"), "2");
}

TEST(KernelCmdline, AllOfKeepsHugepageArgumentsInOrder) {
  const auto cmd = KernelCmdline::Parse(
      "hugepagesz=1G hugepages=4 quiet hugepagesz=2M hugepages=512 default_hugepagesz=1G "
      "hugepages");
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"hugepagesz", "1G"}, {"hugepages", "4"}, {"hugepagesz", "2M"}, {"hugepages", "512"}};
  // A bare "hugepages" has no value to pair, so it is left out.
  EXPECT_EQ(cmd.AllOf({"hugepagesz", "hugepages"}), expected);
}

// --- ParseIsolcpus ----------------------------------------------------------

TEST(ParseIsolcpus, NoFlagsMeansDomainIsolation) {
  std::vector<std::string> warnings;
  const Isolcpus iso = ParseIsolcpus("2-5,8", 16, warnings);
  EXPECT_EQ(iso.raw, "2-5,8");
  EXPECT_TRUE(iso.flags.empty());
  EXPECT_EQ(iso.cpus.ToList(), "2-5,8");
  EXPECT_TRUE(iso.domain_isolated);
  EXPECT_TRUE(warnings.empty());
}

TEST(ParseIsolcpus, ManagedIrqAloneLeavesSchedulerDomainsAlone) {
  // The kernel sets domain isolation only with no flags or with "domain":
  // isolcpus=managed_irq,... leaves sysfs `isolated` empty.
  std::vector<std::string> warnings;
  const Isolcpus iso = ParseIsolcpus("managed_irq,0-4,11-79", 80, warnings);
  EXPECT_EQ(iso.flags, std::vector<std::string>{"managed_irq"});
  EXPECT_EQ(iso.cpus.ToList(), "0-4,11-79");
  EXPECT_FALSE(iso.domain_isolated);
  EXPECT_TRUE(warnings.empty());
}

TEST(ParseIsolcpus, DomainFlagIsolatesWhateverElseIsThere) {
  std::vector<std::string> warnings;
  const Isolcpus iso = ParseIsolcpus("managed_irq,domain,2-5", 8, warnings);
  EXPECT_EQ(iso.flags, (std::vector<std::string>{"managed_irq", "domain"}));
  EXPECT_EQ(iso.cpus.ToList(), "2-5");
  EXPECT_TRUE(iso.domain_isolated);
}

TEST(ParseIsolcpus, NohzFlagAloneIsNotDomainIsolation) {
  std::vector<std::string> warnings;
  const Isolcpus iso = ParseIsolcpus("nohz,1-3", 8, warnings);
  EXPECT_EQ(iso.flags, std::vector<std::string>{"nohz"});
  EXPECT_FALSE(iso.domain_isolated);
}

TEST(ParseIsolcpus, NResolvesToTheLastCpu) {
  std::vector<std::string> warnings;
  EXPECT_EQ(ParseIsolcpus("domain,2-N", 8, warnings).cpus.ToList(), "2-7");
  EXPECT_EQ(ParseIsolcpus("N", 8, warnings).cpus.ToList(), "7");
}

TEST(ParseIsolcpus, UnknownFlagWarnsAndIsIgnoredLikeTheKernelDoes) {
  std::vector<std::string> warnings;
  const Isolcpus iso = ParseIsolcpus("bogus,1-3", 8, warnings);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("bogus"), std::string::npos) << warnings[0];
  EXPECT_EQ(iso.cpus.ToList(), "1-3");
  // housekeeping_isolcpus_setup skips the unknown word; with no known flag
  // left it falls back to its default, domain isolation.
  EXPECT_TRUE(iso.domain_isolated);

  warnings.clear();
  EXPECT_FALSE(ParseIsolcpus("bogus,managed_irq,1-3", 8, warnings).domain_isolated);
  EXPECT_EQ(warnings.size(), 1u);
}

TEST(ParseIsolcpus, FlagsWithoutACpuListAreAnError) {
  std::vector<std::string> warnings;
  for (const char* value : {"managed_irq", "domain", "nohz,domain"}) {
    SCOPED_TRACE(value);
    try {
      ParseIsolcpus(value, 8, warnings);
      ADD_FAILURE() << "no error for isolcpus=" << value;
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find("no CPU list"), std::string::npos) << e.what();
    }
  }
}

TEST(ParseIsolcpus, BadCpuListIsAnError) {
  std::vector<std::string> warnings;
  EXPECT_THROW(ParseIsolcpus("domain,5-2", 8, warnings), FormatError);
  EXPECT_THROW(ParseIsolcpus("1-3,x", 8, warnings), FormatError);
  EXPECT_THROW(ParseIsolcpus("nohz2,1-3", 8, warnings), FormatError);  // not a flag word
}

}  // namespace
}  // namespace kvhost
