// orchestrate/run_store.cc — see run_store.h; tables in docs/formats/catalog.md.
#include "watershed/orchestrate/run_store.h"

#include <unistd.h>

#include <map>
#include <optional>

#include "watershed/base/clock.h"
#include "watershed/base/columns.h"
#include "watershed/base/ids.h"
#include "watershed/base/strings.h"

namespace watershed::orchestrate {
namespace {

using store::Stmt;
using store::Transaction;

constexpr char kRunsSchemaV1[] = R"sql(
CREATE TABLE IF NOT EXISTS runs(
  run_id TEXT PRIMARY KEY,
  pipeline TEXT NOT NULL,
  logical_date TEXT NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  status TEXT NOT NULL,
  pid INTEGER NOT NULL DEFAULT 0,
  host TEXT NOT NULL DEFAULT '');
CREATE UNIQUE INDEX IF NOT EXISTS runs_one_running ON runs(pipeline, logical_date)
  WHERE status = 'running';
CREATE TABLE IF NOT EXISTS task_runs(
  run_id TEXT NOT NULL,
  task TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  status TEXT NOT NULL,
  exit_code INTEGER NOT NULL DEFAULT 0,
  millis INTEGER NOT NULL DEFAULT 0,
  log_path TEXT NOT NULL DEFAULT '',
  PRIMARY KEY(run_id, task, attempt));
)sql";

// Who started a run, and the orchestrator's own id for it (Airflow's dag_run_id).
constexpr char kRunsSchemaV2[] = R"sql(
ALTER TABLE runs ADD COLUMN run_by TEXT NOT NULL DEFAULT 'watershed';
ALTER TABLE runs ADD COLUMN external_id TEXT NOT NULL DEFAULT '';
)sql";

// The lease of a run an executor is running, renewed every RunStore::kHeartbeatSeconds, so a
// machine that died is seen as dead from the others ('' = no lease: an external run, or one
// recorded before this column).
constexpr char kRunsSchemaV3[] = R"sql(
ALTER TABLE runs ADD COLUMN heartbeat_at TEXT NOT NULL DEFAULT '';
)sql";

const store::Schema& RunsSchema() {
  static const store::Schema* schema =
      new store::Schema{"orchestrate", {kRunsSchemaV1, kRunsSchemaV2, kRunsSchemaV3}};
  return *schema;
}

}  // namespace

StatusOr<std::unique_ptr<RunStore>> RunStore::Open(const std::string& catalog_path) {
  WS_ASSIGN_OR_RETURN(std::unique_ptr<store::Connection> db,
                      store::Connection::Open(catalog_path));
  WS_RETURN_IF_ERROR(Annotate(store::Migrate(*db, RunsSchema()),
                              StrCat("opening pipeline runs in ", db->name())));
  return std::unique_ptr<RunStore>(new RunStore(std::move(db)));
}

Status RunStore::AbandonStale(const std::string& pipeline, const std::string& logical_date) {
  // A run left 'running' by a process that is gone (killed, or its machine died) is abandoned,
  // not blocking. ISO UTC times of one format compare as strings.
  {
    Stmt q(*db_,
           "SELECT run_id, pid, host, heartbeat_at FROM runs WHERE pipeline = ? AND "
           "logical_date = ? AND status = 'running'");
    q.Bind(1, pipeline).Bind(2, logical_date);
    const std::string expired = IsoUtc(NowMicros() - int64_t{kLeaseSeconds} * 1000 * 1000);
    std::vector<std::string> stale;
    while (true) {
      WS_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      const int64_t pid = q.Int(1);
      const std::string heartbeat = q.Text(3);
      if ((q.Text(2) == ThisHost() && !ProcessAlive(pid)) ||
          (!heartbeat.empty() && heartbeat < expired)) {
        stale.push_back(q.Text(0));
      }
    }
    for (const auto& id : stale) WS_RETURN_IF_ERROR(FinishRun(id, "abandoned"));
  }
  return absl::OkStatus();
}

