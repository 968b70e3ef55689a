// base/regular_file.h's whole-file read (which stops at the size fstat gave)
// and base/file_stamp.h's rule for when a stamp vouches for content read.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "base/file_stamp.h"
#include "base/regular_file.h"
#include "base/sysfs_root.h"
#include "base/temp_dir.h"

namespace kvhost {
namespace {

std::string ReadWhole(const std::filesystem::path& file) {
  auto text = ReadRegularFile(AT_FDCWD, file.c_str(), 1 << 20);
  EXPECT_TRUE(text.has_value()) << file;
  return text.value_or("");
}

// Sizes around the reader's 16 KiB buffer and around the stop at fstat's size.
TEST(ReadRegularFile, ReadsFilesOfEverySizeWhole) {
  const TempDir dir("kvhost-file-read-");
  for (size_t size : {0u, 1u, 4095u, 4096u, 16383u, 16384u, 16385u, 40000u}) {
    std::string text(size, 'x');
    for (size_t i = 0; i < size; ++i) text[i] = static_cast<char>('a' + i % 26);
    const auto file = dir.path() / ("f" + std::to_string(size));
    std::ofstream(file, std::ios::binary) << text;
    EXPECT_EQ(ReadWhole(file), text) << size << " bytes";
  }
}

std::string ReadByStream(const char* file) {
  std::ifstream in(file, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// procfs reports size 0 and sysfs 4096 whatever the text: read to the end.
TEST(ReadRegularFile, ReadsKernelFilesWhoseSizeIsWrong) {
  for (const char* file : {"/proc/self/cmdline", "/sys/devices/system/cpu/online",
                           "/sys/devices/system/cpu/possible"}) {
    const std::string text = ReadByStream(file);
    ASSERT_FALSE(text.empty()) << file;
    EXPECT_EQ(ReadWhole(file), text) << file;
  }
}

TEST(ReadRegularFile, AbsentIsNullopt) {
  EXPECT_FALSE(ReadRegularFile(AT_FDCWD, "/nonexistent/kvhost", 10).has_value());
}

TEST(FileStamp, SettledOnlyWhenChangedMoreThanASecondBeforeTheRead) {
  FileStamp stamp;
  stamp.ctime_ns = 5'000'000'000;
  EXPECT_FALSE(StampSettled(stamp, 5'000'000'000));                   // read in the same tick
  EXPECT_FALSE(StampSettled(stamp, 5'000'000'000 + kStampSettleNs));  // at the edge
  EXPECT_TRUE(StampSettled(stamp, 5'000'000'001 + kStampSettleNs));
  EXPECT_FALSE(StampSettled(stamp, 4'000'000'000));  // the clock went back
}

TEST(FileStamp, EveryKindOfChangeMovesTheStamp) {
  const TempDir dir("kvhost-file-stamp-");
  const auto file = dir.path() / "f";
  std::ofstream(file) << "one";
  const auto before = StampOf(file.c_str());
  ASSERT_TRUE(before.has_value());
  EXPECT_LE(before->ctime_ns, FileClockNowNs());
  // Same size, modification time put back: the ctime still moves (or, within
  // one coarse tick, stays: then the stamp is not settled, see above).
  const auto mtime = std::filesystem::last_write_time(file);
  std::ofstream(file, std::ios::trunc) << "two";
  std::filesystem::last_write_time(file, mtime);
  const auto rewritten = StampOf(file.c_str());
  ASSERT_TRUE(rewritten.has_value());
  EXPECT_EQ(rewritten->size, before->size);
  EXPECT_EQ(rewritten->mtime_ns, before->mtime_ns);
  EXPECT_TRUE(rewritten->ctime_ns != before->ctime_ns || !StampSettled(*before, FileClockNowNs()));
  // Replaced by rename (as kubelet's and the agent's writers do): another inode.
  std::ofstream(dir.path() / "g") << "two";
  std::filesystem::rename(dir.path() / "g", file);
  const auto replaced = StampOf(file.c_str());
  ASSERT_TRUE(replaced.has_value());
  EXPECT_NE(replaced->inode, rewritten->inode);
  EXPECT_FALSE(StampOf((dir.path() / "absent").c_str()).has_value());
}

}  // namespace
}  // namespace kvhost

namespace kvhost {
namespace {

TEST(SysfsRootPaths, PathTextIsPathOfsText) {
  for (const char* root : {"/", "", "relative/dir", "relative/dir/", "/abs/dir", "/abs/dir//"})
    for (const char* relative : {"var/lib/kubelet/cpu_manager_state", "sys", ""}) {
      const SysfsRoot files(root, SysfsRoot::Access::kKeptFiles);
      EXPECT_EQ(files.PathText(relative), files.PathOf(relative).string())
          << "root '" << root << "', relative '" << relative << "'";
    }
}

// A root read by full paths (kept files) opens nothing up front, and reads the same files.
TEST(SysfsRootPaths, FullPathsReadWhatTheRootFdReads) {
  const TempDir dir("kvhost-sysfs-paths-");
  std::filesystem::create_directories(dir.path() / "var/lib");
  std::ofstream(dir.path() / "var/lib/f") << "text\n";
  const SysfsRoot by_fd(dir.path());
  const SysfsRoot by_path(dir.path(), SysfsRoot::Access::kKeptFiles);
  EXPECT_EQ(by_fd.ReadOptional("var/lib/f"), "text");
  EXPECT_EQ(by_path.ReadOptional("var/lib/f"), "text");
  EXPECT_FALSE(by_path.ReadOptional("var/lib/absent").has_value());
  EXPECT_THROW(SysfsRoot(dir.path() / "var/lib/f"), InputError);  // not a directory
  EXPECT_FALSE(SysfsRoot(dir.path() / "var/lib/f", SysfsRoot::Access::kKeptFiles)
                   .ReadOptional("x")
                   .has_value());
}

}  // namespace
}  // namespace kvhost
