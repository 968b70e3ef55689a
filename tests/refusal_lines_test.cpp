// RefusalLines: a refusal's lines in one block must read back exactly as they
// were added, whatever bytes they hold, and compare as the lists they stand for.
#include "agent/allocator/refusal_lines.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "agent/allocator/refusal_text.h"

namespace kvhost {
namespace {

std::vector<std::string> Lines(const RefusalLines& lines) {
  std::vector<std::string> out;
  for (std::string_view line : lines) out.emplace_back(line);
  return out;
}

TEST(RefusalLines, EmptyHasNoLines) {
  const RefusalLines none;
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none.size(), 0u);
  EXPECT_EQ(none.begin(), none.end());
  EXPECT_EQ(none.Prefixed("; "), "");
}

TEST(RefusalLines, ReadsBackEveryLineInOrderWhateverItHolds) {
  // An empty line, a NUL inside a name, a line far longer than the first
  // block, and enough lines to make the block grow more than once.
  const std::string nul_inside("VM a\0b is already placed", 25);
  const std::string long_line(5000, 'x');
  std::vector<std::string> added = {"first", "", nul_inside, long_line};
  for (int i = 0; i < 40; ++i) added.push_back("node " + std::to_string(i) + " is short");
  RefusalLines lines;
  for (const auto& line : added) lines.push_back(line);
  EXPECT_FALSE(lines.empty());
  EXPECT_EQ(lines.size(), added.size());
  EXPECT_EQ(Lines(lines), added);
  EXPECT_EQ(lines.front(), "first");
  EXPECT_EQ(lines[2], nul_inside);
  EXPECT_EQ(lines[3].size(), 5000u);
  EXPECT_EQ(lines[added.size() - 1], "node 39 is short");
}

TEST(RefusalLines, EqualExactlyWhenTheLinesAre) {
  RefusalLines a, b, split;
  a.push_back("ab");
  b.push_back("ab");
  EXPECT_EQ(a, b);
  split.push_back("a");
  split.push_back("b");  // the same bytes, cut elsewhere: another refusal
  EXPECT_FALSE(a == split);
  b.push_back("c");
  EXPECT_FALSE(a == b);
}

TEST(RefusalLines, PrefixedPutsTheSeparatorBeforeEachLine) {
  RefusalLines lines;
  lines.push_back("no cores");
  lines.push_back("no pages");
  EXPECT_EQ(lines.Prefixed("; "), "; no cores; no pages");
  EXPECT_EQ(lines.Prefixed("\n  - "), "\n  - no cores\n  - no pages");
}

TEST(RefusalLines, AddLineFormatsIntoALine) {
  RefusalLines lines;
  AddLine(lines, FMT_COMPILE("node {} has {} ordinary memory free"), 1, Kib{2048});
  AddLine(lines, FMT_COMPILE("ratio {}"), Ratio{1.5});
  EXPECT_EQ(Lines(lines),
            (std::vector<std::string>{"node 1 has 2Mi ordinary memory free", "ratio 1.5"}));
}

// Copies and moves keep every line, whether the lines sit inside the object or
// on the heap, and a moved-from list is empty and usable.
TEST(RefusalLines, CopiesAndMovesKeepTheLinesInsideOrOnTheHeap) {
  static_assert(sizeof(RefusalLines) <= 256, "one per type per try: keep it small");
  for (size_t lines_added : {1u, 2u, 40u}) {  // 40 lines outgrow the inline bytes
    RefusalLines lines;
    for (size_t i = 0; i < lines_added; ++i) lines.push_back("line " + std::to_string(i));
    const std::vector<std::string> want = Lines(lines);
    RefusalLines copy(lines);
    EXPECT_EQ(Lines(copy), want);
    RefusalLines assigned;
    assigned.push_back(std::string(600, 'y'));  // on the heap before the assignment
    assigned = copy;
    EXPECT_EQ(Lines(assigned), want);
    RefusalLines moved(std::move(copy));
    EXPECT_EQ(Lines(moved), want);
    EXPECT_TRUE(copy.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty
    copy.push_back("reused");
    EXPECT_EQ(Lines(copy), std::vector<std::string>{"reused"});
    RefusalLines move_assigned;
    move_assigned.push_back(std::string(600, 'z'));
    move_assigned = std::move(moved);
    EXPECT_EQ(Lines(move_assigned), want);
    EXPECT_EQ(move_assigned, lines);
    const RefusalLines& same = move_assigned;
    move_assigned = same;  // self-assignment keeps the lines
    EXPECT_EQ(Lines(move_assigned), want) << lines_added;
  }
}

}  // namespace
}  // namespace kvhost
