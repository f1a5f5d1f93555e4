// Tests the metric registry, the Prometheus text it renders (exactly, and through
// `promtool check metrics`), persistence of several processes' flushes in one catalog file,
// catalog-derived metrics, compaction and CloudWatch datums.
#include "watershed/observe/metrics.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "gtest/gtest.h"
#include "watershed/base/columns.h"
#include "watershed/base/test_util.h"
#include "watershed/cli/observe_view.h"
#include "watershed/observe/cloudwatch_push.h"
#include "watershed/observe/metric_store.h"
#include "watershed/observe/metrics_prometheus.h"

namespace watershed::observe {
namespace {

using testing_util::MakeTempDir;
using testing_util::WriteFile;

constexpr int64_t kT0 = 1'700'000'000'000'000;  // 2023-11-14T22:13:20Z
constexpr int64_t kMinute = 60'000'000;

const MetricSample* FindSample(const std::vector<MetricFamily>& families, const std::string& sample,
                               const MetricLabels& labels) {
  for (const auto& f : families) {
    for (const auto& s : f.samples) {
      if (s.name == sample && s.labels == labels) return &s;
    }
  }
  return nullptr;
}

double ValueOf(const std::vector<MetricFamily>& families, const std::string& sample,
               const MetricLabels& labels = {}) {
  const MetricSample* s = FindSample(families, sample, labels);
  EXPECT_NE(s, nullptr) << sample;
  return s == nullptr ? -1 : s->value;
}

// Runs `promtool check metrics` on `text`; returns its exit code and output.
std::pair<int, std::string> Promtool(const std::string& text) {
  const std::string dir = MakeTempDir();
  const std::string in = WriteFile(dir, "metrics.prom", text);
  const std::string cmd = StrCat("/usr/bin/promtool check metrics < ", in, " 2>&1");
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[512];
  while (p != nullptr && fgets(buf, sizeof buf, p) != nullptr) out += buf;
  int status = p == nullptr ? -1 : pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

void FillSmallRegistry(MetricRegistry& r) {
  r.GetCounter("watershed_records_written_total", {{"layer", "lake"}, {"table", "a.b"}}).Inc(3);
  r.GetGauge("test_queue_depth", {}, "Items waiting.").Set(2.5);
  Histogram& h = r.GetHistogram("test_duration_seconds", {}, "How long.", {5, 1});
  h.Observe(0.5);
  h.Observe(1);  // le is inclusive
  h.Observe(7);
}

TEST(MetricRegistryTest, RendersExactPrometheusText) {
  MetricRegistry r;
  FillSmallRegistry(r);
  EXPECT_EQ(RenderPrometheusText(r.Collect()),
            "# HELP test_duration_seconds How long.\n"
            "# TYPE test_duration_seconds histogram\n"
            "test_duration_seconds_bucket{le=\"1\"} 2\n"
            "test_duration_seconds_bucket{le=\"5\"} 2\n"
            "test_duration_seconds_bucket{le=\"+Inf\"} 3\n"
            "test_duration_seconds_sum 8.5\n"
            "test_duration_seconds_count 3\n"
            "# HELP test_queue_depth Items waiting.\n"
            "# TYPE test_queue_depth gauge\n"
            "test_queue_depth 2.5\n"
            "# HELP watershed_records_written_total Rows committed, per layer and table (child "
            "tables and the quarantine included).\n"
            "# TYPE watershed_records_written_total counter\n"
            "watershed_records_written_total{layer=\"lake\",table=\"a.b\"} 3\n");
}

TEST(MetricRegistryTest, EscapesLabelValuesAndHelp) {
  MetricRegistry r;
  r.GetCounter("test_odd_total", {{"path", "C:\\dir \"x\"\nnext"}}, "Back\\slash\nand newline")
      .Inc();
  EXPECT_EQ(RenderPrometheusText(r.Collect()),
            "# HELP test_odd_total Back\\\\slash\\nand newline\n"
            "# TYPE test_odd_total counter\n"
            "test_odd_total{path=\"C:\\\\dir \\\"x\\\"\\nnext\"} 1\n");
  if (access("/usr/bin/promtool", X_OK) == 0) {
    auto [code, out] = Promtool(RenderPrometheusText(r.Collect()));
    EXPECT_EQ(code, 0) << out;
  }
}

TEST(MetricRegistryTest, SanitizesNamesAndIgnoresBadUpdates) {
  MetricRegistry r;
  r.GetCounter("9bad-name.total", {{"bad-label", "v"}}, "x").Inc(2);
  r.GetCounter("9bad-name.total", {{"bad-label", "v"}}).Inc(-5);  // negative: ignored
  r.GetCounter("9bad-name.total", {{"bad-label", "v"}}).Inc(std::nan(""));
  auto families = r.Collect();
  ASSERT_EQ(families.size(), 1u);
  EXPECT_EQ(families[0].name, "_bad_name_total");
  EXPECT_EQ(ValueOf(families, "_bad_name_total", {{"bad_label", "v"}}), 2);
  // The same name as another type: a warning and a series that is never exposed.
  r.GetGauge("_bad_name_total").Set(99);
  families = r.Collect();
  ASSERT_EQ(families.size(), 1u);
  EXPECT_EQ(families[0].type, MetricType::kCounter);
  EXPECT_EQ(families[0].samples.size(), 1u);
  // The same series twice is the same object.
  EXPECT_EQ(&r.GetCounter("x_total", {{"a", "1"}}), &r.GetCounter("x_total", {{"a", "1"}}));
  EXPECT_NE(&r.GetCounter("x_total", {{"a", "1"}}), &r.GetCounter("x_total", {{"a", "2"}}));
}

TEST(MetricRegistryTest, HistogramBucketsAreCumulativeAndLabelled) {
  MetricRegistry r;
  Histogram& h = r.GetHistogram("test_seconds", {{"task", "t"}, {"le", "dropped"}}, "h", {1, 2, 4});
  for (double v : {0.0, 1.0, 1.5, 2.0, 3.9, 4.0, 100.0}) h.Observe(v);
  h.Observe(std::nan(""));  // ignored
  EXPECT_EQ(h.CumulativeCounts(), (std::vector<uint64_t>{2, 4, 6, 7}));
  EXPECT_EQ(h.count(), 7u);
  EXPECT_DOUBLE_EQ(h.sum(), 112.4);
  auto families = r.Collect();
  EXPECT_EQ(ValueOf(families, "test_seconds_bucket", {{"task", "t"}, {"le", "2"}}), 4);
  EXPECT_EQ(ValueOf(families, "test_seconds_bucket", {{"task", "t"}, {"le", "+Inf"}}), 7);
  EXPECT_EQ(ValueOf(families, "test_seconds_count", {{"task", "t"}}), 7);
}

TEST(MetricRegistryTest, ConcurrentIncrementsAreAllCounted) {
  MetricRegistry r;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&r, t] {
      Counter& c = r.GetCounter("test_total", {{"shared", "yes"}});
      for (int i = 0; i < 10000; ++i) {
        c.Inc();
        r.GetCounter("test_total", {{"thread", std::to_string(t)}}).Inc();
      }
    });
  }
  for (auto& t : threads) t.join();
  auto families = r.Collect();
  EXPECT_EQ(ValueOf(families, "test_total", {{"shared", "yes"}}), 40000);
  EXPECT_EQ(ValueOf(families, "test_total", {{"thread", "3"}}), 10000);
}

