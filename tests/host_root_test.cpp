// base/host_root.h's one rule for "is this the real host?": only a root that
// resolves to "/" is; a replayed dump, or a path that is not there, never is.
#include "base/host_root.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "base/temp_dir.h"

namespace kvhost {
namespace {

namespace fs = std::filesystem;

TEST(HostRoot, SlashIsTheRealHost) {
  EXPECT_TRUE(IsRealHostRoot("/"));
  EXPECT_TRUE(HostRoot("/").IsRealHost());
}

TEST(HostRoot, ASymlinkToSlashIsTheRealHost) {
  const TempDir dir("kvhost-host-root-");
  fs::create_directory_symlink("/", dir.path() / "host");
  EXPECT_TRUE(IsRealHostRoot(dir.path() / "host"));
  EXPECT_TRUE(HostRoot(dir.path() / "host").IsRealHost());
}

TEST(HostRoot, AReplayedRootIsNot) {
  const TempDir dir("kvhost-host-root-");
  fs::create_directories(dir.path() / "sys/devices/system/cpu");
  EXPECT_FALSE(IsRealHostRoot(dir.path()));
  const HostRoot replayed(dir.path());
  EXPECT_FALSE(replayed.IsRealHost());
  EXPECT_EQ(replayed.path(), dir.path());
  EXPECT_TRUE(replayed.Sysfs().Exists("sys/devices/system/cpu"));
}

TEST(HostRoot, AMissingPathIsNot) {
  const TempDir dir("kvhost-host-root-");
  EXPECT_FALSE(IsRealHostRoot(dir.path() / "gone"));
  EXPECT_FALSE(HostRoot(dir.path() / "gone").IsRealHost());
  EXPECT_FALSE(HostRoot().IsRealHost()) << "no root at all";
}

}  // namespace
}  // namespace kvhost
