// Tests alarms: parsing `alarms:` (errors name the alarm and field), evaluation over windows
// with every comparison and statistic, and state changes told to a real webhook (a cpp-httplib
// server on 127.0.0.1), the log and the audit log — once per change, never again without one.
#include "watershed/observe/alarms.h"

// Debian builds libcpp-httplib with these; the header must see the same to match the library.
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_OPENSSL_SUPPORT
#endif
#ifndef CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#endif
#ifndef CPPHTTPLIB_BROTLI_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#endif
#include <httplib.h>

#include <chrono>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "gtest/gtest.h"
#include "watershed/base/columns.h"
#include "watershed/base/test_util.h"
#include "watershed/cli/observe_view.h"
#include "watershed/observe/metrics_prometheus.h"
#include "watershed/audit/audit_log.h"

namespace watershed::observe {
namespace {

using testing_util::MakeTempDir;
using testing_util::WriteFile;

constexpr int64_t kT0 = 1'700'000'000'000'000;
constexpr int64_t kMinute = 60'000'000;

StatusOr<std::vector<AlarmSpec>> ParseText(const std::string& yaml) {
  return ParseAlarms(YAML::Load(yaml)["alarms"]);
}

void ExpectParseError(const std::string& yaml, const std::string& expected) {
  auto r = ParseText(yaml);
  ASSERT_FALSE(r.ok()) << yaml;
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(MessageOf(r.status())).find(expected), std::string::npos)
      << "got: " << MessageOf(r.status()) << "\nwanted: " << expected;
}

TEST(ParseAlarmsTest, ReadsEveryField) {
  auto r = ParseText(R"(
alarms:
  load_failures:
    metric: watershed_task_failures_total
    labels: {pipeline: crunchbase_daily}
    comparison: ">="
    threshold: 2.5
    window: 1h30m
    statistic: max
    missing: insufficient_data
    webhook: http://127.0.0.1:9/hook
    description: Loads keep failing
  lag: {metric: watershed_stream_lag_events, comparison: ">", threshold: 1000, window: 5m}
)");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 2u);
  const AlarmSpec& lag = (*r)[0];  // sorted by name
  EXPECT_EQ(lag.name, "lag");
  EXPECT_EQ(lag.statistic, Statistic::kSum);  // the default
  EXPECT_EQ(lag.missing, MissingData::kDefault);
  EXPECT_EQ(lag.window_micros, 5 * kMinute);
  const AlarmSpec& a = (*r)[1];
  EXPECT_EQ(a.metric, "watershed_task_failures_total");
  EXPECT_EQ(a.labels, (MetricLabels{{"pipeline", "crunchbase_daily"}}));
  EXPECT_EQ(a.comparison, Comparison::kGreaterOrEqual);
  EXPECT_EQ(a.threshold, 2.5);
  EXPECT_EQ(a.window_micros, 90 * kMinute);
  EXPECT_EQ(a.statistic, Statistic::kMax);
  EXPECT_EQ(a.missing, MissingData::kInsufficientData);
  EXPECT_EQ(a.webhook, "http://127.0.0.1:9/hook");
  EXPECT_EQ(a.description, "Loads keep failing");
  // No alarms at all is fine.
  auto none = ParseText("name: x\n");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(ParseAlarmsTest, ErrorsNameTheAlarmAndTheField) {
  const std::string ok = "comparison: '>', threshold: 1, window: 1h";
  ExpectParseError("alarms: {a: {" + ok + "}}", "alarms.a.metric: required");
  ExpectParseError("alarms: {a: {metric: 'x y', " + ok + "}}", "alarms.a.metric: 'x y' is not");
  ExpectParseError("alarms: {b: {metric: m, comparison: '=>', threshold: 1, window: 1h}}",
                   "alarms.b.comparison: '=>' is not one of >, >=, <, <=, ==, !=");
  ExpectParseError("alarms: {b: {metric: m, threshold: 1, window: 1h}}",
                   "alarms.b.comparison: required");
  ExpectParseError("alarms: {c: {metric: m, comparison: '>', threshold: lots, window: 1h}}",
                   "alarms.c.threshold: 'lots' is not a number");
  ExpectParseError("alarms: {c: {metric: m, comparison: '>', window: 1h}}",
                   "alarms.c.threshold: required");
  ExpectParseError("alarms: {d: {metric: m, comparison: '>', threshold: 1, window: 1y}}",
                   "alarms.d.window: '1y' is not a duration");
  ExpectParseError("alarms: {d: {metric: m, comparison: '>', threshold: 1}}",
                   "alarms.d.window: required");
  ExpectParseError("alarms: {e: {metric: m, " + ok + ", statistic: median}}",
                   "alarms.e.statistic: 'median' is not one of sum");
  ExpectParseError("alarms: {f: {metric: m, " + ok + ", webhook: 'ftp://x'}}",
                   "alarms.f.webhook: must be an http");
  ExpectParseError("alarms: {g: {metric: m, " + ok + ", treshold: 3}}",
                   "alarms.g.treshold: unknown field");
  ExpectParseError("alarms: {h: {metric: m, " + ok + ", labels: [a, b]}}",
                   "alarms.h.labels: must be a map");
  ExpectParseError("alarms: {i: {metric: m, " + ok + ", missing: maybe}}",
                   "alarms.i.missing: 'maybe' is not one of zero, insufficient_data");
  ExpectParseError("alarms: {j: 5}", "alarms.j: must be a map");
  ExpectParseError("alarms: [1, 2]", "alarms: must be a map");
}

TEST(ParseAlarmsTest, Windows) {
  EXPECT_EQ(*ParseWindowMicros("90s"), 90'000'000);
  EXPECT_EQ(*ParseWindowMicros("5m"), 5 * kMinute);
  EXPECT_EQ(*ParseWindowMicros("1h30m"), 90 * kMinute);
  EXPECT_EQ(*ParseWindowMicros("2d"), 2 * 1440 * kMinute);
  EXPECT_EQ(*ParseWindowMicros("10"), 10'000'000);
  for (const char* bad : {"", "h", "5x", "-5", "0s", "1h30", "m5"}) {
    EXPECT_FALSE(ParseWindowMicros(bad).ok()) << bad;
  }
}

// A project whose watershed.yml ends with `alarms_yaml`, and a webhook receiver.
class AlarmsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      hooks_.push_back(nlohmann::json::parse(req.body, nullptr, false));
      res.set_content("{}", "application/json");
    });
    server_.Post("/broken",
                 [](const httplib::Request&, httplib::Response& res) { res.status = 404; });
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    dir_ = MakeTempDir();
    ASSERT_TRUE(project::Project::Init(dir_, "alarm_test").ok());
  }
  void TearDown() override {
    server_.stop();
    thread_.join();
  }

  std::unique_ptr<project::Project> OpenWith(const std::string& alarms_yaml) {
    std::ofstream(dir_ + "/watershed.yml", std::ios::app) << "\n" << alarms_yaml << "\n";
    auto p = project::Project::Open(dir_);
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? std::move(*p) : nullptr;
  }
  std::string Hook() const { return StrCat("http://127.0.0.1:", port_, "/hook"); }
  std::vector<nlohmann::json> Hooks() {
    std::lock_guard<std::mutex> lock(mu_);
    return hooks_;
  }
  std::vector<audit::AuditEntry> AlarmAudits() {
    auto entries = audit::AuditLog(dir_ + "/.watershed/audit.log").Read();
    std::vector<audit::AuditEntry> out;
    if (!entries.ok()) return out;  // no log yet
    for (auto& e : *entries) {
      if (e.action == "alarm") out.push_back(e);
    }
    return out;
  }
  // Writes points as a separate process would (its own registry), at `time`.
  void Record(project::Project& p, int64_t time, const std::string& name,
              const MetricLabels& labels, double v, bool gauge = false) {
    MetricRegistry r;
    if (gauge) {
      r.GetGauge(name, labels).Set(v);
    } else {
      r.GetCounter(name, labels).Inc(v);
    }
    ASSERT_TRUE(FlushRegistry(r, p.config().catalog_path, time).ok());
  }
  static const AlarmResult& Find(const std::vector<AlarmResult>& results, const std::string& n) {
    for (const auto& r : results) {
      if (r.spec.name == n) return r;
    }
    static AlarmResult none;
    ADD_FAILURE() << "no alarm " << n;
    return none;
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::vector<nlohmann::json> hooks_;
  std::string dir_;
};

