// Tests the metrics that Watershed's own code records: a load session (records read, written,
// quarantined, bytes, commit duration, sessions), the executor (tasks, attempts, failures,
// durations, runs — task processes are a small shell script standing in for `watershed`), and
// the scheduler's tick evaluating an alarm on them. Hermetic: local files and processes only.
#include <sys/stat.h>

#include <fstream>

#include "emulators/crunchbase/server.h"
#include "gtest/gtest.h"
#include "watershed/base/clock.h"
#include "watershed/base/test_util.h"
#include "watershed/cli/observe_view.h"
#include "watershed/load/crunchbase.h"
#include "watershed/load/session.h"
#include "watershed/observe/alarms.h"
#include "watershed/audit/audit_log.h"
#include "watershed/observe/metrics.h"
#include "watershed/orchestrate/executor.h"
#include "watershed/orchestrate/scheduler.h"

namespace watershed::observe {
namespace {

using testing_util::MakeTempDir;
using testing_util::WriteFile;

class InstrumentationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    // Every test starts from a flushed process registry, into a catalog no test reads.
    ASSERT_TRUE(FlushRegistry(ProcessMetrics(), dir_ + "/scratch.db", 1).ok());
  }
  std::unique_ptr<project::Project> OpenProject(const std::string& extra_yaml) {
    EXPECT_TRUE(project::Project::Init(dir_ + "/p", "instrumented").ok());
    std::ofstream(dir_ + "/p/watershed.yml", std::ios::app) << "\n" << extra_yaml << "\n";
    auto p = project::Project::Open(dir_ + "/p");
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? std::move(*p) : nullptr;
  }
  std::vector<MetricFamily> Stored(project::Project& p) {
    auto store = MetricStore::Open(p.config().catalog_path);
    EXPECT_TRUE(store.ok());
    auto all = (*store)->Aggregate();
    EXPECT_TRUE(all.ok());
    return all.ok() ? *all : std::vector<MetricFamily>{};
  }
  static double Value(const std::vector<MetricFamily>& families, const std::string& sample,
                      const MetricLabels& labels) {
    for (const auto& f : families) {
      for (const auto& s : f.samples) {
        if (s.name == sample && s.labels == labels) return s.value;
      }
    }
    ADD_FAILURE() << "no sample " << sample << " " << LabelsToJson(labels);
    return -1;
  }
  // A stand-in for the watershed binary: `task run PIPELINE TASK ...` fails for task "bad".
  std::string FakeBinary() {
    const std::string path =
        WriteFile(dir_, "fake-watershed", "#!/bin/sh\n[ \"$4\" = bad ] && exit 1\nexit 0\n");
    chmod(path.c_str(), 0755);
    return path;
  }

  std::string dir_;
};