Status RunStore::BeginRun(const RunRecord& run, bool unless_succeeded) {
  WS_RETURN_IF_ERROR(AbandonStale(run.pipeline, run.logical_date));
  // Under the catalog's write lock, so that of two schedulers (on two machines) reaching the
  // same interval, exactly one runs it: the other sees it running or succeeded.
  Transaction txn(*db_);
  WS_RETURN_IF_ERROR(txn.Begin());
  if (unless_succeeded) {
    Stmt done(*db_,
              "SELECT count(*) FROM runs WHERE pipeline = ? AND logical_date = ? AND "
              "status = 'success'");
    done.Bind(1, run.pipeline).Bind(2, run.logical_date);
    WS_ASSIGN_OR_RETURN(bool row, done.Step());
    if (row && done.Int(0) > 0) {
      return absl::AlreadyExistsError(StrCat("pipeline ", run.pipeline, " already ran for ",
                                             run.logical_date));
    }
  }
  Stmt s(*db_,
         "INSERT INTO runs(run_id, pipeline, logical_date, started_at, status, pid, host, run_by, "
         "external_id, heartbeat_at) VALUES(?, ?, ?, ?, 'running', ?, ?, ?, ?, ?)");
  const std::string now = IsoUtc(NowMicros());
  s.Bind(1, run.run_id).Bind(2, run.pipeline).Bind(3, run.logical_date).Bind(4, now).Bind(9, now);
  s.Bind(5, static_cast<int64_t>(getpid())).Bind(6, ThisHost());
  s.Bind(7, run.run_by.empty() ? std::string("watershed") : run.run_by).Bind(8, run.external_id);
  Status st = s.Run();
  if (st.code() == absl::StatusCode::kAlreadyExists) {
    return absl::AlreadyExistsError(StrCat("pipeline ", run.pipeline, " is already running for ",
                                           run.logical_date));
  }
  WS_RETURN_IF_ERROR(st);
  return txn.Commit();
}

Status RunStore::Heartbeat(const std::string& run_id) {
  Stmt s(*db_, "UPDATE runs SET heartbeat_at = ? WHERE run_id = ? AND status = 'running'");
  s.Bind(1, IsoUtc(NowMicros())).Bind(2, run_id);
  return s.Run();
}

Status RunStore::FinishRun(const std::string& run_id, const std::string& status) {
  // Under the write lock too: BeginRun's check-then-insert must not interleave with a run of
  // the same interval leaving 'running'.
  Transaction txn(*db_);
  WS_RETURN_IF_ERROR(txn.Begin());
  Stmt s(*db_, "UPDATE runs SET status = ?, finished_at = ? WHERE run_id = ?");
  s.Bind(1, status).Bind(2, IsoUtc(NowMicros())).Bind(3, run_id);
  WS_RETURN_IF_ERROR(s.Run());
  return txn.Commit();
}

Status RunStore::RecordAttempt(const TaskAttempt& a) {
  Stmt s(*db_,
         "INSERT INTO task_runs(run_id, task, attempt, started_at, finished_at, status, exit_code, "
         "millis, log_path) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(run_id, task, attempt) "
         "DO UPDATE SET finished_at = excluded.finished_at, status = excluded.status, "
         "exit_code = excluded.exit_code, millis = excluded.millis");
  s.Bind(1, a.run_id).Bind(2, a.task).Bind(3, static_cast<int64_t>(a.attempt));
  s.Bind(4, a.started_at.empty() ? IsoUtc(NowMicros()) : a.started_at).Bind(5, a.finished_at);
  s.Bind(6, a.status).Bind(7, static_cast<int64_t>(a.exit_code));
  s.Bind(8, static_cast<int64_t>(a.seconds * 1000)).Bind(9, a.log_path);
  return s.Run();
}

Status RunStore::RecordAttempts(const std::vector<TaskAttempt>& attempts) {
  if (attempts.empty()) return absl::OkStatus();
  Transaction txn(*db_);
  WS_RETURN_IF_ERROR(txn.Begin());
  for (const TaskAttempt& a : attempts) WS_RETURN_IF_ERROR(RecordAttempt(a));
  return txn.Commit();
}

StatusOr<std::vector<RunRecord>> RunStore::Runs(const std::string& pipeline) {
  Stmt s(*db_,
         "SELECT run_id, pipeline, logical_date, started_at, COALESCE(finished_at, ''), status, "
         "run_by, external_id FROM runs WHERE ? = '' OR pipeline = ? ORDER BY started_at, run_id");
  s.Bind(1, pipeline).Bind(2, pipeline);
  std::vector<RunRecord> out;
  while (true) {
    WS_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(
        {s.Text(0), s.Text(1), s.Text(2), s.Text(3), s.Text(4), s.Text(5), s.Text(6), s.Text(7)});
  }
  return out;
}