TEST_F(AlarmsTest, EveryComparisonAndStatisticOverAWindow) {
  auto p = OpenWith(R"(alarms:
  sum_gt:    {metric: test_failures_total, labels: {pipeline: p}, comparison: ">", threshold: 6, window: 1h}
  sum_ge:    {metric: test_failures_total, labels: {pipeline: p}, comparison: ">=", threshold: 8, window: 1h}
  max_eq:    {metric: test_failures_total, labels: {pipeline: p}, comparison: "==", threshold: 4, window: 1h, statistic: max}
  min_lt:    {metric: test_failures_total, labels: {pipeline: p}, comparison: "<", threshold: 1, window: 1h, statistic: min}
  avg_le:    {metric: test_failures_total, labels: {pipeline: p}, comparison: "<=", threshold: 2.5, window: 1h, statistic: avg}
  last_ne:   {metric: test_failures_total, labels: {pipeline: p}, comparison: "!=", threshold: 4, window: 1h, statistic: last}
  count_gt:  {metric: test_failures_total, labels: {pipeline: p}, comparison: ">", threshold: 2, window: 1h, statistic: count}
  short:     {metric: test_failures_total, labels: {pipeline: p}, comparison: ">=", threshold: 4, window: 10m}
  all:       {metric: test_failures_total, comparison: ">", threshold: 100, window: 1h}
  long:      {metric: test_failures_total, labels: {pipeline: p}, comparison: "==", threshold: 15, window: 3h}
  lag_max:   {metric: test_lag_events, comparison: ">", threshold: 50, window: 30m, statistic: max}
  lag_last:  {metric: test_lag_events, comparison: ">", threshold: 50, window: 30m, statistic: last}
  no_gauge:  {metric: test_other_gauge, comparison: ">", threshold: 0, window: 1h}
  no_count:  {metric: watershed_task_failures_total, comparison: ">", threshold: 0, window: 1h}
  no_count_strict: {metric: watershed_task_failures_total, comparison: ">", threshold: 0, window: 1h, missing: insufficient_data}
  gauge_zero: {metric: test_other_gauge, comparison: "<", threshold: 1, window: 1h, missing: zero}
)");
  ASSERT_NE(p, nullptr);
  const int64_t now = kT0;
  Record(*p, now - 2 * 60 * kMinute, "test_failures_total", {{"pipeline", "p"}}, 8);  // old
  Record(*p, now - 50 * kMinute, "test_failures_total", {{"pipeline", "p"}}, 1);
  Record(*p, now - 20 * kMinute, "test_failures_total", {{"pipeline", "p"}}, 2);
  Record(*p, now - 5 * kMinute, "test_failures_total", {{"pipeline", "p"}}, 4);
  Record(*p, now - 5 * kMinute, "test_failures_total", {{"pipeline", "q"}}, 100);
  Record(*p, now + kMinute, "test_failures_total", {{"pipeline", "p"}}, 1000);  // future
  Record(*p, now - 25 * kMinute, "test_lag_events", {{"stream", "s"}}, 80, true);
  Record(*p, now - 1 * kMinute, "test_lag_events", {{"stream", "s"}}, 10, true);
  Record(*p, now - 40 * kMinute, "test_lag_events", {{"stream", "s"}}, 500, true);  // old

  auto results = EvaluateAlarms(*p, now);
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), 16u);
  auto expect = [&](const std::string& name, AlarmState state, std::optional<double> value) {
    const AlarmResult& r = Find(*results, name);
    EXPECT_EQ(AlarmStateName(r.state), AlarmStateName(state)) << name << ": " << r.reason;
    ASSERT_EQ(r.value.has_value(), value.has_value()) << name;
    if (value) {
      EXPECT_DOUBLE_EQ(*r.value, *value) << name;
    }
  };
  expect("sum_gt", AlarmState::kAlarm, 7);
  expect("sum_ge", AlarmState::kOk, 7);
  expect("max_eq", AlarmState::kAlarm, 4);
  expect("min_lt", AlarmState::kOk, 1);
  expect("avg_le", AlarmState::kAlarm, 7.0 / 3);
  expect("last_ne", AlarmState::kOk, 4);
  expect("count_gt", AlarmState::kAlarm, 3);
  expect("short", AlarmState::kAlarm, 4);
  expect("all", AlarmState::kAlarm, 107);
  expect("long", AlarmState::kAlarm, 15);
  expect("lag_max", AlarmState::kAlarm, 80);
  expect("lag_last", AlarmState::kOk, 10);
  expect("no_gauge", AlarmState::kInsufficientData, std::nullopt);
  expect("no_count", AlarmState::kOk, 0);  // a counter that did not move: zero
  expect("no_count_strict", AlarmState::kInsufficientData, std::nullopt);
  expect("gauge_zero", AlarmState::kAlarm, 0);
  EXPECT_NE(Find(*results, "sum_gt")
                .reason.find("sum of test_failures_total{pipeline=p} over "
                             "1h = 7 > 6"),
            std::string::npos)
      << Find(*results, "sum_gt").reason;
  // First evaluation: only alarms that start in ALARM count as changed.
  EXPECT_TRUE(Find(*results, "sum_gt").changed);
  EXPECT_FALSE(Find(*results, "sum_ge").changed);
  EXPECT_FALSE(Find(*results, "no_gauge").changed);
  EXPECT_EQ(Find(*results, "sum_gt").previous, std::nullopt);
}