TEST_F(InstrumentationTest, LoadSessionCountsRecordsBytesAndSessions) {
  auto p = OpenProject("");
  ASSERT_NE(p, nullptr);
  load::SessionOptions o;
  o.threads = 1;
  auto session = load::LoadSession::Begin(*p, "metrics-test", o);
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_TRUE((*session)->AddJson("cb.orgs", R"({"id":1,"tags":["a","b"]})", false).ok());
  ASSERT_TRUE((*session)->AddJson("cb.orgs", R"({"id":2})", false).ok());
  EXPECT_FALSE((*session)->AddJson("cb.orgs", R"({"id":)", false).ok());
  (*session)->Quarantine("cb.orgs", {"x.ndjson", 3, 20, "malformed JSON", R"({"id":)"});
  auto snapshot = (*session)->Commit({}, nlohmann::json::object());
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  (*session)->Finish();

  auto m = Stored(*p);  // flushed by Commit and Finish
  EXPECT_EQ(Value(m, "watershed_records_read_total", {{"table", "cb.orgs"}}), 3);
  EXPECT_EQ(Value(m, "watershed_records_written_total", {{"layer", "lake"}, {"table", "cb.orgs"}}),
            2);
  EXPECT_EQ(
      Value(m, "watershed_records_written_total", {{"layer", "lake"}, {"table", "cb.orgs__tags"}}),
      2);
  EXPECT_EQ(Value(m, "watershed_records_written_total",
                  {{"layer", "lake"}, {"table", "watershed.quarantine"}}),
            1);
  EXPECT_EQ(Value(m, "watershed_records_quarantined_total", {{"table", "cb.orgs"}}), 1);
  EXPECT_GT(Value(m, "watershed_written_bytes_total", {{"layer", "lake"}, {"table", "cb.orgs"}}),
            0);
  EXPECT_EQ(Value(m, "watershed_load_commit_duration_seconds_count", {}), 1);
  EXPECT_EQ(Value(m, "watershed_load_sessions_total", {{"status", "committed"}}), 1);
  // The catalog's own view agrees.
  auto derived = CatalogMetrics(*p);
  ASSERT_TRUE(derived.ok()) << derived.status();
  EXPECT_EQ(Value(*derived, "watershed_catalog_table_rows", {{"table", "cb.orgs"}}), 2);
  EXPECT_EQ(Value(*derived, "watershed_catalog_loads", {{"status", "committed"}}), 1);

  // A session that fails counts as failed.
  auto failing = load::LoadSession::Begin(*p, "metrics-test-2", o);
  ASSERT_TRUE(failing.ok());
  ASSERT_TRUE((*failing)->AddJson("cb.orgs", R"({"id":3})", false).ok());
  (*failing)->Abort(absl::InternalError("disk on fire"));
  m = Stored(*p);
  EXPECT_EQ(Value(m, "watershed_load_sessions_total", {{"status", "failed"}}), 1);
  EXPECT_EQ(Value(m, "watershed_records_read_total", {{"table", "cb.orgs"}}), 4);
}

TEST_F(InstrumentationTest, CrunchbaseUnloadCountsApiRequestsAndRetries) {
  emulators::crunchbase::EmulatorOptions eo;
  eo.num_orgs = 60;
  eo.seed = 3;
  eo.fault_rate = 0.3;  // some requests fail and are retried
  auto emulator = emulators::crunchbase::Emulator::Start(eo);
  ASSERT_TRUE(emulator.ok()) << emulator.status();
  auto p = OpenProject("");
  ASSERT_NE(p, nullptr);
  FakeClock clock;  // back-off sleeps take no time
  load::CrunchbaseRun run;
  run.api.base_url = (*emulator)->base_url();
  run.api.api_key = eo.api_key;
  run.api.requests_per_minute = 0;
  run.api.max_attempts = 20;
  run.api.clock = &clock;
  run.unload.page_size = 10;
  run.unload.collections = {"organizations"};
  run.session.threads = 1;
  auto result = load::RunCrunchbase(*p, run);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_GT(result->requests, 6u);  // 6 search pages at least

  auto m = Stored(*p);
  const MetricLabels cb = {{"source", "crunchbase"}};
  EXPECT_EQ(Value(m, "watershed_api_requests_total", cb), static_cast<double>(result->requests));
  if (result->retries > 0) {
    EXPECT_EQ(Value(m, "watershed_api_retries_total", cb), static_cast<double>(result->retries));
  }
  EXPECT_GT(Value(m, "watershed_api_response_bytes_total", cb), 0);
  EXPECT_EQ(Value(m, "watershed_records_written_total",
                  {{"layer", "lake"}, {"table", "crunchbase.organizations"}}),
            60);
}

constexpr char kPipelines[] = R"(pipelines:
  daily:
    schedule: every 1d
    start: 2026-01-01
    retries: 0
    tasks:
      good: {type: shell, command: "true"}
      bad: {type: shell, command: "false", after: good}
      after_bad: {type: shell, command: "true", after: bad}
)";

