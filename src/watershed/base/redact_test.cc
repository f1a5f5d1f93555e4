// Tests the redaction rules with hostile inputs: each asserts that the secret is gone and that
// what identifies the request (scheme, host, port, the first path segment) is still there.
#include "watershed/base/redact.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "watershed/base/log.h"

namespace watershed {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(IsCredentialNameTest, NamesFromTheRuleAnyCase) {
  for (const char* name : {"token",
                           "access_token",
                           "ACCESS_TOKEN",
                           "api_key",
                           "apikey",
                           "user_key",
                           "key",
                           "client_secret",
                           "password",
                           "db_passwd",
                           "pwd",
                           "signature",
                           "sig",
                           "auth",
                           "Authorization",
                           "Proxy-Authorization",
                           "Cookie",
                           "Set-Cookie",
                           "X-API-Key",
                           "X-Cb-User-Key",
                           "X-Amz-Signature",
                           "X-Amz-Credential",
                           "X-Amz-Security-Token",
                           "sessionid",
                           "credentials",
                           "sasl.password",
                           "passphrase"}) {
    EXPECT_TRUE(IsCredentialName(name)) << name;
  }
  for (const char* name : {"", "id", "limit", "after_id", "field_ids", "Content-Type", "Idempotent",
                           "query", "user", "page", "x"}) {
    EXPECT_FALSE(IsCredentialName(name)) << name;
  }
}

TEST(RedactHeaderTest, CredentialHeadersKeepOnlyTheirScheme) {
  EXPECT_EQ(RedactHeader("Authorization", "Bearer abc"), "Bearer ***");
  EXPECT_EQ(RedactHeader("authorization", "basic dXNlcjpwYXNz"), "basic ***");
  EXPECT_EQ(RedactHeader("Authorization",
                         "AWS4-HMAC-SHA256 Credential=AKIA/20261124/us-east-1/s3/aws4_request, "
                         "Signature=deadbeef"),
            "AWS4-HMAC-SHA256 ***");
  EXPECT_EQ(RedactHeader("Proxy-Authorization", "s3cr3t"), "***");
  EXPECT_EQ(RedactHeader("Cookie", "sid=1; theme=dark"), "***");
  EXPECT_EQ(RedactHeader("Set-Cookie", "sid=1; HttpOnly"), "***");
  EXPECT_EQ(RedactHeader("X-API-Key", "k-123456"), "***");
  EXPECT_EQ(RedactHeader("X-Cb-User-Key", "cb-abcdef"), "***");
  EXPECT_EQ(RedactHeader("X-Custom-Token", "Bearer-ish value"), "***");  // not a known scheme
  EXPECT_EQ(RedactHeader("Content-Type", "application/json"), "application/json");
  EXPECT_EQ(RedactHeader("Authorization", ""), "");
}

TEST(RedactUrlTest, SlackStyleWebhookKeepsHostAndFirstSegment) {
  const std::string url = "https://hooks.slack.com/services/T000/B000/XXXX";
  EXPECT_EQ(RedactUrl(url), "https://hooks.slack.com/services/***");
  const std::string real =
      "https://hooks.slack.com/services/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";
  EXPECT_EQ(RedactUrl(real), "https://hooks.slack.com/services/***");
  // Any host: a segment that looks like a key hides the rest of the path.
  const std::string hook = "https://alerts.example.com:8443/hook/0123456789abcdefABCD/notify";
  EXPECT_EQ(RedactUrl(hook), "https://alerts.example.com:8443/hook/***");
  // The secret is the first segment: hidden too.
  EXPECT_EQ(RedactUrl("https://webhook.site/3f1c2b9e-8d7a-4c6b-9e5f-1a2b3c4d5e6f"),
            "https://webhook.site/***");
  EXPECT_EQ(RedactUrl("https://ptb.discord.com/api/webhooks/123/abc"),
            "https://ptb.discord.com/api/***");
}

TEST(RedactUrlTest, OrdinaryPathsStay) {
  for (const char* url : {"https://h/p", "https://api.example.com/v1/streams/clicks/events",
                          "https://bucket.s3.amazonaws.com/lake/t/load-0123456789abcdef-1.parquet",
                          "https://h/lake/t/created_at=2026-11-24/part", "http://127.0.0.1:8080/",
                          "s3://bucket/lake/0123456789abcdef0123/x", "https://h"}) {
    EXPECT_EQ(RedactUrl(url), url);
  }
  EXPECT_EQ(RedactUrl(""), "");
}

TEST(RedactUrlTest, CredentialQueryParameters) {
  EXPECT_EQ(RedactUrl("https://lineage.example.com/api/v1/lineage?access_token=abc"),
            "https://lineage.example.com/api/v1/lineage?access_token=***");
  const std::string presigned =
      "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256"
      "&X-Amz-Credential=AKIAEXAMPLE%2F20261124%2Fus-east-1%2Fs3%2Faws4_request"
      "&X-Amz-Signature=deadbeefcafe&X-Amz-Security-Token=FQoGZXIvYXdzEJr";
  const std::string redacted = RedactUrl(presigned);
  EXPECT_THAT(redacted, Not(HasSubstr("deadbeefcafe")));
  EXPECT_THAT(redacted, Not(HasSubstr("AKIAEXAMPLE")));
  EXPECT_THAT(redacted, Not(HasSubstr("FQoGZXIvYXdzEJr")));
  EXPECT_THAT(redacted, HasSubstr("https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256"));
  EXPECT_EQ(RedactUrl("https://api.crunchbase.com/api/v4/entities/organizations/x"
                      "?user_key=abc123&field_ids=a,b"),
            "https://api.crunchbase.com/api/v4/entities/organizations/x"
            "?user_key=***&field_ids=a,b");
  EXPECT_EQ(RedactUrl("https://h/p?a=1&KEY=s3cr3t#frag"), "https://h/p?a=1&KEY=***#frag");
  EXPECT_EQ(RedactUrl("https://h/p?access%5Ftoken=s3cr3t"), "https://h/p?access%5Ftoken=***");
  EXPECT_EQ(RedactUrl("https://h/cb#access_token=s3cr3t&state=1"),
            "https://h/cb#access_token=***&state=1");
  // Containment on purpose: a false positive only hides a value.
  EXPECT_EQ(RedactUrl("https://h/p?monkey=1&key="), "https://h/p?monkey=***&key=***");
  EXPECT_EQ(RedactUrl("/v1/x?token=abc&limit=5"), "/v1/x?token=***&limit=5");
}

TEST(RedactUrlTest, UserInfoIsHiddenWhole) {
  EXPECT_EQ(RedactUrl("https://u:p@host/"), "https://***@host/");
  EXPECT_EQ(RedactUrl("https://bob:hunter2@h:8080/p?x=1"), "https://***@h:8080/p?x=1");
  EXPECT_EQ(RedactUrl("https://ghp_0123456789abcdef@github.com/o/r.git"),
            "https://***@github.com/o/r.git");
  EXPECT_EQ(RedactUrl("postgres://u:pw@db:5432/x?sslmode=require"),
            "postgres://***@db:5432/x?sslmode=require");
}

TEST(RedactUrlTest, IsIdempotent) {
  for (const char* url : {"https://hooks.slack.com/services/T000/B000/XXXX",
                          "https://u:p@host/a/0123456789abcdefXYZ/b?token=1#sig=2",
                          "https://webhook.site/3f1c2b9e-8d7a-4c6b-9e5f-1a2b3c4d5e6f"}) {
    const std::string once = RedactUrl(url);
    EXPECT_EQ(RedactUrl(once), once);
    EXPECT_EQ(RedactCredentials(once), once);
  }
}

TEST(RedactCredentialsTest, UrlsInsideText) {
  const std::string text =
      "POST https://hooks.slack.com/services/T000/B000/XXXX failed; "
      "lineage to \"https://ol.example.com/api?access_token=abc\" and https://u:p@host/ too";
  const std::string out = RedactCredentials(text);
  EXPECT_EQ(out,
            "POST https://hooks.slack.com/services/*** failed; "
            "lineage to \"https://ol.example.com/api?access_token=***\" and https://***@host/ too");
}

TEST(RedactCredentialsTest, PunctuationAfterAUrlStays) {
  EXPECT_EQ(RedactCredentials("GET https://h/p?user_key=s3cr3t: HTTP 503 after 8 attempts"),
            "GET https://h/p?user_key=***: HTTP 503 after 8 attempts");
  EXPECT_EQ(RedactCredentials("(see https://u:p@host/x)."), "(see https://***@host/x).");
}

TEST(RedactCredentialsTest, PairsWhoseNameIsACredential) {
  EXPECT_EQ(RedactCredentials("host=db password=hunter2 user=ws"), "host=db password=*** user=ws");
  EXPECT_EQ(RedactCredentials("api_key=\"two words\" x=1"), "api_key=\"***\" x=1");
  EXPECT_EQ(RedactCredentials("{\"token\": \"abc\", \"user\": \"bob\"}"),
            "{\"token\": \"***\", \"user\": \"bob\"}");
  EXPECT_EQ(RedactCredentials("{'client_secret':'abc'}"), "{'client_secret':'***'}");
  EXPECT_EQ(RedactCredentials("{\"password\":\"a\\\"b\",\"n\":1}"),
            "{\"password\":\"***\",\"n\":1}");
  // Paths and ordinary pairs stay.
  EXPECT_EQ(RedactCredentials("lake/t/session_date=2026-11-24/load-1.parquet rows=5"),
            "lake/t/session_date=2026-11-24/load-1.parquet rows=5");
  EXPECT_EQ(RedactCredentials("a=b, {\"name\": \"x\"}"), "a=b, {\"name\": \"x\"}");
}

TEST(RedactCredentialsTest, HeadersAndBearerTokens) {
  EXPECT_EQ(RedactCredentials("Authorization: Bearer abc"), "Authorization: Bearer ***");
  EXPECT_EQ(RedactCredentials("sent authorization: bearer abc.def-ghi"),
            "sent authorization: bearer ***");
  EXPECT_EQ(RedactCredentials("X-Api-Key: k-1234\nAccept: */*"), "X-Api-Key: ***\nAccept: */*");
  EXPECT_EQ(RedactCredentials("Cookie: sid=abcdef; theme=dark"), "Cookie: ***");
  EXPECT_EQ(RedactCredentials("token=Bearer%20x"), "token=***");
  // Prose and the server's own hints are not credentials.
  EXPECT_EQ(RedactCredentials("send Bearer <token>"), "send Bearer <token>");
  EXPECT_EQ(RedactCredentials("cannot read token: no such file"),
            "cannot read token: no such file");
  EXPECT_EQ(RedactCredentials("Bearers of news"), "Bearers of news");
  // AWS error codes are not headers.
  EXPECT_EQ(RedactCredentials("cloudwatch PutMetricData: SignatureDoesNotMatch: a & b"),
            "cloudwatch PutMetricData: SignatureDoesNotMatch: a & b");
  EXPECT_EQ(RedactCredentials("ExpiredTokenException: The security token has expired"),
            "ExpiredTokenException: The security token has expired");
  EXPECT_EQ(RedactCredentials("Password: hunter2"), "Password: ***");
  EXPECT_EQ(RedactCredentials("authorization: Basic dXNlcjpwYXNz"), "authorization: Basic ***");
}

TEST(RedactCredentialsTest, IsIdempotentOnHostileText) {
  const std::string text =
      "GET https://h/p?sig=1 Authorization: Bearer abc token=\"x\" {\"key\": \"v\"} "
      "https://hooks.slack.com/services/T/B/X Cookie: a=b";
  const std::string once = RedactCredentials(text);
  EXPECT_EQ(RedactCredentials(once), once);
  EXPECT_THAT(once, Not(HasSubstr("abc")));
  EXPECT_THAT(once, HasSubstr("https://h/p"));
}

TEST(RedactSecretsTest, LogLinesGoThroughTheRules) {
  const std::string line =
      FormatLogLine(LogFormat::kHuman, absl::FromUnixSeconds(0), spdlog::level::warn,
                    "alarm webhook did not accept the event",
                    {{"webhook", "https://hooks.slack.com/services/T000/B000/XXXX"},
                     {"target", "https://ol.example.com/api/v1/lineage?access_token=abc"},
                     {"header", "Authorization: Bearer abc"},
                     {"dsn", "https://u:p@host/"}});
  EXPECT_THAT(line, Not(HasSubstr("XXXX")));
  EXPECT_THAT(line, Not(HasSubstr("B000")));
  EXPECT_THAT(line, Not(HasSubstr("abc")));
  EXPECT_THAT(line, Not(HasSubstr("u:p@")));
  EXPECT_THAT(line, HasSubstr("https://hooks.slack.com/services/***"));
  EXPECT_THAT(line, HasSubstr("https://ol.example.com/api/v1/lineage?access_token=***"));
  EXPECT_THAT(line, HasSubstr("header=\"Authorization: Bearer ***\""));
  EXPECT_THAT(line, HasSubstr("https://***@host/"));
  const std::string json =
      FormatLogLine(LogFormat::kJson, absl::FromUnixSeconds(0), spdlog::level::info, "m",
                    {{"body", "{\"access_token\": \"abc\"}"}});
  EXPECT_THAT(json, Not(HasSubstr("abc")));
}

}  // namespace
}  // namespace watershed
