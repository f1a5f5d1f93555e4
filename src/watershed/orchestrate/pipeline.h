// orchestrate/pipeline.h — pipelines as DAGs of tasks, declared in watershed.yml.
//
// Owns: the `pipelines:` section (docs/formats/pipelines.md): tasks with a type (crunchbase,
// load, build, check, shell), dependencies (`after:`), retries with exponential backoff, a timeout,
// a parallelism limit and a schedule; which failures are retried (`retry_on`: any non-zero exit,
// the default, or only transient ones, exit 75); validation (unknown dependencies and cycles are errors that
// name them); and the command each task runs (`watershed task run PIPELINE TASK --date D`, the
// same call an external orchestrator makes). Does not own: running (executor.h).
// Thread safety: values only.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "watershed/base/status.h"

namespace watershed::orchestrate {

struct Task {
  std::string name;
  std::string type;  // crunchbase | load | build | check | shell | noop (a join point)
  std::map<std::string, std::string> params;  // type-specific (file, table, select, command...)
  std::vector<std::string> after;
  int retries = -1;              // -1: the pipeline's
  double timeout_seconds = -1;   // -1: the pipeline's
  std::string retry_on;          // "any" | "transient"; "": the pipeline's
};

// Exit codes of `watershed task run` (docs/formats/pipelines.md, "Exit codes and retries").
inline constexpr int kTaskFailedExitCode = 1;      // a failure; retried under retry_on: any
inline constexpr int kTerminalExitCode = 3;        // retrying cannot help: never retried
inline constexpr int kTimeoutExitCode = 124;       // the task passed its timeout (like timeout(1))
inline constexpr int kTransientExitCode = 75;      // EX_TEMPFAIL: retried under either retry_on
// Set by whoever supervises a `watershed task run` process (the executor, or `task run` itself
// around its child): the task then runs in-process, with no run record or timer of its own.
inline constexpr char kRunIdEnv[] = "WATERSHED_RUN_ID";

struct Pipeline {
  std::string name;
  std::string schedule;  // cron ("0 */2 * * *") or "every 2h"; "" = manual
  int retries = 0;
  double retry_backoff_seconds = 5;  // doubles per attempt
  double timeout_seconds = 3600;
  int max_parallel = 4;
  std::string retry_on = "any";      // any | transient (exit 75 only)
  std::string start;                 // first interval's day, YYYY-MM-DD ("" = from now on)
  bool catchup = true;
  std::string on_failure_webhook;  // POSTed a JSON event when a task fails for good
  std::vector<Task> tasks;  // in declaration order

  const Task* Find(const std::string& task) const;
  int RetriesOf(const Task& t) const { return t.retries >= 0 ? t.retries : retries; }
  double TimeoutOf(const Task& t) const {
    return t.timeout_seconds >= 0 ? t.timeout_seconds : timeout_seconds;
  }
  const std::string& RetryOnOf(const Task& t) const {
    return t.retry_on.empty() ? retry_on : t.retry_on;
  }
  // Whether attempt `attempt` (1-based) of `t`, which ended with `exit_code` (kTimeoutExitCode
  // for a timeout), is retried: attempts remain, and the code is 75, or retry_on is `any` and
  // the code is not kTerminalExitCode from a Watershed task (a shell task's own exit 3 is its
  // command's, retried like any other).
  bool Retries(const Task& t, int attempt, int exit_code) const;
};

// All pipelines of a project file's `pipelines:` node, validated.
StatusOr<std::map<std::string, Pipeline>> ParsePipelines(const YAML::Node& pipelines);
// Task names in an order where every task comes after its dependencies.
std::vector<std::string> TopologicalOrder(const Pipeline& p);

}  // namespace watershed::orchestrate
