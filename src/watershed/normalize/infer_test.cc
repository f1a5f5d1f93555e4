// normalize/infer_test.cc — the text recognisers, exact and lossless.
#include "watershed/normalize/infer.h"

#include "gtest/gtest.h"
#include "watershed/base/columns.h"

namespace watershed::normalize {
namespace {

TEST(Infer, Dates) {
  EXPECT_EQ(ParseDate("1970-01-01"), 0);
  EXPECT_EQ(ParseDate("2024-02-29"), DaysFromCivil(2024, 2, 29));
  EXPECT_FALSE(ParseDate("2023-02-29"));
  EXPECT_FALSE(ParseDate("2023-13-01"));
  EXPECT_FALSE(ParseDate("2023-1-01"));
  EXPECT_FALSE(ParseDate("20230101"));
  EXPECT_EQ(FormatDate(DaysFromCivil(1899, 12, 31)), "1899-12-31");
}

TEST(Infer, Timestamps) {
  EXPECT_EQ(ParseTimestamp("1970-01-01T00:00:01Z"), 1000000);
  EXPECT_EQ(ParseTimestamp("1970-01-01 00:00:01.5"), 1500000);
  EXPECT_EQ(ParseTimestamp("1970-01-01T02:00:00+02:00"), 0);
  EXPECT_EQ(ParseTimestamp("1970-01-01T00:00:00-0130"), 5400000000LL);
  EXPECT_EQ(ParseTimestamp("2023-11-21T16:33:08.123456789Z"), std::nullopt);  // nanos lost
  EXPECT_EQ(ParseTimestamp("2023-11-21T16:33:08.123456000Z"),
            ParseTimestamp("2023-11-21T16:33:08.123456Z"));
  EXPECT_FALSE(ParseTimestamp("2023-11-21T25:00:00Z"));
  EXPECT_FALSE(ParseTimestamp("2023-11-21T16:33:08 UTC"));
  EXPECT_EQ(FormatTimestampMicros(*ParseTimestamp("2023-11-21T16:33:08.25Z")),
            "2023-11-21 16:33:08.250000");
}

TEST(Infer, NumbersOnlyWhenTheyRoundTrip) {
  EXPECT_EQ(ParseCanonicalInt("0"), 0);
  EXPECT_EQ(ParseCanonicalInt("-42"), -42);
  EXPECT_FALSE(ParseCanonicalInt("007"));
  EXPECT_FALSE(ParseCanonicalInt("+1"));
  EXPECT_FALSE(ParseCanonicalInt("-0"));
  EXPECT_FALSE(ParseCanonicalInt("99999999999999999999"));
  EXPECT_EQ(ParseCanonicalDouble("2.5"), 2.5);
  EXPECT_EQ(ParseCanonicalDouble("1e3"), 1000.0);
  EXPECT_FALSE(ParseCanonicalDouble("12"));
  EXPECT_FALSE(ParseCanonicalDouble(".5"));
  EXPECT_FALSE(ParseCanonicalDouble("1.5x"));
  EXPECT_FALSE(ParseCanonicalDouble("NaN"));
}

TEST(Infer, DecimalsKeepFourPlacesExactly) {
  EXPECT_EQ(DoubleToDecimal(1234567.89), 12345678900);
  EXPECT_EQ(DoubleToDecimal(-0.0001), -1);
  EXPECT_EQ(DoubleToDecimal(0.12345), std::nullopt);
  EXPECT_EQ(DoubleToDecimal(1e20), std::nullopt);
}

}  // namespace
}  // namespace watershed::normalize