StatusOr<int> RunStore::BeginExternalAttempt(const RunRecord& run, const std::string& task) {
  WS_RETURN_IF_ERROR(AbandonStale(run.pipeline, run.logical_date));
  Transaction txn(*db_);
  WS_RETURN_IF_ERROR(txn.Begin());
  Stmt up(*db_,
          "INSERT INTO runs(run_id, pipeline, logical_date, started_at, status, pid, host, run_by, "
          "external_id, heartbeat_at) VALUES(?, ?, ?, ?, 'running', ?, ?, ?, ?, ?) "
          "ON CONFLICT(run_id) DO UPDATE SET status = 'running', finished_at = NULL, "
          "pid = excluded.pid, host = excluded.host, heartbeat_at = excluded.heartbeat_at");
  const std::string now = IsoUtc(NowMicros());
  up.Bind(1, run.run_id).Bind(2, run.pipeline).Bind(3, run.logical_date);
  up.Bind(4, now).Bind(5, static_cast<int64_t>(getpid())).Bind(6, ThisHost());
  up.Bind(7, run.run_by).Bind(8, run.external_id).Bind(9, now);
  Status st = up.Run();
  if (st.code() == absl::StatusCode::kAlreadyExists) {
    return absl::AlreadyExistsError(StrCat("pipeline ", run.pipeline, " is already running for ",
                                           run.logical_date, " (another run than ", run.run_id,
                                           "; see `watershed runs`)"));
  }
  WS_RETURN_IF_ERROR(st);
  Stmt n(*db_, "SELECT COALESCE(MAX(attempt), 0) FROM task_runs WHERE run_id = ? AND task = ?");
  n.Bind(1, run.run_id).Bind(2, task);
  WS_ASSIGN_OR_RETURN(bool row, n.Step());
  const int attempt = row ? static_cast<int>(n.Int(0)) + 1 : 1;
  WS_RETURN_IF_ERROR(RecordAttempt({run.run_id, task, attempt, "", "", "running", 0, 0, ""}));
  WS_RETURN_IF_ERROR(txn.Commit());
  return attempt;
}

Status RunStore::FinishExternalAttempt(const TaskAttempt& attempt,
                                       const std::vector<std::string>& tasks) {
  Transaction txn(*db_);
  WS_RETURN_IF_ERROR(txn.Begin());
  WS_RETURN_IF_ERROR(RecordAttempt(attempt));
  WS_ASSIGN_OR_RETURN(std::vector<TaskAttempt> all, Attempts(attempt.run_id));
  std::map<std::string, std::pair<int, std::string>> latest;  // task: attempt, status
  for (const TaskAttempt& a : all) {
    auto& l = latest[a.task];
    if (a.attempt >= l.first) l = {a.attempt, a.status};
  }
  bool running = false, failed = false, all_ok = true;
  for (const std::string& t : tasks) {
    const std::string status = latest.contains(t) ? latest[t].second : "";
    running |= status == "running";
    failed |= status == "failed" || status == "timeout";
    all_ok &= status == "ok";
  }
  const std::string status = running  ? "running"
                             : failed ? "failed"
                             : all_ok ? "success"
                                      : "partial";
  Stmt s(*db_, "UPDATE runs SET status = ?, finished_at = ? WHERE run_id = ?");
  s.Bind(1, status)
      .Bind(2, running ? std::optional<std::string>() : std::optional<std::string>(IsoUtc(NowMicros())))
      .Bind(3, attempt.run_id);
  WS_RETURN_IF_ERROR(s.Run());
  return txn.Commit();
}

StatusOr<std::vector<TaskAttempt>> RunStore::Attempts(const std::string& run_id) {
  Stmt s(*db_,
         "SELECT run_id, task, attempt, started_at, COALESCE(finished_at, ''), status, exit_code, "
         "millis, log_path FROM task_runs WHERE run_id = ? ORDER BY started_at, task, attempt");
  s.Bind(1, run_id);
  std::vector<TaskAttempt> out;
  while (true) {
    WS_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    TaskAttempt a;
    a.run_id = s.Text(0);
    a.task = s.Text(1);
    a.attempt = static_cast<int>(s.Int(2));
    a.started_at = s.Text(3);
    a.finished_at = s.Text(4);
    a.status = s.Text(5);
    a.exit_code = static_cast<int>(s.Int(6));
    a.seconds = static_cast<double>(s.Int(7)) / 1000;
    a.log_path = s.Text(8);
    out.push_back(std::move(a));
  }
  return out;
}

StatusOr<std::vector<metrics::MetricFamily>> RunMetrics(const std::string& catalog_path) {
  WS_ASSIGN_OR_RETURN(auto store, RunStore::Open(catalog_path));
  metrics::MetricFamily runs{"watershed_catalog_runs",
                             metrics::MetricType::kGauge,
                             "Pipeline runs recorded in the catalog, per pipeline and status.",
                             {}};
  WS_ASSIGN_OR_RETURN(auto run_records, store->Runs());
  std::map<std::pair<std::string, std::string>, int64_t> by_run;
  for (const auto& r : run_records) ++by_run[{r.pipeline, r.status}];
  for (const auto& [key, n] : by_run) {
    runs.samples.push_back(
        {runs.name, {{"pipeline", key.first}, {"status", key.second}}, static_cast<double>(n)});
  }
  return std::vector<metrics::MetricFamily>{std::move(runs)};
}

}  // namespace watershed::orchestrate
