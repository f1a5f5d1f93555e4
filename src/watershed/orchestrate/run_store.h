// orchestrate/run_store.h — pipeline runs and task attempts in the catalog database: one row per
// run of a pipeline for a logical date (`runs`), one per task attempt (`task_runs`).
//
// Owns: those two tables (their Schema, migrated by store/) and the rule that an interval never
// runs twice at once (BeginRun). Does not own: what a run does (executor.h) or when it starts
// (scheduler.h). Thread safety: a RunStore is used by one thread; any number of processes may
// share the catalog.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "watershed/base/metrics.h"
#include "watershed/base/status.h"
#include "watershed/store/store.h"

namespace watershed::orchestrate {

struct RunRecord {
  // status: running, success, failed, abandoned; `partial` for a run driven task by task from
  // outside (Airflow) while some of its tasks have not run yet.
  std::string run_id, pipeline, logical_date, started_at, finished_at, status;
  std::string run_by;       // watershed (run, scheduler, backfill), airflow, or task run
  std::string external_id;  // the orchestrator's run id (Airflow's dag_run_id), else ""
};
struct TaskAttempt {
  std::string run_id, task;
  int attempt = 0;
  std::string started_at, finished_at, status;  // running, ok, failed, retrying, skipped, timeout
  int exit_code = 0;
  double seconds = 0;
  std::string log_path;
};

class RunStore {
 public:
  // Opens the catalog database at `catalog_path` (store::Connection::Open) and migrates the
  // orchestrator's tables.
  static StatusOr<std::unique_ptr<RunStore>> Open(const std::string& catalog_path);

  // How often a running executor renews its run's lease (Heartbeat), and how old a lease may
  // be before another machine takes the run for dead.
  static constexpr int kHeartbeatSeconds = 10;
  static constexpr int kLeaseSeconds = 60;

  // Fails with kAlreadyExists while another run of the same pipeline and logical date is
  // running (an interval never runs twice at the same time). A run left 'running' by a process
  // that is gone is marked abandoned first: on this host, when its pid is dead; from any host,
  // when its lease (heartbeat_at) is older than kLeaseSeconds.
  // unless_succeeded (the scheduler): kAlreadyExists too when the interval already succeeded.
  Status BeginRun(const RunRecord& run, bool unless_succeeded = false);
  // Renews the lease of a run this process executes (every kHeartbeatSeconds).
  Status Heartbeat(const std::string& run_id);
  Status FinishRun(const std::string& run_id, const std::string& status);
  Status RecordAttempt(const TaskAttempt& attempt);
  // Several attempts in one transaction.
  Status RecordAttempts(const std::vector<TaskAttempt>& attempts);

  // A task process started from outside the executor (Airflow, or `watershed task run` by
  // hand) joins `run` (creating it, or setting it running again: each Airflow task is its own
  // process, all of one DAG run share one run) and records attempt `1 + attempts of task so
  // far` as running; returns that attempt number. kAlreadyExists while another run of the same
  // pipeline and logical date is running (the scheduler's, a backfill's).
  StatusOr<int> BeginExternalAttempt(const RunRecord& run, const std::string& task);
  // Records the attempt's end and sets the run's status from the latest attempt of each of
  // `tasks` (the pipeline's tasks that run a process): running while one runs, failed when one
  // failed or timed out, success when all are ok, else partial.
  Status FinishExternalAttempt(const TaskAttempt& attempt, const std::vector<std::string>& tasks);
  // Every run (of `pipeline`, when given), oldest first.
  StatusOr<std::vector<RunRecord>> Runs(const std::string& pipeline = "");
  StatusOr<std::vector<TaskAttempt>> Attempts(const std::string& run_id);

 private:
  explicit RunStore(std::unique_ptr<store::Connection> db) : db_(std::move(db)) {}
  // Marks runs of (pipeline, logical_date) left running by a dead process abandoned.
  Status AbandonStale(const std::string& pipeline, const std::string& logical_date);
  std::unique_ptr<store::Connection> db_;
};

// The gauge `watershed_catalog_runs` {pipeline, status}: runs recorded per pipeline and status
// (an observe::GaugeSource; cli/main.cc adds it).
StatusOr<std::vector<metrics::MetricFamily>> RunMetrics(const std::string& catalog_path);

}  // namespace watershed::orchestrate
