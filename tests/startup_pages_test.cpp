// ReleaseStartupPages on this very process: resident file pages go, and what
// only this process holds (relocated pointers, written globals, the heap)
// stays exactly as it was.
#include "agent/daemon/startup_pages.h"

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace kvhost {
namespace {

// Pointers in a position-independent binary: relocated at load into private
// copies of read-only pages (RELRO), exactly what must never be dropped.
const char* const kRelocated[] = {"first", "second", "third"};
int written_global = 0;

long StatusKib(const std::string& field) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  return -1;
}

TEST(StartupPages, ResidentFilePagesGoAndPrivateCopiesStay) {
  written_global = 42;
  auto heap = std::make_unique<std::vector<int>>(100000, 7);
  const long file_before = StatusKib("RssFile");
  const ReleasedPages released = ReleaseStartupPages();
  const long file_after = StatusKib("RssFile");
  EXPECT_GT(released.mappings, 0u);
  EXPECT_GT(released.file_kib, 0u);
  EXPECT_LT(file_after, file_before) << "RssFile in KiB";
  // The code and data needed from here on come back from the page cache.
  volatile int index = 1;  // read from memory, not folded at compile time
  EXPECT_EQ(std::string(kRelocated[index]), "second");
  EXPECT_EQ(written_global, 42);
  EXPECT_EQ((*heap)[99999], 7);
  EXPECT_EQ(std::to_string(1234567), "1234567");
  EXPECT_GT(ReleaseStartupPages().mappings, 0u) << "callable again (after a rediscovery)";
}

}  // namespace
}  // namespace kvhost
