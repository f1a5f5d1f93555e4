// Integration: observe::PutMetricData against a real moto_server with signature verification on
// (tests/moto.h); the datums are read back with ListMetrics and GetMetricStatistics.
#include "watershed/observe/cloudwatch.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/moto.h"
#include "watershed/base/columns.h"

namespace watershed::observe {
namespace {

using net::AwsQueryCall;
using net::kCloudWatchService;
using net::XmlElementTexts;
using testing_util::MotoServer;

class CloudWatchTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { moto_ = MotoServer::Start({.verify_signatures = true}).release(); }
  static void TearDownTestSuite() {
    delete moto_;
    moto_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(moto_, nullptr) << "moto_server did not start";
    client_ = MotoServer::QuickClient();
  }
  static MotoServer* moto_;
  std::unique_ptr<net::HttpClient> client_;
};

MotoServer* CloudWatchTest::moto_ = nullptr;

TEST_F(CloudWatchTest, MoreThanOneBatchIsStoredAndReadBack) {
  // 5 metric names x 10 streams = 50 metrics, 30 datums each: 1,500 datums, 2 calls.
  const int64_t now = NowMicros();
  std::vector<MetricDatum> data;
  std::map<std::pair<std::string, std::string>, std::pair<double, int>> expected;  // sum, count
  for (int i = 0; i < 1500; ++i) {
    MetricDatum d;
    d.name = StrCat("Metric", i % 5);
    const std::string stream = StrCat("s", (i / 5) % 10);
    d.dimensions = {{"Stream", stream}, {"Env", "test"}};
    d.value = i % 7 + 0.5;
    d.unit = "Count";
    d.timestamp_micros = now - static_cast<int64_t>(i % 600) * 1000000;
    auto& [sum, count] = expected[{d.name, stream}];
    sum += d.value;
    count += 1;
    data.push_back(std::move(d));
  }
  Status put = PutMetricData(*client_, moto_->config(), "Watershed/Test", data);
  ASSERT_TRUE(put.ok()) << put;

  // ListMetrics: every (name, stream) once, with both dimensions.
  std::set<std::pair<std::string, std::string>> listed;
  std::string token;
  for (int page = 0; page < 100; ++page) {
    net::AwsQueryParams params = {{"Namespace", "Watershed/Test"}};
    if (!token.empty()) params.emplace_back("NextToken", token);
    StatusOr<std::string> xml = AwsQueryCall(*client_, moto_->config(), kCloudWatchService,
                                             "ListMetrics", "2010-08-01", params);
    ASSERT_TRUE(xml.ok()) << xml.status();
    for (const std::string& member : XmlElementTexts(*xml, "Metrics")) {
      // Each metric: <member><Namespace/><MetricName/><Dimensions>...</Dimensions></member>
      size_t pos = 0;
      while ((pos = member.find("<MetricName>", pos)) != std::string::npos) {
        size_t end = member.find("</Dimensions>", pos);
        ASSERT_NE(end, std::string::npos);
        const std::string one = member.substr(pos, end - pos);
        std::vector<std::string> names = XmlElementTexts(one, "MetricName");
        std::vector<std::string> dim_names = XmlElementTexts(one, "Name");
        std::vector<std::string> dim_values = XmlElementTexts(one, "Value");
        ASSERT_EQ(names.size(), 1u);
        ASSERT_EQ(dim_names.size(), 2u);
        std::map<std::string, std::string> dims = {{dim_names[0], dim_values[0]},
                                                   {dim_names[1], dim_values[1]}};
        EXPECT_EQ(dims["Env"], "test");
        // moto 5.2.1 lists a multi-dimension metric once per datum (its dimension comparison
        // is wrong); AWS lists it once. Compare the sets.
        listed.insert({names[0], dims["Stream"]});
        pos = end;
      }
    }
    std::vector<std::string> next = XmlElementTexts(*xml, "NextToken");
    if (next.empty() || next[0].empty()) break;
    token = next[0];
  }
  std::set<std::pair<std::string, std::string>> want_keys;
  for (const auto& [key, value] : expected) want_keys.insert(key);
  EXPECT_EQ(listed, want_keys);

  // GetMetricStatistics: sums and counts per metric match what was sent.
  for (const auto& [key, want] : expected) {
    StatusOr<std::string> xml = AwsQueryCall(*client_, moto_->config(), kCloudWatchService,
                                             "GetMetricStatistics", "2010-08-01",
                                             {{"Namespace", "Watershed/Test"},
                                              {"MetricName", key.first},
                                              {"Dimensions.member.1.Name", "Env"},
                                              {"Dimensions.member.1.Value", "test"},
                                              {"Dimensions.member.2.Name", "Stream"},
                                              {"Dimensions.member.2.Value", key.second},
                                              {"StartTime", IsoUtc(now - 3600LL * 1000000, false)},
                                              {"EndTime", IsoUtc(now + 3600LL * 1000000, false)},
                                              {"Period", "60"},
                                              {"Statistics.member.1", "Sum"},
                                              {"Statistics.member.2", "SampleCount"}});
    ASSERT_TRUE(xml.ok()) << xml.status();
    double sum = 0;
    double count = 0;
    for (const std::string& s : XmlElementTexts(*xml, "Sum")) sum += std::stod(s);
    for (const std::string& c : XmlElementTexts(*xml, "SampleCount")) count += std::stod(c);
    EXPECT_DOUBLE_EQ(sum, want.first) << key.first << " " << key.second;
    EXPECT_DOUBLE_EQ(count, want.second) << key.first << " " << key.second;
  }
}

TEST_F(CloudWatchTest, InvalidDatumsAreRefusedBeforeSending) {
  MetricDatum ok{.name = "Fine", .value = 1};
  MetricDatum nan{.name = "Bad", .value = std::numeric_limits<double>::quiet_NaN()};
  MetricDatum many{.name = "Wide", .value = 1};
  for (int i = 0; i < 31; ++i) many.dimensions[StrCat("d", i)] = "v";
  MetricDatum empty_dim{.name = "Dim", .dimensions = {{"Stream", ""}}, .value = 1};
  const auto& aws = moto_->config();
  EXPECT_EQ(PutMetricData(*client_, aws, "W", {ok, nan}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PutMetricData(*client_, aws, "W", {many}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PutMetricData(*client_, aws, "W", {empty_dim}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PutMetricData(*client_, aws, "AWS/Kinesis", {ok}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PutMetricData(*client_, aws, "", {ok}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PutMetricData(*client_, aws, "W", {MetricDatum{}}).code(),
            absl::StatusCode::kInvalidArgument);
  // Nothing of the refused calls was stored.
  StatusOr<std::string> xml = AwsQueryCall(*client_, aws, kCloudWatchService, "ListMetrics",
                                           "2010-08-01", {{"Namespace", "W"}});
  ASSERT_TRUE(xml.ok()) << xml.status();
  EXPECT_TRUE(XmlElementTexts(*xml, "MetricName").empty()) << *xml;
}

TEST_F(CloudWatchTest, WrongSecretIsRefused) {
  net::AwsConfig aws = moto_->config();
  aws.secret_access_key = "not-the-secret-at-all";
  Status status = PutMetricData(*client_, aws, "W", {MetricDatum{.name = "X", .value = 1}});
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << status;
  EXPECT_NE(std::string(MessageOf(status)).find("SignatureDoesNotMatch"), std::string::npos)
      << status;
  EXPECT_EQ(std::string(MessageOf(status)).find("not-the-secret-at-all"), std::string::npos);
}

TEST(CloudWatchParamsTest, QueryParametersFollowTheApi) {
  net::AwsQueryParams params =
      PutMetricDataParams("NS", {MetricDatum{.name = "M",
                                             .dimensions = {{"A", "1"}},
                                             .value = 2.5,
                                             .unit = "Seconds",
                                             .timestamp_micros = 1700000000123456}});
  net::AwsQueryParams want = {{"Namespace", "NS"},
                                  {"MetricData.member.1.MetricName", "M"},
                                  {"MetricData.member.1.Dimensions.member.1.Name", "A"},
                                  {"MetricData.member.1.Dimensions.member.1.Value", "1"},
                                  {"MetricData.member.1.Value", "2.5"},
                                  {"MetricData.member.1.Unit", "Seconds"},
                                  {"MetricData.member.1.Timestamp", "2023-11-14T22:13:20.123000Z"}};
  EXPECT_EQ(params, want);
}

}  // namespace
}  // namespace watershed::observe
