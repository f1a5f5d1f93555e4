// tests/pipeline_test.cc — running pipelines for real: each task a `watershed task run`
// process. Ordering and parallelism, retries with backoff, terminal errors, timeouts killing
// the process group, resume, backfill, and the Airflow export parsed as Python.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "gtest/gtest.h"
#include "tests/harness.h"
#include "watershed/orchestrate/run_store.h"
#include "watershed/orchestrate/executor.h"
#include "watershed/orchestrate/airflow.h"
#include "watershed/orchestrate/task.h"

namespace watershed::orchestrate {
namespace {

using testing_util::ChildProcess;
using testing_util::Outcome;
using testing_util::Quote;
using testing_util::ReadLines;
using testing_util::Shell;
using testing_util::Watershed;
using testing_util::WatershedBinary;
using testing_util::WebhookReceiver;

class PipelineRun : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing_util::MakeTempDir();
    ASSERT_TRUE(project::Project::Init(dir_ + "/p", "t").ok());
  }
  // Appends `yaml` (a pipelines: section) and runs `name`.
  StatusOr<RunOutcome> Run(const std::string& yaml, const std::string& name,
                           const std::string& resume = "", const std::string& date = "2026-01-01") {
    if (!yaml.empty()) std::ofstream(dir_ + "/p/watershed.yml", std::ios::app) << yaml;
    project_ = std::move(*project::Project::Open(dir_ + "/p"));
    auto pipelines = ParsePipelines(project_->config().raw["pipelines"]);
    if (!pipelines.ok()) return pipelines.status();
    RunOptions o;
    o.logical_date = date;
    o.resume_run_id = resume;
    o.binary = WatershedBinary();
    return Execute(*project_, pipelines->at(name), o);
  }
  std::map<std::string, TaskOutcome> ByTask(const RunOutcome& o) {
    std::map<std::string, TaskOutcome> m;
    for (const auto& t : o.tasks) m[t.task] = t;
    return m;
  }
  double Stamp(const std::string& file) {
    std::ifstream in(dir_ + "/" + file);
    double v = -1;
    in >> v;
    return v;
  }
  std::string dir_;
  std::unique_ptr<project::Project> project_;
};

