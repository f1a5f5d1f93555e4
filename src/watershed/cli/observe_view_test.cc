// cli/observe_view_test.cc — `watershed metrics` and `watershed alarms` rendering: tables
// through cli/output.h (histogram buckets left out, "-" for alarms never evaluated), CSV, the
// documented JSON shapes, and the CloudWatch push summary.
#include "watershed/cli/observe_view.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "gtest/gtest.h"
#include "watershed/base/columns.h"

namespace watershed::cli {
namespace {

using observe::MetricFamily;
using observe::MetricType;

std::vector<MetricFamily> Families() {
  MetricFamily c{"watershed_api_requests_total", MetricType::kCounter, "Requests.", {}};
  c.samples.push_back({c.name, {{"source", "crunchbase"}, {"status", "200"}}, 40});
  MetricFamily h{"watershed_task_duration_seconds", MetricType::kHistogram, "", {}};
  h.samples.push_back({h.name + "_bucket", {{"le", "+Inf"}}, 2});
  h.samples.push_back({h.name + "_sum", {}, 1.5});
  h.samples.push_back({h.name + "_count", {}, 2});
  MetricFamily g{"watershed_stream_lag_events", MetricType::kGauge, "", {}};
  g.samples.push_back({g.name, {}, std::nan("")});
  return {c, h, g};
}

TEST(ObserveView, MetricsTableLeavesBucketsOut) {
  const TextTable t = MetricsTable(Families());
  ASSERT_EQ(t.rows.size(), 4u);
  EXPECT_EQ(t.rows[0], (std::vector<std::string>{"watershed_api_requests_total",
                                                 "source=crunchbase,status=200", "40"}));
  EXPECT_EQ(t.rows[1][0], "watershed_task_duration_seconds_sum");
  EXPECT_EQ(t.rows[3][2], "NaN");
  std::ostringstream empty;
  RenderMetrics({}, MetricsFormat::kTable, empty);
  EXPECT_NE(empty.str().find("(no metrics recorded yet)"), std::string::npos);
  std::ostringstream csv;
  RenderMetrics(Families(), MetricsFormat::kCsv, csv);
  EXPECT_EQ(csv.str().substr(0, csv.str().find('\n')), "metric,labels,value");
}

TEST(ObserveView, MetricsJsonAndFormats) {
  std::ostringstream out;
  RenderMetrics(Families(), MetricsFormat::kJson, out);
  auto j = nlohmann::json::parse(out.str());
  ASSERT_EQ(j["metrics"].size(), 5u);  // JSON keeps the buckets
  EXPECT_EQ(j["metrics"][0]["value"], 40);
  EXPECT_EQ(j["metrics"][0]["labels"]["source"], "crunchbase");
  EXPECT_EQ(j["metrics"][4]["value"], "NaN");
  EXPECT_EQ(*ParseMetricsFormat(""), MetricsFormat::kPrometheus);
  EXPECT_EQ(*ParseMetricsFormat("csv"), MetricsFormat::kCsv);
  EXPECT_EQ(ParseMetricsFormat("xml").status().code(), absl::StatusCode::kInvalidArgument);
  std::ostringstream prom;
  RenderMetrics(Families(), MetricsFormat::kPrometheus, prom);
  EXPECT_NE(prom.str().find("# TYPE watershed_api_requests_total counter"), std::string::npos);
}

TEST(ObserveView, AlarmsTableShowsDashesUntilEvaluated) {
  observe::AlarmStatus never;
  never.spec.name = "load_failures";
  never.selector = "watershed_load_failures_total";
  never.condition = "sum > 0 over 1h";
  observe::AlarmStatus fired = never;
  fired.spec.name = "lag";
  fired.stored = observe::MetricStore::AlarmRow{
      "lag", "ALARM", 7, 1'700'000'000'000'000, 1'700'000'000'000'000, "max of lag = 7 > 0"};
  const TextTable t = AlarmsTable({never, fired});
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0],
            (std::vector<std::string>{"load_failures", "-", "-", "watershed_load_failures_total",
                                      "sum > 0 over 1h", "-"}));
  EXPECT_EQ(t.rows[1][1], "ALARM");
  EXPECT_EQ(t.rows[1][2], "7");
  EXPECT_EQ(t.rows[1][5], IsoUtc(1'700'000'000'000'000, false));
  std::ostringstream json;
  RenderAlarms({never, fired}, OutputFormat::kJson, json);
  auto j = nlohmann::json::parse(json.str());
  EXPECT_TRUE(j["alarms"][0]["state"].is_null());
  EXPECT_EQ(j["alarms"][1]["state"], "ALARM");
  EXPECT_EQ(j["alarms"][1]["reason"], "max of lag = 7 > 0");
  std::ostringstream none;
  RenderAlarms({}, OutputFormat::kTable, none);
  EXPECT_NE(none.str().find("no alarms"), std::string::npos);
}

TEST(ObserveView, CloudWatchPushSummary) {
  std::ostringstream out;
  RenderCloudWatchPush({12, 0, 1'700'000'000'000'000, "Watershed", "region us-east-1"}, out);
  EXPECT_EQ(out.str(),
            "pushed 12 datums to CloudWatch namespace Watershed (region us-east-1), the first "
            "point to 2023-11-14T22:13:20Z\n");
}

}  // namespace
}  // namespace watershed::cli