TEST(MetricRegistryTest, PromtoolAcceptsEveryKind) {
  if (access("/usr/bin/promtool", X_OK) != 0) {
    GTEST_SKIP() << "/usr/bin/promtool is not installed: cannot check the exposition format";
  }
  MetricRegistry r;
  FillSmallRegistry(r);
  r.GetCounter("watershed_api_requests_total", {{"source", "crunchbase"}}).Inc(12);
  r.GetHistogram("watershed_task_duration_seconds", {{"pipeline", "p"}, {"task", "a"}}).Observe(3);
  r.GetHistogram("watershed_task_duration_seconds", {{"pipeline", "p"}, {"task", "b"}})
      .Observe(0.02);
  r.GetGauge("watershed_stream_lag_events", {{"stream", "clicks"}}).Set(-1);
  auto [code, out] = Promtool(RenderPrometheusText(r.Collect()));
  EXPECT_EQ(code, 0) << out;
  // And promtool does reject bad text, so the check above means something.
  auto [bad_code, bad_out] = Promtool("# TYPE x counter\nx{a=\"1} 1\n");
  EXPECT_NE(bad_code, 0) << bad_out;
}

TEST(MetricStoreTest, TwoProcessesFlushIntoOneCatalog) {
  const std::string db = MakeTempDir() + "/sub/catalog.db";
  MetricRegistry a, b;  // two "processes"
  a.GetCounter("watershed_records_written_total", {{"table", "t"}}).Inc(10);
  a.GetGauge("watershed_stream_lag_events", {{"stream", "s"}}).Set(5);
  a.GetHistogram("watershed_task_duration_seconds", {{"task", "x"}}).Observe(2);
  ASSERT_TRUE(FlushRegistry(a, db, kT0).ok());
  b.GetCounter("watershed_records_written_total", {{"table", "t"}}).Inc(7);
  b.GetCounter("watershed_records_written_total", {{"table", "u"}}).Inc(1);
  b.GetGauge("watershed_stream_lag_events", {{"stream", "s"}}).Set(3);
  b.GetHistogram("watershed_task_duration_seconds", {{"task", "x"}}).Observe(20);
  ASSERT_TRUE(FlushRegistry(b, db, kT0 + kMinute).ok());
  // `a` goes on: only its deltas are written again; an unchanged gauge is not rewritten.
  a.GetCounter("watershed_records_written_total", {{"table", "t"}}).Inc(5);
  ASSERT_TRUE(FlushRegistry(a, db, kT0 + 2 * kMinute).ok());
  ASSERT_TRUE(FlushRegistry(a, db, kT0 + 3 * kMinute).ok());  // nothing changed: nothing written

  auto store = MetricStore::Open(db);
  ASSERT_TRUE(store.ok()) << store.status();
  auto all = (*store)->Aggregate();
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(ValueOf(*all, "watershed_records_written_total", {{"table", "t"}}), 22);
  EXPECT_EQ(ValueOf(*all, "watershed_records_written_total", {{"table", "u"}}), 1);
  EXPECT_EQ(ValueOf(*all, "watershed_stream_lag_events", {{"stream", "s"}}), 3);  // the latest
  EXPECT_EQ(ValueOf(*all, "watershed_task_duration_seconds_count", {{"task", "x"}}), 2);
  EXPECT_EQ(ValueOf(*all, "watershed_task_duration_seconds_sum", {{"task", "x"}}), 22);
  EXPECT_EQ(ValueOf(*all, "watershed_task_duration_seconds_bucket", {{"task", "x"}, {"le", "5"}}),
            1);
  EXPECT_EQ(
      ValueOf(*all, "watershed_task_duration_seconds_bucket", {{"task", "x"}, {"le", "+Inf"}}), 2);
  auto points = (*store)->Points("watershed_records_written_total", 0, kT0 + 10 * kMinute);
  ASSERT_TRUE(points.ok());
  ASSERT_EQ(points->size(), 4u);  // 10 and 5 from a, 7 and 1 from b
  EXPECT_EQ(points->back().value, 5);
  EXPECT_EQ(points->back().time_micros, kT0 + 2 * kMinute);
  auto gauge_points = (*store)->Points("watershed_stream_lag_events", 0, kT0 + 10 * kMinute);
  ASSERT_TRUE(gauge_points.ok());
  EXPECT_EQ(gauge_points->size(), 2u);
  // A window: (kT0, kT0 + 1 min] holds only b's flush.
  auto window = (*store)->Aggregate(kT0, kT0 + kMinute);
  ASSERT_TRUE(window.ok());
  EXPECT_EQ(ValueOf(*window, "watershed_records_written_total", {{"table", "t"}}), 7);
  // The aggregated text passes promtool too.
  if (access("/usr/bin/promtool", X_OK) == 0) {
    auto [code, out] = Promtool(RenderPrometheusText(*all));
    EXPECT_EQ(code, 0) << out;
  }
}

