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

TEST(Strings, IsLoopbackHostKnowsOnlyThisMachinesNames) {
  for (const char* host : {"localhost", "127.0.0.1", "127.8.9.1", "::1", "[::1]"}) {
    EXPECT_TRUE(IsLoopbackHost(host)) << host;
  }
  for (const char* host : {"0.0.0.0", "::", "10.0.0.1", "db.example.com", "", "128.0.0.1"}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
}

}  // namespace
}  // namespace watershed