TEST_F(PipelineRun, IndependentTasksOverlapAndDependenciesWait) {
  const std::string d = dir_;
  auto r = Run(StrCat(R"(
pipelines:
  p:
    max_parallel: 2
    tasks:
      a: {type: shell, command: "date +%s.%N > )", d, R"(/a.start; sleep 0.5; date +%s.%N > )", d, R"(/a.end"}
      b: {type: shell, command: "date +%s.%N > )", d, R"(/b.start; sleep 0.5; date +%s.%N > )", d, R"(/b.end"}
      c: {type: shell, command: "date +%s.%N > )", d, R"(/c.start", after: [a, b]}
  serial:
    max_parallel: 1
    tasks:
      x: {type: shell, command: "date +%s.%N > )", d, R"(/x.start; sleep 0.3; date +%s.%N > )", d, R"(/x.end"}
      y: {type: shell, command: "date +%s.%N > )", d, R"(/y.start; sleep 0.3; date +%s.%N > )", d, R"(/y.end"}
)"), "p");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, "success");
  EXPECT_LT(Stamp("a.start"), Stamp("b.end"));  // a and b ran at the same time
  EXPECT_LT(Stamp("b.start"), Stamp("a.end"));
  EXPECT_GE(Stamp("c.start"), std::max(Stamp("a.end"), Stamp("b.end")));  // c waited for both
  auto s = Run("", "serial");
  ASSERT_TRUE(s.ok());
  const bool x_first = Stamp("x.start") < Stamp("y.start");
  EXPECT_GE(x_first ? Stamp("y.start") : Stamp("x.start"),
            x_first ? Stamp("x.end") : Stamp("y.end"));  // max_parallel 1: never together
}

TEST_F(PipelineRun, TransientFailuresRetryWithBackoffTerminalOnesDoNot) {
  const std::string d = dir_;
  auto r = Run(StrCat(R"(
pipelines:
  p:
    retries: 3
    retry_backoff: 0.2s
    tasks:
      flaky: {type: shell, command: "n=$(cat )", d, R"(/n 2>/dev/null || echo 0); echo $((n+1)) > )", d, R"(/n; date +%s.%N >> )", d, R"(/times; [ $n -ge 2 ] || exit 75"}
      broken: {type: shell, command: "exit 3"}
      after_broken: {type: shell, command: "true", after: [broken]}
      sibling: {type: shell, command: "true"}
)"), "p");
  ASSERT_TRUE(r.ok()) << r.status();
  auto t = ByTask(*r);
  EXPECT_EQ(t["flaky"].status, "ok");
  EXPECT_EQ(t["flaky"].attempts, 3);  // failed twice, passed the third time
  EXPECT_EQ(t["broken"].status, "failed");
  EXPECT_EQ(t["broken"].attempts, 1);  // a terminal error is not retried
  EXPECT_EQ(t["after_broken"].status, "skipped");
  EXPECT_EQ(t["sibling"].status, "ok");
  EXPECT_EQ(r->status, "failed");
  // Backoff doubles: 0.2 s, then 0.4 s between attempts.
  std::ifstream times(d + "/times");
  double t1, t2, t3;
  times >> t1 >> t2 >> t3;
  EXPECT_GE(t2 - t1, 0.2);
  EXPECT_GE(t3 - t2, 0.4);
  // The run and each attempt are in the catalog; resume reruns only what did not succeed.
  auto attempts = (*orchestrate::RunStore::Open(project_->config().catalog_path))->Attempts(r->run_id);
  ASSERT_TRUE(attempts.ok());
  EXPECT_GE(attempts->size(), 6u);
  std::ofstream(dir_ + "/p/watershed.yml", std::ios::app) << "";
  auto resumed = Run("", "p", r->run_id);
  ASSERT_TRUE(resumed.ok());
  auto rt = ByTask(*resumed);
  EXPECT_EQ(rt["flaky"].attempts, 0);  // already done: not run again
  EXPECT_EQ(rt["broken"].attempts, 1);
}

TEST_F(PipelineRun, ATimeoutKillsTheTasksWholeProcessGroup) {
  auto r = Run(R"(
pipelines:
  p:
    tasks:
      slow: {type: shell, command: "sleep 41.7 & sleep 41.7; wait", timeout: 0.5s}
)", "p");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(ByTask(*r)["slow"].status, "timeout");
  usleep(200000);
  EXPECT_NE(std::system("pgrep -f 'slee[p] 41.7' > /dev/null"), 0) << "a child survived";
}

TEST_F(PipelineRun, BackfillRunsEveryIntervalOnceAndAirflowExportParses) {
  const std::string d = dir_;
  std::string yaml = StrCat(R"(
pipelines:
  daily:
    schedule: "every 2h"
    retries: 1
    tasks:
      extract: {type: shell, command: "echo {{ date }} >> )", d, R"(/dates"}
      report: {type: shell, command: "true", after: extract}
)");
  for (int day = 1; day <= 5; ++day) {
    auto r = Run(day == 1 ? yaml : "", "daily", "", StrCat("2026-01-0", day));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, "success");
  }
  EXPECT_EQ(ReadLines(d + "/dates"),
            (std::vector<std::string>{"2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04",
                                      "2026-01-05"}));
  auto pipelines = ParsePipelines(project_->config().raw["pipelines"]);
  auto dag = AirflowDag(pipelines->at("daily"), dir_ + "/p");
  ASSERT_TRUE(dag.ok()) << dag.status();
  const std::string py = *dag;
  testing_util::WriteFile(dir_, "dag.py", py);
  EXPECT_NE(py.find("schedule=timedelta(hours=2)"), std::string::npos) << py;
  EXPECT_NE(py.find("watershed task run daily extract --date {{ ds }}"), std::string::npos);
  EXPECT_NE(py.find("task_0 >> task_1"), std::string::npos);
  Outcome parsed =
      Shell("python3 -c \"import ast,sys; ast.parse(open(sys.argv[1]).read())\" " +
            Quote(dir_ + "/dag.py"));
  EXPECT_EQ(parsed.code, 0) << parsed.out;
}

TEST_F(PipelineRun, ParallelBackfillRunsEachIntervalOnce) {
  const std::string d = dir_;
  std::ofstream(d + "/p/watershed.yml", std::ios::app) << StrCat(R"(
pipelines:
  daily:
    tasks:
      work: {type: shell, command: "echo {{ date }} >> )", d, R"(/done; sleep 0.2"}
)");
  const std::string backfill =
      "backfill daily --from 2026-03-01 --to 2026-03-06 --parallel 3 --project " + Quote(d + "/p");
  Outcome first = Watershed(backfill);
  ASSERT_EQ(first.code, 0) << first.out;
  Outcome second = Watershed(backfill);  // skips what succeeded
  ASSERT_EQ(second.code, 0) << second.out;
  std::map<std::string, int> seen;
  for (const std::string& line : ReadLines(d + "/done")) ++seen[line];
  ASSERT_EQ(seen.size(), 6u);
  for (const auto& [date, n] : seen) EXPECT_EQ(n, 1) << date;
}

TEST_F(PipelineRun, TheGlobalPoolLimitsTasksAcrossRunsAndNoopTasksJoin) {
  const std::string d = dir_;
  std::ofstream(d + "/p/watershed.yml", std::ios::app) << StrCat(R"(
pool: {slots: 1}
pipelines:
  one:
    tasks:
      a: {type: shell, command: "date +%s.%N > )", d, R"(/one.start; sleep 0.4; date +%s.%N > )", d, R"(/one.end"}
      b: {type: shell, command: "true"}
      join: {type: noop, after: [a, b]}
      done: {type: shell, command: "touch )", d, R"(/one.done", after: join}
  two:
    tasks:
      a: {type: shell, command: "date +%s.%N > )", d, R"(/two.start; sleep 0.4; date +%s.%N > )", d, R"(/two.end"}
)");
  const std::string base = Quote(WatershedBinary()) + " --project " + Quote(d + "/p") + " run ";
  const std::string both =
      "(" + base + "one > /dev/null 2>&1 & " + base + "two > /dev/null 2>&1 & wait)";
  ASSERT_EQ(Shell(both).code, 0);
  const bool one_first = Stamp("one.start") < Stamp("two.start");
  // One slot for the machine: the two runs' tasks never overlapped.
  EXPECT_GE(one_first ? Stamp("two.start") : Stamp("one.start"),
            one_first ? Stamp("one.end") : Stamp("two.end"));
  EXPECT_TRUE(std::filesystem::exists(d + "/one.done"));  // the noop join let `done` run
}

TEST_F(PipelineRun, AFailedTaskCallsTheWebhook) {
  WebhookReceiver hook;
  auto r = Run(StrCat(R"(
pipelines:
  p:
    on_failure: {webhook: ")", hook.url(), R"("}
    tasks:
      good: {type: shell, command: "true"}
      bad: {type: shell, command: "exit 4"}
)"), "p");
  hook.Stop();
  ASSERT_TRUE(r.ok()) << r.status();
  const std::vector<std::string> bodies = hook.Bodies();
  ASSERT_EQ(bodies.size(), 1u);
  auto event = nlohmann::json::parse(bodies[0]);
  EXPECT_EQ(event["task"], "bad");
  EXPECT_EQ(event["status"], "failed");
  EXPECT_EQ(event["run_id"], r->run_id);
  EXPECT_EQ(event["logical_date"], "2026-01-01");
}

// The scheduler catches up 30 daily intervals; killed with SIGKILL mid-way and restarted, it
// finishes them with every interval succeeding exactly once.
TEST_F(PipelineRun, ScheduledCatchUpSurvivesSigkillWithoutRunningAnIntervalTwice) {
  const std::string d = dir_;
  std::ofstream(d + "/p/watershed.yml", std::ios::app) << StrCat(R"(
pipelines:
  daily:
    schedule: "every 1d"
    start: 2026-10-01
    tasks:
      work: {type: shell, command: "echo {{ date }} >> )", d, R"(/done; sleep 0.05"}
)");
  // `watershed scheduler --once`; its exit code (-1 when killed).
  auto scheduler = [&](bool kill_early) {
    ChildProcess child({WatershedBinary(), "scheduler", "--once", "--until",
                        "2026-10-30T12:00:00Z", "--project", d + "/p"},
                       "/dev/null");
    if (!kill_early) return child.Wait();
    std::this_thread::sleep_for(std::chrono::milliseconds(900));
    return child.Stop(SIGKILL);
  };
  scheduler(true);
  project_ = std::move(*project::Project::Open(d + "/p"));
  auto partial = (*orchestrate::RunStore::Open(project_->config().catalog_path))->Runs("daily");
  ASSERT_TRUE(partial.ok());
  EXPECT_LT(partial->size(), 30u) << "the kill came after the catch-up finished";
  EXPECT_GT(partial->size(), 0u);
  ASSERT_EQ(scheduler(false), 0);
  auto runs = (*orchestrate::RunStore::Open(project_->config().catalog_path))->Runs("daily");
  ASSERT_TRUE(runs.ok());
  std::map<std::string, int> successes;
  for (const auto& r : *runs) successes[r.logical_date] += r.status == "success";
  ASSERT_EQ(successes.size(), 30u);  // 2026-10-01 .. 2026-10-30, nothing after --until
  for (const auto& [date, n] : successes) EXPECT_EQ(n, 1) << date;
  EXPECT_EQ(successes.begin()->first, "2026-10-01");
  EXPECT_EQ(successes.rbegin()->first, "2026-10-30");
  // A third pass finds nothing due.
  scheduler(false);
  EXPECT_EQ((*orchestrate::RunStore::Open(project_->config().catalog_path))->Runs("daily")->size(), runs->size());
  // What the tasks did, not only what the run store says: each day's task ran to its end once
  // (a killed one may have appended before dying, so at most one extra line for one day).
  std::map<std::string, int> appended;
  for (const std::string& line : ReadLines(d + "/done")) ++appended[line];
  EXPECT_EQ(appended.size(), 30u);
  int extra = 0;
  for (const auto& [date, n] : appended) extra += n - 1;
  EXPECT_LE(extra, 1);
}

TEST_F(PipelineRun, BackfillAndSchedulerShareIntervalIdentitiesSoNoIntervalRunsTwice) {
  const std::string d = dir_;
  std::ofstream(d + "/p/watershed.yml", std::ios::app) << StrCat(R"(
pipelines:
  daily:
    schedule: "0 6 * * *"
    start: 2026-11-28
    tasks:
      work: {type: shell, command: "echo {{ logical_time }} {{ date }} $WATERSHED_LOGICAL_TIME >> )",
                                                                 d, R"(/done"}
)");
  Outcome backfill = Watershed("backfill daily --from 2026-11-28 --to 2026-11-30 --project " +
                               Quote(d + "/p"));
  ASSERT_EQ(backfill.code, 0) << backfill.out;
  EXPECT_NE(backfill.out.find("2026-11-28T06:00:00Z"), std::string::npos) << backfill.out;
  Outcome scheduler = Watershed("scheduler --once --until 2026-11-30T12:00:00Z --project " +
                                Quote(d + "/p"));
  ASSERT_EQ(scheduler.code, 0) << scheduler.out;
  EXPECT_EQ(ReadLines(d + "/done"),
            (std::vector<std::string>{
                "2026-11-28T06:00:00Z 2026-11-28 2026-11-28T06:00:00Z",
                "2026-11-29T06:00:00Z 2026-11-29 2026-11-29T06:00:00Z",
                "2026-11-30T06:00:00Z 2026-11-30 2026-11-30T06:00:00Z"}));
  // The scheduler picks up where the backfill's intervals end.
  ASSERT_EQ(Watershed("scheduler --once --until 2026-12-01T07:00:00Z --project " +
                      Quote(d + "/p")).code,
            0);
  EXPECT_EQ(ReadLines(d + "/done").size(), 4u);
}

}  // namespace
}  // namespace watershed::orchestrate
