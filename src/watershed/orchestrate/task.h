// orchestrate/task.h — what one task of a pipeline does, run in the current process.
//
// Owns: `watershed task run PIPELINE TASK --date D`: a `crunchbase` task runs the unloader with
// the project's settings (params mode/collections override them), `load` loads `file` (with
// `{{ date }}` replaced) into `table`, `build` builds the `select`ed models, `check` runs the
// data quality checks of `table` (default: all; a failed error-severity check fails the task
// terminally: exit 3, never retried, its downstream skipped), `shell` runs
// `command` with /bin/sh (`{{ date }}` replaced; its exit code is the task's). Does not own:
// retries, timeouts or ordering (executor.h), the Airflow export (airflow.h). Thread safety: one task per process.
#pragma once

#include <string>

#include "watershed/base/status.h"
#include "watershed/orchestrate/pipeline.h"
#include "watershed/project/project.h"

namespace watershed::orchestrate {

// Runs `task`; returns its status. A shell task replaces the process (never returns on success
// of exec).
Status RunTask(project::Project& project, const Pipeline& pipeline, const Task& task,
               const std::string& logical_date);

// `text` with `{{ date }}` replaced by the logical date's day (YYYY-MM-DD, also for sub-daily
// intervals) and `{{ logical_time }}` by the interval's start as an ISO UTC time
// (YYYY-MM-DDTHH:MM:SSZ). Spaces inside the braces are optional.
std::string WithDate(std::string text, const std::string& logical_date);
// A status that retrying cannot fix (a failed error-severity check, invalid task settings):
// `s` marked so that TaskExitCode gives kTerminalExitCode.
Status Terminal(Status s);
bool IsTerminal(const Status& s);
// The exit code of a task process that ended with `s`: 0, kTransientExitCode for a transient
// code (base/status.h IsTransient), kTerminalExitCode for Terminal(), else kTaskFailedExitCode.
int TaskExitCode(const Status& s);

// `--date` as the interval's identity (scheduler.h LogicalDate): "" is today, a day stays a
// day, an ISO time with any offset ("2026-11-28T06:00:00+00:00", Airflow's `ts`) becomes UTC
// ("2026-11-28T06:00:00Z", or the day at midnight). kInvalidArgument naming `date` otherwise.
StatusOr<std::string> NormalizeLogicalDate(const std::string& date);

// The two values WithDate substitutes.
std::string DayOf(const std::string& logical_date);
std::string LogicalTimeOf(const std::string& logical_date);

}  // namespace watershed::orchestrate
