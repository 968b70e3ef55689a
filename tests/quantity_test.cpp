// Kubernetes quantities as the catalog and config loaders read them.
#include "agent/catalog/quantity.h"

#include <gtest/gtest.h>

#include "base/cpu_set.h"

namespace kvhost {
namespace {

TEST(Quantity, ReadsBinaryDecimalExponentAndPlainForms) {
  EXPECT_EQ(ParseQuantityBytes("512Mi"), 512ull << 20);
  EXPECT_EQ(ParseQuantityBytes("4Gi"), 4ull << 30);
  EXPECT_EQ(ParseQuantityBytes("1.5Gi"), 3ull << 29);
  EXPECT_EQ(ParseQuantityBytes("1G"), 1000000000ull);
  EXPECT_EQ(ParseQuantityBytes("128k"), 128000ull);
  EXPECT_EQ(ParseQuantityBytes("1073741824"), 1ull << 30);
  EXPECT_EQ(ParseQuantityBytes("1e9"), 1000000000ull);
  EXPECT_EQ(ParseQuantityBytes("+2Ki"), 2048ull);
  EXPECT_EQ(ParseQuantityBytes("0.5Ki"), 512ull);
  EXPECT_EQ(ParseQuantityBytes(".5Ki"), 512ull);
  EXPECT_EQ(ParseQuantityBytes("1Ti"), 1ull << 40);
  EXPECT_EQ(ParseQuantityBytes("15Ei"), 15ull << 60);
  EXPECT_EQ(ParseQuantityBytes("0"), 0ull);
}

TEST(Quantity, RoundsAPartialByteUp) { EXPECT_EQ(ParseQuantityBytes("1e-30"), 1ull); }

// "memory: 1m" is a thousandth of a byte to Kubernetes, and always a typo for M or Mi.
TEST(Quantity, RefusesMilliMicroAndNanoBytes) {
  for (const char* text : {"1m", "1500m", "1n", "3u"}) {
    try {
      ParseQuantityBytes(text);
      ADD_FAILURE() << text << " was accepted";
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find("did you mean M or Mi"), std::string::npos) << e.what();
    }
  }
}

TEST(Quantity, ConvertsToKibRoundingUp) {
  EXPECT_EQ(BytesToKibRoundUp(ParseQuantityBytes("512Mi")), 524288ull);
  EXPECT_EQ(BytesToKibRoundUp(1025), 2ull);
  EXPECT_EQ(BytesToKibRoundUp(0), 0ull);
}

void ExpectRejected(const char* text, const std::string& reason_part) {
  try {
    ParseQuantityBytes(text);
    ADD_FAILURE() << "'" << text << "' was accepted";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find(reason_part), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(std::string("'") + text + "'"), std::string::npos)
        << e.what();
  }
}

TEST(Quantity, RejectsWhatKubernetesRejectsWithTheReason) {
  ExpectRejected("", "empty");
  ExpectRejected("-1Gi", "negative");
  ExpectRejected("Gi", "does not start with a number");
  ExpectRejected(".", "does not start with a number");
  ExpectRejected("4GB", "unknown unit 'GB'");
  ExpectRejected("4 Gi", "unknown unit ' Gi'");
  ExpectRejected("1.2.3Gi", "unknown unit '.3Gi'");
  ExpectRejected("1e", "exponent must be 1 to 3 digits");
  ExpectRejected("16Ei", "larger than 2^64 bytes");
  ExpectRejected("1e20", "larger than 2^64 bytes");
  ExpectRejected("12345678901234567890Ki", "more than 19 significant digits");
}

}  // namespace
}  // namespace kvhost
