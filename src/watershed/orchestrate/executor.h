// orchestrate/executor.h — running a pipeline for one logical date.
//
// Owns: launching each task as its own process (`watershed task run PIPELINE TASK --date D`,
// in a process group, output to `.watershed/logs/<run>/<task>.<attempt>.log`), at most
// max_parallel at once; retrying failed attempts with exponential backoff by the task's rule
// (Pipeline::Retries: any non-zero exit, or only 75 under `retry_on: transient`; never exit 3 of
// a Watershed task); killing a task's whole process group when it passes its timeout;
// skipping the downstream of a failed task (not its siblings); recording the run and every
// attempt in the catalog; and `--resume` (rerun only what did not succeed).
// Does not own: what a task does (task.h) or when runs start (the scheduler).
// Thread safety: one Execute per call; the callback is called from the calling thread.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/orchestrate/pipeline.h"
#include "watershed/project/project.h"

namespace watershed::orchestrate {

struct RunOptions {
  std::string logical_date;    // YYYY-MM-DD
  std::string resume_run_id;   // rerun the tasks of this run that did not succeed
  std::string binary;          // the watershed executable (default: /proc/self/exe)
  // Skip (kAlreadyExists) when this interval already succeeded: the scheduler's exactly-once.
  bool unless_succeeded = false;
  std::function<void(const std::string& task, const std::string& state, int attempt)> on_state;
};

struct TaskOutcome {
  std::string task, status;  // ok, failed, timeout, skipped
  int attempts = 0;
  double seconds = 0;
  std::string log_path;
};

struct RunOutcome {
  std::string run_id;
  std::string status;  // success, failed
  std::vector<TaskOutcome> tasks;
  double seconds = 0;
};

StatusOr<RunOutcome> Execute(project::Project& project, const Pipeline& pipeline,
                             const RunOptions& options);

}  // namespace watershed::orchestrate