TEST_F(InstrumentationTest, ExecutorCountsTasksAttemptsFailuresAndRuns) {
  auto p = OpenProject(kPipelines);
  ASSERT_NE(p, nullptr);
  auto pipelines = orchestrate::ParsePipelines(p->config().raw["pipelines"]);
  ASSERT_TRUE(pipelines.ok()) << pipelines.status();
  orchestrate::RunOptions o;
  o.logical_date = "2026-01-01";
  o.binary = FakeBinary();
  auto run = orchestrate::Execute(*p, pipelines->at("daily"), o);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->status, "failed");

  auto m = Stored(*p);
  const MetricLabels good = {{"pipeline", "daily"}, {"task", "good"}};
  const MetricLabels bad = {{"pipeline", "daily"}, {"task", "bad"}};
  EXPECT_EQ(Value(m, "watershed_tasks_total",
                  {{"pipeline", "daily"}, {"task", "good"}, {"status", "ok"}}),
            1);
  EXPECT_EQ(Value(m, "watershed_tasks_total",
                  {{"pipeline", "daily"}, {"task", "bad"}, {"status", "failed"}}),
            1);
  EXPECT_EQ(Value(m, "watershed_tasks_total",
                  {{"pipeline", "daily"}, {"task", "after_bad"}, {"status", "skipped"}}),
            1);
  EXPECT_EQ(Value(m, "watershed_task_failures_total", bad), 1);
  EXPECT_EQ(Value(m, "watershed_task_attempts_total",
                  {{"pipeline", "daily"}, {"task", "bad"}, {"status", "failed"}}),
            1);
  EXPECT_EQ(Value(m, "watershed_task_duration_seconds_count", good), 1);
  EXPECT_EQ(
      Value(m, "watershed_pipeline_runs_total", {{"pipeline", "daily"}, {"status", "failed"}}), 1);
  EXPECT_EQ(Value(m, "watershed_pipeline_run_duration_seconds_count", {{"pipeline", "daily"}}), 1);
}

TEST_F(InstrumentationTest, SchedulerTickEvaluatesAlarmsOnTheRunsMetrics) {
  auto p = OpenProject(StrCat(kPipelines, R"(alarms:
  daily_failures:
    metric: watershed_task_failures_total
    labels: {pipeline: daily}
    comparison: ">"
    threshold: 0
    window: 1h
)"));
  ASSERT_NE(p, nullptr);
  orchestrate::SchedulerOptions o;
  o.once = true;
  o.until = 1767225600 + 3600;  // 2026-01-01T01:00:00Z: the interval of 2026-01-01 is due
  o.binary = FakeBinary();
  Status s = orchestrate::RunScheduler(*p, o);
  ASSERT_TRUE(s.ok()) << s;
  std::ostringstream out;
  ASSERT_TRUE(cli::AlarmsCommand(*p, "json", /*evaluate=*/false, out).ok());
  auto j = nlohmann::json::parse(out.str());
  EXPECT_EQ(j["alarms"][0]["name"], "daily_failures");
  EXPECT_EQ(j["alarms"][0]["state"], "ALARM") << out.str();
  EXPECT_EQ(j["alarms"][0]["value"], 1);
  auto audit = audit::AuditLog(p->root() + "/.watershed/audit.log").Read();
  ASSERT_TRUE(audit.ok()) << audit.status();
  ASSERT_EQ(audit->size(), 1u);
  EXPECT_EQ((*audit)[0].action, "alarm");
  EXPECT_EQ((*audit)[0].target, "daily_failures");
}

TEST_F(InstrumentationTest, SchedulerRefusesABrokenAlarmsSection) {
  auto p = OpenProject(StrCat(kPipelines,
                              "alarms: {oops: {metric: m, comparison: '~', "
                              "threshold: 1, window: 1h}}\n"));
  ASSERT_NE(p, nullptr);
  orchestrate::SchedulerOptions o;
  o.once = true;
  o.binary = FakeBinary();
  Status s = orchestrate::RunScheduler(*p, o);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(MessageOf(s)).find("alarms.oops.comparison"), std::string::npos) << s;
}

}  // namespace
}  // namespace watershed::observe