TEST(MetricStoreTest, FailedFlushKeepsTheDeltasForTheNextOne) {
  const std::string dir = MakeTempDir();
  WriteFile(dir, "not-a-dir", "x");
  MetricRegistry r;
  r.GetCounter("test_total").Inc(4);
  EXPECT_FALSE(FlushRegistry(r, dir + "/not-a-dir/catalog.db", kT0).ok());
  r.GetCounter("test_total").Inc(1);
  ASSERT_TRUE(FlushRegistry(r, dir + "/catalog.db", kT0).ok());
  auto store = MetricStore::Open(dir + "/catalog.db");
  ASSERT_TRUE(store.ok());
  auto all = (*store)->Aggregate();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(ValueOf(*all, "test_total"), 5);
}

TEST(MetricStoreTest, CompactKeepsTotalsAndLatestGauges) {
  const std::string db = MakeTempDir() + "/catalog.db";
  MetricRegistry r;
  for (int i = 0; i < 5; ++i) {
    r.GetCounter("test_total", {{"k", "v"}}).Inc(i + 1);
    r.GetGauge("test_gauge").Set(i * 10);
    ASSERT_TRUE(FlushRegistry(r, db, kT0 + i * kMinute).ok());
  }
  auto store = MetricStore::Open(db);
  ASSERT_TRUE(store.ok());
  auto removed = (*store)->Compact(kT0 + 3 * kMinute);  // points 0..2 are old
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, 2 + 2);  // 3 counter points -> 1, 3 gauge points -> 1
  auto all = (*store)->Aggregate();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(ValueOf(*all, "test_total", {{"k", "v"}}), 15);
  EXPECT_EQ(ValueOf(*all, "test_gauge"), 40);
  auto recent = (*store)->Aggregate(kT0 + 3 * kMinute - 1, 0);
  ASSERT_TRUE(recent.ok());
  EXPECT_EQ(ValueOf(*recent, "test_total", {{"k", "v"}}), 4 + 5);
}

class ProjectMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    // Whatever other tests left in the process registry goes elsewhere.
    ASSERT_TRUE(FlushRegistry(ProcessMetrics(), MakeTempDir() + "/scratch.db", 1).ok());
    ASSERT_TRUE(project::Project::Init(dir_, "metrics_test").ok());
    auto p = project::Project::Open(dir_);
    ASSERT_TRUE(p.ok()) << p.status();
    project_ = std::move(*p);
  }
  std::string dir_;
  std::unique_ptr<project::Project> project_;
};

TEST_F(ProjectMetricsTest, RendersStoredAndCatalogMetrics) {
  MetricRegistry other;
  other.GetCounter("watershed_api_requests_total", {{"source", "crunchbase"}}).Inc(40);
  other.GetCounter("watershed_api_retries_total", {{"source", "crunchbase"}}).Inc(2);
  ASSERT_TRUE(FlushRegistry(other, project_->config().catalog_path, NowMicros()).ok());
  // This process's own registry is flushed by RenderPrometheus.
  metrics::GetCounter("watershed_checks_failed_total",
                   {{"table", "t"}, {"check", "metrics_test_not_null"}})
      .Inc();
  const std::string text = RenderPrometheus(*project_);
  EXPECT_NE(text.find("watershed_api_requests_total{source=\"crunchbase\"} 40\n"),
            std::string::npos)
      << text;
  EXPECT_NE(
      text.find("watershed_checks_failed_total{check=\"metrics_test_not_null\",table=\"t\"} 1\n"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("watershed_catalog_snapshot 0\n"), std::string::npos) << text;
  if (access("/usr/bin/promtool", X_OK) == 0) {
    auto [code, out] = Promtool(text);
    EXPECT_EQ(code, 0) << out << text;
  }
  // Flushed once: rendering again does not count it twice.
  EXPECT_NE(RenderPrometheus(*project_).find(
                "watershed_checks_failed_total{check=\"metrics_test_not_null\","
                "table=\"t\"} 1\n"),
            std::string::npos);

  std::ostringstream table, json;
  ASSERT_TRUE(cli::MetricsCommand(*project_, "table", "", table).ok());
  EXPECT_NE(table.str().find("watershed_api_retries_total"), std::string::npos);
  EXPECT_NE(table.str().find("source=crunchbase"), std::string::npos);
  ASSERT_TRUE(cli::MetricsCommand(*project_, "json", "", json).ok());
  auto j = nlohmann::json::parse(json.str());
  bool found = false;
  for (const auto& m : j["metrics"]) {
    if (m["name"] == "watershed_api_requests_total") {
      found = true;
      EXPECT_EQ(m["value"], 40);
      EXPECT_EQ(m["labels"]["source"], "crunchbase");
      EXPECT_EQ(m["type"], "counter");
    }
  }
  EXPECT_TRUE(found) << json.str();
  std::ostringstream bad;
  Status s = cli::MetricsCommand(*project_, "xml", "", bad);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(MessageOf(s)).find("xml"), std::string::npos);
}

