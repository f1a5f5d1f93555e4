// orchestrate/task_process.h — `watershed task run` started from outside the executor: by
// Airflow (the exported DAG's BashOperator), or by hand.
//
// Owns: supervising the task as a child process of this one (the same binary, in its own
// process group, told by kRunIdEnv that it is supervised): its `timeout:` enforced by killing
// the whole group (exit kTimeoutExitCode, with a message naming the timeout), the group killed
// too when this process is told to stop (SIGTERM, SIGINT, SIGHUP: Airflow's execution_timeout
// or a cleared task), and the run recorded in the catalog like the executor's, so that
// `watershed runs` lists it: one run per orchestrator run (the Airflow dag_run_id joins every
// task process of one DAG run into one run), keyed by the pipeline and the interval's identity
// (scheduler.h LogicalDate), each process one attempt. A run whose tasks all succeeded is
// `success`, so the scheduler and backfills never run that interval again.
// Does not own: what the task does (task.h), the executor's runs (executor.h), printing.
// Thread safety: one call per process (it installs signal handlers while the child runs).
#pragma once

#include <string>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/orchestrate/pipeline.h"
#include "watershed/project/project.h"

namespace watershed::orchestrate {

struct TaskProcessOptions {
  std::string binary;        // the watershed executable the child runs (this one)
  std::string logical_date;  // the interval's identity (NormalizeLogicalDate)
  std::string run_by;        // airflow, task run, ...
  std::string external_id;   // the orchestrator's run id (Airflow's dag_run_id), or ""
  bool quiet = false;        // pass --quiet to the child
};

struct TaskProcessResult {
  int exit_code = 0;    // the child's; kTimeoutExitCode on a timeout, 128+N for signal N
  std::string run_id;   // where `watershed runs` shows it
  int attempt = 0;      // this process's attempt in that run
  std::string message;  // why it failed when the child could not say (timeout, signal)
};

// Runs `task` of `pipeline` for options.logical_date under supervision; kAlreadyExists while
// another run of the same interval is running (the scheduler's, a backfill's).
StatusOr<TaskProcessResult> RunTaskProcess(project::Project& project, const Pipeline& pipeline,
                                           const Task& task, const TaskProcessOptions& options);

// The run id of an orchestrator's run: `run_<pipeline>_<by>_<external id>` with every byte
// outside [A-Za-z0-9_.-] written as `_`, and a hash of the exact id so that ids differing only
// there stay distinct.
std::string ExternalRunId(const std::string& pipeline, const std::string& run_by,
                          const std::string& external_id);

}  // namespace watershed::orchestrate