TEST_F(AlarmsTest, StateChangesNotifyWebhookAndAuditOnce) {
  auto p = OpenWith(StrCat(R"(alarms:
  load_failures:
    metric: watershed_task_failures_total
    labels: {pipeline: daily}
    comparison: ">"
    threshold: 0
    window: 1h
    webhook: )",
                           Hook(), "\n"));
  ASSERT_NE(p, nullptr);
  // No failures: OK, stored silently.
  auto r1 = EvaluateAlarms(*p, kT0);
  ASSERT_TRUE(r1.ok()) << r1.status();
  EXPECT_EQ((*r1)[0].state, AlarmState::kOk);
  EXPECT_FALSE((*r1)[0].changed);
  EXPECT_TRUE(Hooks().empty());
  EXPECT_TRUE(AlarmAudits().empty());

  // A failure of another pipeline does not count; one of `daily` fires the alarm.
  Record(*p, kT0 + kMinute, "watershed_task_failures_total", {{"pipeline", "other"}}, 1);
  auto r2 = EvaluateAlarms(*p, kT0 + kMinute);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ((*r2)[0].state, AlarmState::kOk);
  Record(*p, kT0 + 2 * kMinute, "watershed_task_failures_total",
         {{"pipeline", "daily"}, {"task", "load"}}, 1);
  auto r3 = EvaluateAlarms(*p, kT0 + 3 * kMinute);
  ASSERT_TRUE(r3.ok());
  EXPECT_EQ((*r3)[0].state, AlarmState::kAlarm);
  EXPECT_TRUE((*r3)[0].changed);
  EXPECT_EQ((*r3)[0].previous, AlarmState::kOk);
  EXPECT_EQ((*r3)[0].since_micros, kT0 + 3 * kMinute);
  auto hooks = Hooks();
  ASSERT_EQ(hooks.size(), 1u);
  EXPECT_EQ(hooks[0]["event"], "alarm_state_change");
  EXPECT_EQ(hooks[0]["alarm"], "load_failures");
  EXPECT_EQ(hooks[0]["state"], "ALARM");
  EXPECT_EQ(hooks[0]["previous"], "OK");
  EXPECT_EQ(hooks[0]["value"], 1);
  EXPECT_EQ(hooks[0]["threshold"], 0);
  EXPECT_EQ(hooks[0]["window_seconds"], 3600);
  EXPECT_EQ(hooks[0]["project"], "alarm_test");
  EXPECT_EQ(hooks[0]["labels"]["pipeline"], "daily");
  auto audits = AlarmAudits();
  ASSERT_EQ(audits.size(), 1u);
  EXPECT_EQ(audits[0].target, "load_failures");
  EXPECT_EQ(audits[0].outcome.rfind("ALARM (was OK): ", 0), 0u) << audits[0].outcome;
  EXPECT_TRUE(audit::AuditLog(dir_ + "/.watershed/audit.log").Verify().ok());

  // Still failing, evaluated again (also by a second evaluator, e.g. the server): no news.
  auto r4 = EvaluateAlarms(*p, kT0 + 10 * kMinute);
  ASSERT_TRUE(r4.ok());
  EXPECT_EQ((*r4)[0].state, AlarmState::kAlarm);
  EXPECT_FALSE((*r4)[0].changed);
  EXPECT_EQ((*r4)[0].since_micros, kT0 + 3 * kMinute);
  auto other = project::Project::Open(dir_);
  ASSERT_TRUE(other.ok());
  auto r5 = EvaluateAlarms(**other, kT0 + 11 * kMinute);
  ASSERT_TRUE(r5.ok());
  EXPECT_FALSE((*r5)[0].changed);
  EXPECT_EQ(Hooks().size(), 1u);
  EXPECT_EQ(AlarmAudits().size(), 1u);

  // The failure leaves the window: back to OK, told once.
  auto r6 = EvaluateAlarms(*p, kT0 + 2 * kMinute + 61 * kMinute);
  ASSERT_TRUE(r6.ok());
  EXPECT_EQ((*r6)[0].state, AlarmState::kOk);
  EXPECT_TRUE((*r6)[0].changed);
  hooks = Hooks();
  ASSERT_EQ(hooks.size(), 2u);
  EXPECT_EQ(hooks[1]["state"], "OK");
  EXPECT_EQ(hooks[1]["previous"], "ALARM");
  EXPECT_EQ(hooks[1]["value"], 0);
  ASSERT_EQ(AlarmAudits().size(), 2u);
  EXPECT_EQ(AlarmAudits()[1].outcome.rfind("OK (was ALARM)", 0), 0u);

  // `watershed alarms`: name, state, value, condition, since.
  std::ostringstream table;
  ASSERT_TRUE(cli::AlarmsCommand(*p, "table", /*evaluate=*/false, table).ok());
  EXPECT_NE(table.str().find("load_failures"), std::string::npos) << table.str();
  EXPECT_NE(table.str().find("OK"), std::string::npos);
  EXPECT_NE(table.str().find("sum > 0 over 1h"), std::string::npos) << table.str();
  EXPECT_NE(table.str().find(IsoUtc(kT0 + 63 * kMinute, false)), std::string::npos) << table.str();
  std::ostringstream json;
  ASSERT_TRUE(cli::AlarmsCommand(*p, "json", false, json).ok());
  auto j = nlohmann::json::parse(json.str());
  EXPECT_EQ(j["alarms"][0]["name"], "load_failures");
  EXPECT_EQ(j["alarms"][0]["state"], "OK");
  EXPECT_EQ(j["alarms"][0]["value"], 0);
  EXPECT_FALSE(cli::AlarmsCommand(*p, "xml", false, json).ok());
  // The alarm state shows in the metrics too.
  EXPECT_NE(
      RenderPrometheus(*p).find("watershed_alarm_state{alarm=\"load_failures\",state=\"OK\"} 1"),
      std::string::npos);
}

