// tests/pipeline_test.cc — running pipelines for real: each task a `watershed task run`
// process. Ordering and parallelism, retries with backoff (any non-zero exit, or exit 75 only
// under retry_on: transient; never a failed check), terminal errors, timeouts killing the
// process group (in the executor and in `watershed task run` alone), resume, backfill, and the
// Airflow export imported under a stub airflow package (tests/fixtures/airflow_stub) that
// checks every operator's arguments and runs the tasks the way Airflow does.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "gtest/gtest.h"
#include "tests/harness.h"
#include "watershed/orchestrate/run_store.h"
#include "watershed/orchestrate/executor.h"
#include "watershed/orchestrate/airflow.h"
#include "watershed/orchestrate/scheduler.h"
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
    retry_on: transient
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
  EXPECT_EQ(t["broken"].attempts, 1);  // retry_on: transient retries exit 75 only
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
  EXPECT_NE(py.find("task run daily extract --date {{ data_interval_start | ts }}"),
            std::string::npos);
  EXPECT_EQ(py.find("{{ ds }}"), std::string::npos);  // a day would merge sub-daily intervals
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

// Issue 13.8: `retries:` retries any non-zero exit (what Airflow users expect) unless
// `retry_on: transient` (pipeline or task) limits it to exit 75; a check task whose error check
// fails exits 3 and is never retried.
TEST_F(PipelineRun, RetriesRetryAnyFailureUnlessRetryOnTransientAndNeverAFailedCheck) {
  const std::string d = dir_;
  testing_util::WriteFile(d + "/p", "orgs.ndjson", "{\"uuid\": \"a\"}\n{\"uuid\": \"a\"}\n");
  // Fails the first time with `code`, then succeeds.
  auto once = [&](const std::string& name, int code) {
    return StrCat("[ -e ", d, "/", name, " ] || { touch ", d, "/", name, "; exit ", code, "; }");
  };
  auto r = Run(StrCat(R"(
checks:
  cb.orgs: [{unique: uuid}]
pipelines:
  p:
    retries: 2
    retry_backoff: 0.05s
    tasks:
      exit1_once: {type: shell, command: ")", once("e1", 1), R"("}
      always3: {type: shell, command: "exit 3"}
      strict: {type: shell, command: ")", once("s1", 1), R"(", retry_on: transient}
      strict75: {type: shell, command: ")", once("s75", 75), R"(", retry_on: transient}
      load: {type: load, file: orgs.ndjson, table: cb.orgs}
      gate: {type: check, table: cb.orgs, after: load}
  q:
    retries: 2
    retry_on: transient
    retry_backoff: 0.05s
    tasks:
      one: {type: shell, command: ")", once("q1", 1), R"("}
      loose: {type: shell, command: ")", once("q2", 1), R"(", retry_on: any}
)"), "p");
  ASSERT_TRUE(r.ok()) << r.status();
  auto t = ByTask(*r);
  EXPECT_EQ(t["exit1_once"].status, "ok");
  EXPECT_EQ(t["exit1_once"].attempts, 2);  // exit 1 retried (today: failed after 1)
  EXPECT_EQ(t["always3"].status, "failed");
  EXPECT_EQ(t["always3"].attempts, 3);  // a shell command's own 3 is like any other code
  EXPECT_EQ(t["strict"].status, "failed");
  EXPECT_EQ(t["strict"].attempts, 1);
  EXPECT_EQ(t["strict75"].status, "ok");
  EXPECT_EQ(t["strict75"].attempts, 2);
  EXPECT_EQ(t["load"].status, "ok");
  EXPECT_EQ(t["gate"].status, "failed");
  EXPECT_EQ(t["gate"].attempts, 1);  // a failed error check is terminal
  auto attempts = (*RunStore::Open(project_->config().catalog_path))->Attempts(r->run_id);
  ASSERT_TRUE(attempts.ok());
  for (const TaskAttempt& a : *attempts) {
    if (a.task == "gate") EXPECT_EQ(a.exit_code, kTerminalExitCode) << a.status;
  }
  auto q = Run("", "q");
  ASSERT_TRUE(q.ok()) << q.status();
  auto qt = ByTask(*q);
  EXPECT_EQ(qt["one"].attempts, 1);  // the pipeline's retry_on: transient
  EXPECT_EQ(qt["loose"].attempts, 2);  // the task's retry_on: any wins
  // A mistyped value is an error naming it, with a did-you-mean.
  auto bad = ParsePipelines(YAML::Load("p: {retry_on: transiet, tasks: {a: {type: noop}}}"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(MessageOf(bad.status()).find("did you mean 'transient'"), std::string_view::npos)
      << bad.status();
  EXPECT_FALSE(ParsePipelines(YAML::Load("p: {tasks: {a: {type: noop, retry_on: 75}}}")).ok());
}

// Issue 13.9: `watershed task run` on its own (as Airflow calls it) enforces the task's
// timeout, killing the task's whole process group, and says which timeout it was.
TEST_F(PipelineRun, TaskRunAloneEnforcesTheTimeoutAndRecordsTheRun) {
  std::ofstream(dir_ + "/p/watershed.yml", std::ios::app) << R"(
pipelines:
  p:
    tasks:
      slow: {type: shell, command: "sleep 43.1 & sleep 43.1; wait", timeout: 0.5s}
      quick: {type: shell, command: "echo $WATERSHED_LOGICAL_TIME"}
)";
  Outcome slow = Watershed("task run p slow --date 2026-01-01 --project " + Quote(dir_ + "/p"));
  EXPECT_EQ(slow.code, kTimeoutExitCode) << slow.out;
  EXPECT_NE(slow.out.find("passed its timeout of 0.5 s"), std::string::npos) << slow.out;
  usleep(200000);
  EXPECT_NE(std::system("pgrep -f 'slee[p] 43.1' > /dev/null"), 0) << "a child survived";
  // Airflow's `ts` (an offset) names the same interval as the scheduler.
  Outcome quick = Watershed("task run p quick --date 2026-01-01T06:00:00+00:00 --project " +
                            Quote(dir_ + "/p"));
  EXPECT_EQ(quick.code, 0) << quick.out;
  EXPECT_NE(quick.out.find("2026-01-01T06:00:00Z"), std::string::npos) << quick.out;
  Outcome bad = Watershed("task run p quick --date yesterday --project " + Quote(dir_ + "/p"));
  EXPECT_EQ(bad.code, kTerminalExitCode) << bad.out;
  EXPECT_NE(bad.out.find("--date 'yesterday'"), std::string::npos) << bad.out;
  project_ = std::move(*project::Project::Open(dir_ + "/p"));
  auto runs = (*RunStore::Open(project_->config().catalog_path))->Runs("p");
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[0].logical_date, "2026-01-01");
  EXPECT_EQ((*runs)[0].status, "failed");
  EXPECT_EQ((*runs)[0].run_by, "task run");
  EXPECT_EQ((*runs)[1].logical_date, "2026-01-01T06:00:00Z");
  EXPECT_EQ((*runs)[1].status, "partial");  // one of the two tasks ran
}

// Issue 13.9: the exported DAG imported under the stub airflow package (both the Airflow 2 and
// the Airflow 3 import paths), every argument checked, then its tasks run as Airflow would:
// the real `watershed task run` for the interval, retries by Watershed's rule, the failure
// callback posting the executor's event, and the runs in `watershed runs`.
class AirflowStub : public PipelineRun {
 protected:
  // `driver.py DAG ARGS` under the stub (tests/fixtures/airflow_stub) as JSON.
  nlohmann::json Driver(const std::string& args, int version = 3,
                        const std::string& variables = "{}") {
    const std::string stub = std::string(WS_SOURCE_DIR) + "/tests/fixtures/airflow_stub";
    Outcome o = Shell(StrCat("AIRFLOW_STUB_VERSION=", version, " AIRFLOW_STUB_VARIABLES=",
                             Quote(variables), " PYTHONPATH=", Quote(stub), " python3 ",
                             Quote(stub + "/driver.py"), " ", Quote(dag_), " ", args));
    EXPECT_EQ(o.code, 0) << o.out;
    auto j = nlohmann::json::parse(o.out.substr(o.out.rfind("\n{") == std::string::npos
                                                    ? 0
                                                    : o.out.rfind("\n{") + 1),
                                   nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << o.out;
    return j;
  }
  std::string dag_;
};

TEST_F(AirflowStub, TheExportedDagKeepsTheSemanticsAndItsRunsAppearInWatershedRuns) {
  const std::string d = dir_, p = dir_ + "/p";
  WebhookReceiver hook;
  testing_util::WriteFile(p, "orgs.ndjson", "{\"uuid\": \"a\"}\n{\"uuid\": \"a\"}\n");
  std::ofstream(p + "/watershed.yml", std::ios::app) << StrCat(R"(
pool: {slots: 2}
checks:
  cb.orgs: [{unique: uuid}]
pipelines:
  hourly:
    schedule: "every 2h"
    start: 2026-01-01
    catchup: false
    retries: 2
    retry_backoff: 1s
    timeout: 10m
    max_parallel: 3
    on_failure: {webhook: ")", hook.url(), R"("}
    tasks:
      extract: {type: shell, command: "echo {{ logical_time }} >> )", d, R"(/extract"}
      flaky: {type: shell, command: "[ -e )", d, R"(/f ] || { touch )", d, R"(/f; exit 1; }", after: extract}
      load: {type: load, file: orgs.ndjson, table: cb.orgs, after: extract}
      gate: {type: check, table: cb.orgs, after: load, timeout: 30s}
      join: {type: noop, after: [flaky, gate]}
      strict: {type: shell, command: "exit 1", retry_on: transient, after: join}
  daily:
    schedule: "0 6 * * *"
    tasks:
      only: {type: shell, command: "true"}
)");
  dag_ = d + "/dags/hourly.py";
  Outcome exported = Watershed("export airflow hourly --out " + Quote(dag_) + " --project " +
                               Quote(p));
  ASSERT_EQ(exported.code, 0) << exported.out;
  EXPECT_NE(exported.out.find("airflow pools set watershed 2"), std::string::npos)
      << exported.out;
  const std::string py = testing_util::ReadFileBytes(dag_);
  EXPECT_EQ(py.find(hook.url()), std::string::npos) << "the webhook URL is not in the DAG file";
  EXPECT_EQ(py.find("{{ ds }}"), std::string::npos);

  for (int version : {2, 3}) {
    SCOPED_TRACE(StrCat("Airflow ", version));
    nlohmann::json dag = Driver("describe 2026-01-01T06:00:00+00:00", version);
    ASSERT_TRUE(dag.contains("tasks")) << dag;
    EXPECT_EQ(dag["dag_id"], "hourly");
    const auto& k = dag["kwargs"];
    EXPECT_EQ(k["schedule"]["timedelta_seconds"], 7200.0);
    EXPECT_EQ(k["start_date"]["datetime"], "2026-01-01T00:00:00+00:00");
    EXPECT_EQ(k["catchup"], false);
    EXPECT_EQ(k["max_active_tasks"], 3);
    EXPECT_EQ(k["default_args"]["retries"], 2);
    EXPECT_EQ(k["default_args"]["retry_delay"]["timedelta_seconds"], 1.0);
    EXPECT_EQ(k["default_args"]["retry_exponential_backoff"], true);
    EXPECT_EQ(k["default_args"]["execution_timeout"]["timedelta_seconds"], 660.0);
    const auto& t = dag["tasks"];
    ASSERT_EQ(t.size(), 6u) << t;
    for (const char* name : {"extract", "flaky", "load", "gate", "strict"}) {
      SCOPED_TRACE(name);
      EXPECT_EQ(t[name]["operator"], "WatershedTask");
      EXPECT_EQ(t[name]["bases"][1], "BashOperator");
      EXPECT_EQ(t[name]["args"]["pool"], "watershed");
      EXPECT_EQ(t[name]["args"]["retries"], 2);
      EXPECT_EQ(t[name]["args"]["append_env"], true);
      EXPECT_EQ(t[name]["args"]["on_failure_callback"]["callable"], "on_failure");
      EXPECT_EQ(t[name]["rendered_env"]["WATERSHED_EXTERNAL_RUN_ID"],
                "scheduled__2026-01-01T06:00:00+00:00");
      EXPECT_NE(t[name]["rendered_command"].get<std::string>().find(
                    StrCat(" task run hourly ", name, " --date 2026-01-01T06:00:00+00:00 ")),
                std::string::npos)
          << t[name]["rendered_command"];
    }
    EXPECT_EQ(t["join"]["operator"], "EmptyOperator");
    EXPECT_EQ(t["gate"]["args"]["execution_timeout"]["timedelta_seconds"], 90.0);
    EXPECT_EQ(t["gate"]["watershed_terminal_exit_codes"], nlohmann::json::array({3}));
    EXPECT_EQ(t["flaky"]["watershed_terminal_exit_codes"], nlohmann::json::array());
    EXPECT_EQ(t["strict"]["watershed_retry_on"], "transient");
    EXPECT_EQ(t["extract"]["watershed_retry_on"], "any");
    EXPECT_EQ(t["extract"]["rendered_env"]["WATERSHED_DEFAULT_PROJECT"], p);
    std::set<std::pair<std::string, std::string>> edges;
    for (const auto& e : dag["edges"]) edges.insert({e[0], e[1]});
    EXPECT_EQ(edges, (std::set<std::pair<std::string, std::string>>{
                         {"extract", "flaky"}, {"extract", "load"}, {"load", "gate"},
                         {"flaky", "join"}, {"gate", "join"}, {"join", "strict"}}));
  }

  // Run the tasks as Airflow would, for the 06:00 interval; the binary through the Airflow
  // Variable watershed_bin (a wrapper that notes it ran), the webhook through its Variable.
  const std::string wrapper = testing_util::WriteFile(
      d, "ws-wrapper",
      StrCat("#!/bin/sh\necho used >> ", d, "/wrapper\nexec ", WatershedBinary(), " \"$@\"\n"));
  chmod(wrapper.c_str(), 0755);
  const std::string variables =
      nlohmann::json{{"watershed_bin", wrapper}, {"watershed_on_failure_webhook", hook.url()}}
          .dump();
  const std::string interval = "2026-01-01T06:00:00+00:00", airflow_run = "scheduled__" + interval;
  auto run = [&](const std::string& task) {
    return Driver(StrCat("run ", task, " ", interval, " ", Quote(airflow_run)), 3, variables);
  };
  nlohmann::json extract = run("extract");
  EXPECT_EQ(extract["state"], "success") << extract;
  EXPECT_EQ(ReadLines(d + "/extract"), std::vector<std::string>{"2026-01-01T06:00:00Z"});
  EXPECT_EQ(ReadLines(d + "/wrapper").size(), 1u);  // the Variable chose the binary
  nlohmann::json flaky = run("flaky");
  EXPECT_EQ(flaky["state"], "success") << flaky;
  EXPECT_EQ(flaky["tries"], 2);  // exit 1 retried
  EXPECT_EQ(run("load")["state"], "success");
  nlohmann::json gate = run("gate");
  EXPECT_EQ(gate["state"], "failed") << gate;
  EXPECT_EQ(gate["tries"], 1);  // exit 3: AirflowFailException, no retry
  EXPECT_EQ(gate["error_class"], "AirflowFailException");
  nlohmann::json strict = run("strict");
  EXPECT_EQ(strict["tries"], 1);  // retry_on: transient
  hook.Stop();

  project_ = std::move(*project::Project::Open(p));
  auto store = *RunStore::Open(project_->config().catalog_path);
  auto runs = store->Runs("hourly");
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 1u);  // every task process of one DAG run joined one run
  const RunRecord& r = (*runs)[0];
  EXPECT_EQ(r.logical_date, "2026-01-01T06:00:00Z");  // the scheduler's identity
  EXPECT_EQ(r.run_by, "airflow");
  EXPECT_EQ(r.external_id, airflow_run);
  EXPECT_EQ(r.status, "failed");
  std::map<std::string, std::vector<std::string>> by_task;
  for (const TaskAttempt& a : *store->Attempts(r.run_id)) by_task[a.task].push_back(a.status);
  EXPECT_EQ(by_task["flaky"], (std::vector<std::string>{"failed", "ok"}));
  EXPECT_EQ(by_task["gate"], std::vector<std::string>{"failed"});
  const std::vector<std::string> bodies = hook.Bodies();
  ASSERT_EQ(bodies.size(), 2u);  // gate and strict failed for good
  auto event = nlohmann::json::parse(bodies[0]);
  EXPECT_EQ(event["event"], "task_failed");
  EXPECT_EQ(event["pipeline"], "hourly");
  EXPECT_EQ(event["task"], "gate");
  EXPECT_EQ(event["run_id"], r.run_id);
  EXPECT_EQ(event["logical_date"], "2026-01-01T06:00:00Z");
  Outcome listed = Watershed("runs --project " + Quote(p));
  EXPECT_NE(listed.out.find(r.run_id), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("airflow"), std::string::npos) << listed.out;

  // A DAG run whose tasks all succeed is the interval's success: a backfill skips it.
  dag_ = d + "/dags/daily.py";
  ASSERT_EQ(Watershed("export airflow daily --out " + Quote(dag_) + " --project " + Quote(p)).code,
            0);
  nlohmann::json only = Driver("run only 2026-01-02T06:00:00+00:00 manual__x", 2);
  EXPECT_EQ(only["state"], "success") << only;
  Outcome backfill = Watershed("backfill daily --from 2026-01-02 --to 2026-01-02 --project " +
                               Quote(p));
  EXPECT_EQ(backfill.code, 0) << backfill.out;
  EXPECT_NE(backfill.out.find("1 skipped"), std::string::npos) << backfill.out;
}

}  // namespace
}  // namespace watershed::orchestrate
