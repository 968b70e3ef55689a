// A mistyped command, flag or instance type is answered with the nearest
// known one, as config and catalog keys already are. Real binary.
#include <gtest/gtest.h>

#include "agent_process_support.h"
#include "allocator_support.h"
#include "base/nearest_name.h"

namespace kvhost {
namespace {

TEST(NearestName, FindsTheNearMissIgnoringCaseAndNothingFarOrExact) {
  const std::vector<std::string> known{"capacity", "explain", "cx1.large", "cx1.xlarge"};
  EXPECT_EQ(NearestName("capcity", known), "capacity");
  EXPECT_EQ(NearestName("CX1.Large", known), "cx1.large");
  EXPECT_EQ(NearestName("cx1.larg", known), "cx1.large");
  EXPECT_EQ(NearestName("zzzzzzzzzz", known), std::nullopt);
  EXPECT_EQ(NearestName("explain", known), std::nullopt);
  EXPECT_EQ(DidYouMean("explian", known), " (did you mean 'explain'?)");
  EXPECT_EQ(DidYouMean("nothing-like-it", known), "");
}

it::RunResult Agent(std::vector<std::string> args) {
  args.insert(args.begin(), std::getenv("KVHOST_AGENT"));
  return it::RunProcess(args);
}

TEST(DidYouMean, ACommandAFlagAndAnInstanceTypeGetTheNearestKnownOne) {
  const std::string root = (testing::FixturesDir() / "hwloc-2arm-2c").string();
  const auto command = Agent({"capcity"});
  EXPECT_TRUE(command.end.Exited(2)) << command.Describe();
  EXPECT_NE(command.err.find("did you mean 'capacity'?"), std::string::npos) << command.err;
  const auto flag = Agent({"capacity", "--roo", root});
  EXPECT_TRUE(flag.end.Exited(2)) << flag.Describe();
  EXPECT_NE(flag.err.find("did you mean '--root'?"), std::string::npos) << flag.err;
  const auto type = Agent({"explain", "cx1.larg", "--root", root});
  EXPECT_TRUE(type.end.Exited(1)) << type.Describe();
  EXPECT_NE(type.err.find("did you mean 'cx1.large'?"), std::string::npos) << type.err;
  const auto what_if = Agent({"capacity", "--root", root, "--what-if", "add cx1.lage=1"});
  EXPECT_TRUE(what_if.end.Exited(1)) << what_if.Describe();
  EXPECT_NE(what_if.err.find("did you mean 'cx1.large'?"), std::string::npos) << what_if.err;
}

}  // namespace
}  // namespace kvhost