TEST_F(AlarmsTest, AFailingWebhookStillRecordsTheChange) {
  auto p = OpenWith(StrCat(R"(alarms:
  lag: {metric: test_lag_events, comparison: ">", threshold: 10, window: 5m, statistic: last, webhook: http://127.0.0.1:)",
                           port_, "/broken}\n"));
  ASSERT_NE(p, nullptr);
  Record(*p, kT0, "test_lag_events", {}, 50, true);
  auto r = EvaluateAlarms(*p, kT0);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)[0].state, AlarmState::kAlarm);
  EXPECT_TRUE((*r)[0].changed);
  EXPECT_EQ(AlarmAudits().size(), 1u);
  EXPECT_TRUE(Hooks().empty());
}

TEST_F(AlarmsTest, RemovedAlarmsLoseTheirStateAndBadYamlFailsEvaluation) {
  auto p = OpenWith(
      "alarms: {x: {metric: m, comparison: '<', threshold: 1, window: 1m, "
      "missing: zero}}");
  ASSERT_NE(p, nullptr);
  ASSERT_TRUE(EvaluateAlarms(*p, kT0).ok());
  std::ostringstream before;
  ASSERT_TRUE(cli::AlarmsCommand(*p, "json", false, before).ok());
  EXPECT_EQ(nlohmann::json::parse(before.str())["alarms"][0]["state"], "ALARM");
  // Rewrite the file without the alarm.
  std::ofstream(dir_ + "/watershed.yml") << "name: alarm_test\n";
  auto q = project::Project::Open(dir_);
  ASSERT_TRUE(q.ok());
  auto results = EvaluateAlarms(**q, kT0 + kMinute);
  ASSERT_TRUE(results.ok());
  EXPECT_TRUE(results->empty());
  EXPECT_EQ(RenderPrometheus(**q).find("watershed_alarm_state"), std::string::npos);
  std::ostringstream none;
  ASSERT_TRUE(cli::AlarmsCommand(**q, "table", false, none).ok());
  EXPECT_NE(none.str().find("no alarms"), std::string::npos);
  // A bad alarm makes evaluation (and so the scheduler's tick) fail with the alarm's name.
  std::ofstream(dir_ + "/watershed.yml")
      << "name: alarm_test\nalarms: {broken: {metric: m, comparison: '>', threshold: x, "
         "window: 1h}}\n";
  auto bad = project::Project::Open(dir_);
  ASSERT_TRUE(bad.ok());
  Status s = MetricsTick(**bad);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(MessageOf(s)).find("alarms.broken.threshold"), std::string::npos) << s;
}

