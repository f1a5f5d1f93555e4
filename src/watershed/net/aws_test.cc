// Unit tests for aws.h pieces that need no server: settings, error mapping, XML texts.
#include "watershed/net/aws.h"

#include <gtest/gtest.h>

#include <map>

namespace watershed::net {
namespace {

EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(AwsConfigTest, NodeWinsAndEnvironmentFillsTheRest) {
  auto env = Env({{"AWS_REGION", "eu-west-1"},
                  {"AWS_DEFAULT_REGION", "us-west-2"},
                  {"AWS_ENDPOINT_URL", "http://127.0.0.1:5000/"},
                  {"AWS_ACCESS_KEY_ID", "AKIAENV"},
                  {"AWS_SECRET_ACCESS_KEY", "env-secret"},
                  {"AWS_SESSION_TOKEN", "env-token"}});
  StatusOr<AwsConfig> from_env = AwsConfigFromYaml(YAML::Node(), env);
  ASSERT_TRUE(from_env.ok()) << from_env.status();
  EXPECT_EQ(from_env->region, "eu-west-1");
  EXPECT_EQ(from_env->access_key_id, "AKIAENV");
  EXPECT_EQ(from_env->session_token, "env-token");
  EXPECT_EQ(from_env->EndpointFor("kinesis"), "http://127.0.0.1:5000");

  StatusOr<AwsConfig> from_node = AwsConfigFromYaml(
      YAML::Load("{region: ap-south-1, access_key_id: AKIANODE, secret_access_key: s3cr3t, "
                 "stream_name: ignored}"),
      env);
  ASSERT_TRUE(from_node.ok()) << from_node.status();
  EXPECT_EQ(from_node->region, "ap-south-1");
  EXPECT_EQ(from_node->access_key_id, "AKIANODE");
  EXPECT_EQ(from_node->secret_access_key, "s3cr3t");
  EXPECT_EQ(from_node->session_token, "");  // not mixed with the environment's
  EXPECT_EQ(from_node->endpoint, "http://127.0.0.1:5000/");

  AwsConfig aws{.region = "eu-central-1"};
  EXPECT_EQ(aws.EndpointFor("monitoring"), "https://monitoring.eu-central-1.amazonaws.com");
  EXPECT_EQ(aws.EndpointFor("iam"), "https://iam.amazonaws.com");
}

TEST(AwsConfigTest, MissingOrBadSettingsAreNamedWithoutSecrets) {
  auto no_region =
      AwsConfigFromYaml(YAML::Load("{access_key_id: A, secret_access_key: topsecret}"), Env({}));
  EXPECT_EQ(no_region.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(MessageOf(no_region.status())).find("region"), std::string::npos);
  EXPECT_EQ(std::string(MessageOf(no_region.status())).find("topsecret"), std::string::npos);
  EXPECT_EQ(AwsConfigFromYaml(YAML::Load("{region: r}"), Env({})).status().code(),
            absl::StatusCode::kInvalidArgument);  // no credentials
  EXPECT_EQ(AwsConfigFromYaml(YAML::Load("{region: r, access_key_id: A}"), Env({})).status().code(),
            absl::StatusCode::kInvalidArgument);  // key without secret
  EXPECT_EQ(AwsConfigFromYaml(YAML::Load("{region: r, access_key_id: A, secret_access_key: B, "
                                         "endpoint: ftp://x}"),
                              Env({}))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AwsConfigFromYaml(YAML::Load("[1, 2]"), Env({})).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(AwsErrorTest, JsonAndXmlErrorsBecomeStatuses) {
  Status expired = AwsErrorStatus(
      "kinesis GetRecords", 400,
      R"({"__type":"com.amazonaws#ExpiredIteratorException","message":"Iterator expired"})");
  EXPECT_EQ(expired.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(std::string(MessageOf(expired)),
            "kinesis GetRecords: ExpiredIteratorException: Iterator expired");
  EXPECT_EQ(AwsErrorCode(expired), "ExpiredIteratorException");

  Status throttled = AwsErrorStatus("kinesis GetRecords", 400,
                                    R"({"__type":"ProvisionedThroughputExceededException"})");
  EXPECT_EQ(throttled.code(), absl::StatusCode::kResourceExhausted);

  Status denied = AwsErrorStatus(
      "cloudwatch PutMetricData", 403,
      "<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code><Message>a &amp; b</Message>"
      "</Error></ErrorResponse>");
  EXPECT_EQ(denied.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(std::string(MessageOf(denied)),
            "cloudwatch PutMetricData: SignatureDoesNotMatch: a & b");

  Status odd = AwsErrorStatus("kinesis ListShards", 418, "teapot");
  EXPECT_EQ(odd.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(MessageOf(odd)), "kinesis ListShards: HTTP 418: teapot");
  EXPECT_EQ(AwsErrorCode(odd), "");
  EXPECT_EQ(AwsErrorStatus("x", 501, "").code(), absl::StatusCode::kUnavailable);
}

TEST(XmlTest, ElementTextsAreDecoded) {
  EXPECT_EQ(XmlElementTexts("<a><b>1</b><b>x&lt;y&#65;&#x42;&#233;</b><b>&bogus;</b></a>", "b"),
            (std::vector<std::string>{"1", "x<yAB\xC3\xA9", "&bogus;"}));
  EXPECT_TRUE(XmlElementTexts("<b>unclosed", "b").empty());
}

}  // namespace
}  // namespace watershed::net
