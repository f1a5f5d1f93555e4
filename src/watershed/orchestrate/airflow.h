// orchestrate/airflow.h — `watershed export airflow`: a pipeline as an Airflow DAG file.
//
// Owns: the generated Python: the schedule (validated with cron.h before anything is written;
// cron text becomes a string literal, "every N{m,h,d}" a timedelta), retries, dependencies, and
// each task a BashOperator calling `watershed task run`. Everything embedded from watershed.yml
// is quoted: Python string literals through PyStringLiteral (every quote, backslash and
// control character escaped), shell words through ShellQuote, and `{` in shell text escaped for
// Airflow's Jinja templating, so no pipeline name, task name, project path or schedule can run
// code when Airflow parses the DAG or runs a task. The file is written atomically (temp + rename).
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

// The DAG file's text. An invalid schedule (orchestrate/cron.h) or a name that is not valid
// UTF-8 is kInvalidArgument naming the pipeline.
StatusOr<std::string> AirflowDag(const Pipeline& pipeline, const std::string& project_root);

// Writes AirflowDag() to `path` atomically (a temporary file in the same folder, fsync,
// rename); creates the folder. On error nothing is left at `path` that was not there before.
Status WriteAirflowDag(const Pipeline& pipeline, const std::string& project_root,
                       const std::string& path);

}  // namespace watershed::orchestrate
