// base/strings_test.cc — percent-encoding and its inverse.
#include "watershed/base/strings.h"

#include <gtest/gtest.h>

namespace watershed {
namespace {

TEST(Strings, PercentDecodeInvertsPercentEncode) {
  for (std::string_view s : {"US/CA", "a b%c", "NULL", "", "ümlaut", "100%"}) {
    EXPECT_EQ(PercentDecode(PercentEncode(s, "._-")), s) << s;
  }
  EXPECT_EQ(PercentDecode("US%2fCA"), "US/CA");  // lower-case hex too
  EXPECT_EQ(PercentDecode("50%"), "50%");        // a % without two hex digits stays
  EXPECT_EQ(PercentDecode("%zz%4"), "%zz%4");
}

}  // namespace
}  // namespace watershed
