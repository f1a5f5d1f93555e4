// orchestrate/airflow.h — `watershed export airflow`: a pipeline as an Airflow DAG file.
//
// Owns: the generated Python, for Airflow 2.4+ and 3.x (imports tried in the 3.x places first:
// the standard provider's BashOperator and EmptyOperator, airflow.sdk's DAG and Variable): the
// DAG's schedule (validated with cron.h before anything is written; cron text a string, "every
// N{m,h,d}" a timedelta), start (start_date, UTC; without `start:` the export day), catchup,
// max_parallel (max_active_tasks), retries with exponential backoff and Watershed's retry rule
// (pipeline.h Pipeline::Retries: WatershedTask fails for good on the exit codes Watershed does
// not retry), timeouts (execution_timeout, a backstop after `task run`'s own), `noop` tasks as
// EmptyOperator, the project's `pool:` as the Airflow pool `watershed`, `on_failure: webhook`
// as an on_failure_callback posting the executor's event; and each other task a
// `watershed task run` call for the interval's start (`{{ data_interval_start | ts }}`), its
// binary and project from the Airflow Variables watershed_bin / watershed_project, else the
// worker's WATERSHED_BIN / WATERSHED_PROJECT, else the paths at export time.
// Everything embedded from watershed.yml is quoted: Python string literals through
// PyStringLiteral (every quote, backslash and control character escaped), shell words through
// ShellQuote, and `{` escaped for Airflow's Jinja templating, so no pipeline name, task name,
// project path or schedule can run code when Airflow parses the DAG or runs a task. The
// webhook URL is never written into the file (it may hold a token): the callback reads it from
// the Variable watershed_on_failure_webhook or WATERSHED_ON_FAILURE_WEBHOOK. The file is
// written atomically (temp + rename).
// Does not own: running tasks (task.h) or parsing pipelines (pipeline.h).
// Thread safety: pure functions; WriteAirflowDag writes one file.
#pragma once

#include <string>
#include <string_view>

#include "watershed/base/status.h"
#include "watershed/orchestrate/pipeline.h"

namespace watershed::orchestrate {

// A Python 3 string literal holding exactly `s` (which must be valid UTF-8): single-quoted,
// with \\, \', \n, \r, \t and every other control character (\xNN) escaped.
std::string PyStringLiteral(std::string_view s);

// One POSIX shell word holding exactly `s`: unchanged when it has only [A-Za-z0-9_@%+=:,./-]
// (and is not empty), else single-quoted with ' written as '"'"'.
std::string ShellQuote(std::string_view s);

struct AirflowExportOptions {
  std::string project_root;  // the default of watershed_project
  std::string binary = "watershed";  // the default of watershed_bin
  int pool_slots = 0;        // the project's `pool: {slots: N}`; 0 = no pool
  std::string today;         // YYYY-MM-DD: start_date when the pipeline has no `start:`
};

// The DAG file's text. An invalid schedule (orchestrate/cron.h) or a name that is not valid
// UTF-8 is kInvalidArgument naming the pipeline.
StatusOr<std::string> AirflowDag(const Pipeline& pipeline, const AirflowExportOptions& options);
StatusOr<std::string> AirflowDag(const Pipeline& pipeline, const std::string& project_root);

// Writes AirflowDag() to `path` atomically (a temporary file in the same folder, fsync,
// rename); creates the folder. On error nothing is left at `path` that was not there before.
Status WriteAirflowDag(const Pipeline& pipeline, const AirflowExportOptions& options,
                       const std::string& path);
Status WriteAirflowDag(const Pipeline& pipeline, const std::string& project_root,
                       const std::string& path);

}  // namespace watershed::orchestrate
