// base/kept_file.h: a text kept from an earlier read is given only while the
// file's stamp vouches for it; every change is read, and every error is
// ReadRegularFile's.
#include "base/kept_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "base/file_stamp.h"
#include "base/regular_file.h"
#include "base/temp_dir.h"

namespace kvhost {
namespace {

std::optional<std::string> Read(const std::filesystem::path& file, size_t max = 1 << 20) {
  return ReadKeptFile(file.string(), max);
}

void Write(const std::filesystem::path& file, const std::string& text) {
  std::ofstream(file, std::ios::trunc | std::ios::binary) << text;
}

TEST(KeptFile, AbsentIsNullopt) {
  const TempDir dir("kvhost-kept-");
  Write(dir.path() / "f", "x");
  EXPECT_FALSE(Read(dir.path() / "absent").has_value());
  EXPECT_FALSE(Read(dir.path() / "f/under-a-file").has_value());  // ENOTDIR, as ReadRegularFile
}

TEST(KeptFile, EveryChangeIsRead) {
  const TempDir dir("kvhost-kept-");
  const auto file = dir.path() / "state";
  Write(file, "one");
  EXPECT_EQ(Read(file), "one");
  // Same size, in the same clock tick, modification time put back.
  const auto mtime = std::filesystem::last_write_time(file);
  Write(file, "two");
  std::filesystem::last_write_time(file, mtime);
  EXPECT_EQ(Read(file), "two");
  Write(dir.path() / "next", "three");  // replaced by rename, as the writers do
  std::filesystem::rename(dir.path() / "next", file);
  EXPECT_EQ(Read(file), "three");
  std::filesystem::remove(file);
  EXPECT_FALSE(Read(file).has_value());
  Write(file, "four");
  EXPECT_EQ(Read(file), "four");
}

// The point of it: a settled, unchanged file is one stat, not a read; and
// once it changes it is read again.
TEST(KeptFile, SettledUnchangedFileIsNotReadAgain) {
  const TempDir dir("kvhost-kept-");
  const auto file = dir.path() / "checkpoint";
  Write(file, "settled");
  std::this_thread::sleep_for(std::chrono::nanoseconds(kStampSettleNs + 100'000'000));
  const uint64_t before = KeptFileReads();
  EXPECT_EQ(Read(file), "settled");
  EXPECT_EQ(KeptFileReads(), before + 1);
  EXPECT_EQ(Read(file), "settled");
  EXPECT_EQ(Read(file), "settled");
  EXPECT_EQ(KeptFileReads(), before + 1);
  std::ofstream(file, std::ios::app) << "!";
  EXPECT_EQ(Read(file), "settled!");
  EXPECT_EQ(KeptFileReads(), before + 2);
}

TEST(KeptFile, ErrorsAreReadRegularFilesEvenForAKeptText) {
  const TempDir dir("kvhost-kept-");
  const auto file = dir.path() / "f";
  Write(file, "0123456789");
  EXPECT_EQ(Read(file), "0123456789");
  try {
    Read(file, 4);  // a smaller limit than the kept text's size
    ADD_FAILURE() << "a text over the limit was given";
  } catch (const FileReadError& e) {
    EXPECT_TRUE(e.too_large()) << e.what();
  }
  EXPECT_THROW(Read(dir.path()), FileReadError);  // a directory
  const auto fifo = dir.path() / "fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_THROW(Read(fifo), FileReadError);  // at once, never blocking
}

// More files than are kept, read round after round: each gives its own text.
TEST(KeptFile, MoreFilesThanKeptStayApart) {
  const TempDir dir("kvhost-kept-");
  const size_t files = kKeptFiles + 3;
  for (size_t i = 0; i < files; ++i)
    Write(dir.path() / std::to_string(i), "text " + std::to_string(i));
  for (int round = 0; round < 3; ++round)
    for (size_t i = 0; i < files; ++i)
      EXPECT_EQ(Read(dir.path() / std::to_string(i)), "text " + std::to_string(i)) << round;
}

}  // namespace
}  // namespace kvhost