TEST_F(ProjectMetricsTest, MetricDatumsCoverAWindow) {
  const std::string db = project_->config().catalog_path;
  MetricRegistry r;
  r.GetCounter("watershed_written_bytes_total", {{"table", "t"}}).Inc(100);
  r.GetGauge("watershed_stream_lag_events", {{"stream", "s"}}).Set(9);
  r.GetHistogram("watershed_task_duration_seconds", {{"task", "x"}}).Observe(1.5);
  ASSERT_TRUE(FlushRegistry(r, db, kT0).ok());
  r.GetCounter("watershed_written_bytes_total", {{"table", "t"}}).Inc(50);
  ASSERT_TRUE(FlushRegistry(r, db, kT0 + 2 * kMinute).ok());

  auto datums = CloudWatchDatums(*project_, kT0 + kMinute, kT0 + 5 * kMinute);
  ASSERT_TRUE(datums.ok()) << datums.status();
  ASSERT_EQ(datums->size(), 1u);  // only the second counter delta is in the window
  EXPECT_EQ((*datums)[0].name, "watershed_written_bytes_total");
  EXPECT_EQ((*datums)[0].value, 50);
  EXPECT_EQ((*datums)[0].unit, "Bytes");
  EXPECT_EQ((*datums)[0].dimensions.at("table"), "t");
  EXPECT_EQ((*datums)[0].timestamp_micros, kT0 + 5 * kMinute);

  auto everything = CloudWatchDatums(*project_, 0, kT0 + 5 * kMinute);
  ASSERT_TRUE(everything.ok());
  std::map<std::string, MetricDatum> by_name;
  for (const auto& d : *everything) by_name[d.name] = d;
  EXPECT_EQ(by_name.size(), 4u);  // bytes, lag, duration _sum and _count (no buckets)
  EXPECT_EQ(by_name["watershed_written_bytes_total"].value, 150);
  EXPECT_EQ(by_name["watershed_stream_lag_events"].unit, "Count");
  EXPECT_EQ(by_name["watershed_task_duration_seconds_sum"].unit, "Seconds");
  EXPECT_EQ(by_name["watershed_task_duration_seconds_count"].unit, "Count");

  // The push cursor: after marking, the pending window starts there.
  ASSERT_TRUE(MarkCloudWatchPushed(*project_, kT0 + 5 * kMinute).ok());
  auto pending = PendingCloudWatchDatums(*project_);
  ASSERT_TRUE(pending.ok()) << pending.status();
  for (const auto& d : pending->datums) EXPECT_NE(d.name, "watershed_written_bytes_total");
  EXPECT_GT(pending->until_micros, kT0 + 5 * kMinute);
}

TEST(MetricFormatTest, FormatsValues) {
  EXPECT_EQ(FormatMetricValue(3), "3");
  EXPECT_EQ(FormatMetricValue(0.25), "0.25");
  EXPECT_EQ(FormatMetricValue(-2), "-2");
  EXPECT_EQ(FormatMetricValue(1.0 / 0.0), "+Inf");
  EXPECT_EQ(FormatMetricValue(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(FormatMetricValue(std::nan("")), "NaN");
  EXPECT_EQ(LabelsToJson({{"b", "2"}, {"a", "x\"y"}}), "{\"a\":\"x\\\"y\",\"b\":\"2\"}");
  EXPECT_EQ(LabelsFromJson("{\"a\":\"1\"}"), (MetricLabels{{"a", "1"}}));
  EXPECT_TRUE(LabelsFromJson("not json").empty());
  EXPECT_FALSE(cli::ParseMetricsFormat("yaml").ok());
}

}  // namespace
}  // namespace watershed::observe
