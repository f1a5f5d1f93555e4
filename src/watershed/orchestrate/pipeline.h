// orchestrate/pipeline.h — pipelines as DAGs of tasks, declared in watershed.yml.
//
// Owns: the `pipelines:` section (docs/formats/pipelines.md): tasks with a type (crunchbase,
// load, build, check, shell), dependencies (`after:`), retries with exponential backoff, a timeout,
// a parallelism limit and a schedule; validation (unknown dependencies and cycles are errors that
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
};

struct Pipeline {
  std::string name;
  std::string schedule;  // cron ("0 */2 * * *") or "every 2h"; "" = manual
  int retries = 0;
  double retry_backoff_seconds = 5;  // doubles per attempt
  double timeout_seconds = 3600;
  int max_parallel = 4;
  std::string on_failure_webhook;  // POSTed a JSON event when a task fails for good
  std::vector<Task> tasks;  // in declaration order

  const Task* Find(const std::string& task) const;
  int RetriesOf(const Task& t) const { return t.retries >= 0 ? t.retries : retries; }
  double TimeoutOf(const Task& t) const {
    return t.timeout_seconds >= 0 ? t.timeout_seconds : timeout_seconds;
  }
};

// All pipelines of a project file's `pipelines:` node, validated.
StatusOr<std::map<std::string, Pipeline>> ParsePipelines(const YAML::Node& pipelines);
// Task names in an order where every task comes after its dependencies.
std::vector<std::string> TopologicalOrder(const Pipeline& p);

}  // namespace watershed::orchestrate
