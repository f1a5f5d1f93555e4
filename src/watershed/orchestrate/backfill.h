// orchestrate/backfill.h — `watershed backfill`: a pipeline once per interval over a date range.
//
// Owns: running the intervals of [from, to] — one per day, or the schedule's times when the
// pipeline has one, by the scheduler's identities (scheduler.h, IntervalsOnDays) — through the
// executor (Execute), at most `parallel` intervals
// at once (worker threads, each with its own Project: a Project is used by one thread);
// skipping days that already have a successful run (checked just before each day starts, so a
// repeated or concurrent backfill never runs a day twice: the run store refuses a second run of
// a day that is running); and returning what happened to every day. Does not own: running tasks
// (executor.h), scheduled intervals (scheduler.h), or printing (cli/ renders BackfillResult).
// Thread safety: Backfill may be called from any thread; `on_day` is called from the worker
// threads, one call at a time.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/orchestrate/pipeline.h"
#include "watershed/project/project.h"

namespace watershed::orchestrate {

struct BackfillDay {
  std::string logical_date;  // the interval: YYYY-MM-DD, or YYYY-MM-DDTHH:MM:SSZ (LogicalDate)
  // success, failed (a task failed), skipped (a run had succeeded before), running (another
  // process is running this day now), error (the run could not be started or recorded).
  std::string status;
  std::string run_id;   // empty when skipped, running or error
  std::string message;  // why, for running and error
  double seconds = 0;
};

struct BackfillResult {
  std::vector<BackfillDay> days;  // in time order, one per interval of [from, to]
  int Count(const std::string& status) const;
  // Days that did not end with a successful run (failed, running, error).
  int Unsuccessful() const;
};

struct BackfillOptions {
  std::string from, to;  // first and last logical date, YYYY-MM-DD, from <= to
  int parallel = 1;      // days run at once (each an Execute, whose tasks are processes)
  std::string binary;    // passed to the executor (default: /proc/self/exe)
  // Called as each day ends (also for skipped days).
  std::function<void(const BackfillDay&)> on_day;
};

// kInvalidArgument for malformed dates, from > to, or parallel < 1; otherwise one BackfillDay
// per day (a failed day does not stop the others).
StatusOr<BackfillResult> Backfill(project::Project& project, const Pipeline& pipeline,
                                  const BackfillOptions& options);

}  // namespace watershed::orchestrate
