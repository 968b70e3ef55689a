// Kubernetes label rules, ported with apimachinery's own cases
// (kubernetes/apimachinery pkg/api/validate/content/kube_test.go, commit
// eed236ceee2c19c2753a3d93ac0631dc20750454: TestIsLabelKey, TestIsLabelValue).
#include "agent/publish/label_validation.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kvhost::publish {
namespace {

const std::string a63(63, 'a');

TEST(LabelValidation, AcceptsApimachineryQualifiedNames) {
  const std::vector<std::string> ok = {"simple",
                                       "now-with-dashes",
                                       "1-starts-with-num",
                                       "1234",
                                       "simple/simple",
                                       "now-with-dashes/simple",
                                       "now-with-dashes/now-with-dashes",
                                       "now.with.dots/simple",
                                       "now-with.dashes-and.dots/simple",
                                       "1-num.2-num/3-num",
                                       "1234/5678",
                                       "1.2.3.4/5678",
                                       "Uppercase_Is_OK_123",
                                       "example.com/Uppercase_Is_OK_123",
                                       "requests.storage-foo",
                                       a63,
                                       std::string(253, 'a') + "/" + std::string(63, 'b')};
  for (const auto& key : ok) EXPECT_TRUE(IsQualifiedName(key).empty()) << key;
}

TEST(LabelValidation, RejectsApimachineryBadQualifiedNames) {
  const std::vector<std::string> bad = {"nospecialchars%^=@",   "cantendwithadash-",
                                        "-cantstartwithadash-", "only/one/slash",
                                        "Example.com/abc",      "example_com/abc",
                                        "example.com/",         "/simple",
                                        std::string(64, 'a'),   std::string(254, 'a') + "/abc"};
  for (const auto& key : bad) EXPECT_FALSE(IsQualifiedName(key).empty()) << key;
}

TEST(LabelValidation, AcceptsApimachineryLabelValues) {
  for (const std::string value : {"simple", "now-with-dashes", "1-starts-with-num",
                                  "end-with-num-1", "1234", a63.c_str(), ""})
    EXPECT_TRUE(IsValidLabelValue(value).empty()) << value;
}

TEST(LabelValidation, RejectsApimachineryBadLabelValues) {
  for (const std::string value :
       {"nospecialchars%^=@", "Tama-nui-te-rā.is.Māori.sun", "\\backslashes\\are\\bad",
        "-starts-with-dash", "ends-with-dash-", ".starts.with.dot", "ends.with.dot."})
    EXPECT_FALSE(IsValidLabelValue(value).empty()) << value;
  EXPECT_FALSE(IsValidLabelValue(std::string(64, 'a')).empty());
}

}  // namespace
}  // namespace kvhost::publish
