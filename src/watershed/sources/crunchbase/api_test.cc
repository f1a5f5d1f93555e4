// sources/crunchbase/api_test.cc — error shapes, base URLs, and the recorded error responses.
#include "watershed/sources/crunchbase/api.h"

#include <nlohmann/json.hpp>

#include "gtest/gtest.h"
#include "watershed/base/test_util.h"

namespace watershed::sources::crunchbase {
namespace {

nlohmann::json Recorded(const std::string& file) {
  return nlohmann::json::parse(testing_util::ReadFileBytes(
      std::string(WS_FIXTURES_DIR) + "/crunchbase/recorded/" + file))["interactions"][0];
}

TEST(CrunchbaseApi, BaseUrlsOfBothStylesAreAccepted) {
  EXPECT_EQ(*NormalizeBaseUrl("https://api.crunchbase.com/api/v4/"),
            "https://api.crunchbase.com/api/v4");
  EXPECT_EQ(*NormalizeBaseUrl("http://127.0.0.1:8080/v4/data"), "http://127.0.0.1:8080/v4/data");
  EXPECT_FALSE(NormalizeBaseUrl("api.crunchbase.com").ok());
}

TEST(CrunchbaseApi, RecordedNotFoundIsKNotFound) {
  auto r = Recorded("funding_round-a01b8d46-d311-3333-7c34-aa3ae9c03f22.json");
  ASSERT_EQ(r["response"]["status"], 404);
  Status s = ErrorFromResponse(404, r["response"]["body"].dump(), "GET funding_rounds/x");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(MessageOf(s).find("CS404"), std::string_view::npos) << s;
  EXPECT_NE(MessageOf(s).find("requested resource could not be found"), std::string_view::npos);
}

TEST(CrunchbaseApi, RecordedMd403ArrayNamesTheField) {
  auto r = Recorded("searches_people_with_first_name_and_last_name_order_first_name.json");
  ASSERT_EQ(r["response"]["status"], 400);
  ASSERT_TRUE(r["response"]["body"].is_array());
  Status s = ErrorFromResponse(400, r["response"]["body"].dump(), "POST searches/people");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(MessageOf(s).find("field 'name'"), std::string_view::npos) << s;
  EXPECT_NE(MessageOf(s).find("licence"), std::string_view::npos);
}

TEST(CrunchbaseApi, OtherErrorsMapToTerminalCodes) {
  EXPECT_EQ(ErrorFromResponse(401, R"({"error":"bad key","code":"LA401"})", "x").code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ErrorFromResponse(403, R"({"error":"forbidden"})", "x").code(),
            absl::StatusCode::kPermissionDenied);
  Status odd = ErrorFromResponse(400, "<html>bad</html>", "x");
  EXPECT_EQ(odd.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(MessageOf(odd).find("<html>bad</html>"), std::string_view::npos);
}

TEST(CrunchbaseApi, AKeyIsRequired) {
  auto api = Api::Create({.base_url = "http://127.0.0.1:1/api/v4", .api_key = ""});
  ASSERT_FALSE(api.ok());
  EXPECT_NE(MessageOf(api.status()).find("CRUNCHBASE_API_KEY"), std::string_view::npos);
}

}  // namespace
}  // namespace watershed::sources::crunchbase
