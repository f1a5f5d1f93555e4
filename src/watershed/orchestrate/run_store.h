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
  std::string run_id, pipeline, logical_date, started_at, finished_at, status;
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

  // Fails with kAlreadyExists while another run of the same pipeline and logical date is
  // running (an interval never runs twice at the same time). A run left 'running' by a process
  // on this host that is gone is marked abandoned first.
  Status BeginRun(const RunRecord& run);
  Status FinishRun(const std::string& run_id, const std::string& status);
  Status RecordAttempt(const TaskAttempt& attempt);
  // Several attempts in one transaction.
  Status RecordAttempts(const std::vector<TaskAttempt>& attempts);
  // Every run (of `pipeline`, when given), oldest first.
  StatusOr<std::vector<RunRecord>> Runs(const std::string& pipeline = "");
  StatusOr<std::vector<TaskAttempt>> Attempts(const std::string& run_id);

 private:
  explicit RunStore(std::unique_ptr<store::Connection> db) : db_(std::move(db)) {}
  std::unique_ptr<store::Connection> db_;
};

// The gauge `watershed_catalog_runs` {pipeline, status}: runs recorded per pipeline and status
// (an observe::GaugeSource; cli/main.cc adds it).
StatusOr<std::vector<metrics::MetricFamily>> RunMetrics(const std::string& catalog_path);

}  // namespace watershed::orchestrate