TEST_F(AlarmsTest, MetricsTickCompactsPointsOlderThanTheRetention) {
  auto p = OpenWith("metrics: {retention: 1h}");
  ASSERT_NE(p, nullptr);
  const int64_t now = NowMicros();
  for (int i = 0; i < 4; ++i) {
    Record(*p, now - (3 + i) * 60 * kMinute, "test_total", {}, 1);  // 3..6 hours old
  }
  Record(*p, now - kMinute, "test_total", {}, 10);
  ASSERT_TRUE(MetricsTick(*p).ok());
  auto store = MetricStore::Open(p->config().catalog_path);
  ASSERT_TRUE(store.ok());
  auto points = (*store)->Points("test_total", 0, now + kMinute);
  ASSERT_TRUE(points.ok());
  EXPECT_EQ(points->size(), 2u);     // the four old ones rolled into one, the recent one kept
  auto all = (*store)->Aggregate();  // (other tests' process metrics may be there too)
  ASSERT_TRUE(all.ok());
  double total = -1;
  for (const auto& f : *all) {
    if (f.name == "test_total") total = f.samples.at(0).value;
  }
  EXPECT_EQ(total, 14);

  std::ofstream(dir_ + "/watershed.yml") << "name: x\nmetrics: {retention: forever}\n";
  auto bad = project::Project::Open(dir_);
  ASSERT_TRUE(bad.ok());
  Status s = MetricsTick(**bad);
  EXPECT_NE(std::string(MessageOf(s)).find("metrics.retention"), std::string::npos) << s;
}

}  // namespace
}  // namespace watershed::observe
