// orchestrate/scheduler.h — `watershed scheduler`: scheduled pipelines run per interval.
//
// Owns: deciding which intervals of a scheduled pipeline are due (after the last one fired,
// recorded as the catalog cursor `scheduler/<pipeline>`, or after the pipeline's `start:`),
// catching up missed ones (`catchup: true`, the default) or only the newest (`false`), skipping
// intervals that already have a successful run (so a restarted scheduler or backfill never runs
// an interval twice), and running each through the executor. The logical date of an interval
// is its start: "YYYY-MM-DD" at midnight, else "YYYY-MM-DDTHH:MM:SSZ".
// Does not own: running tasks (executor.h) or backfills over a date range (backfill.h).
// Thread safety: one scheduler per project.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/orchestrate/executor.h"
#include "watershed/orchestrate/pipeline.h"

namespace watershed::orchestrate {

class RunStore;  // run_store.h

// The identity of the interval that starts at `interval_start` (seconds, UTC): `YYYY-MM-DD` at
// midnight, else the ISO UTC time `YYYY-MM-DDTHH:MM:SSZ`. The scheduler, backfill and Airflow
// use it, so one interval has one identity whoever runs it.
std::string LogicalDate(int64_t interval_start);

// The intervals of `pipeline` whose start falls on a day of [from_day, to_day] (days since the
// epoch), by their LogicalDate: the schedule's times when it has one (`0 6 * * *` gives
// `2026-11-28T06:00:00Z`, ...), else one per day (`2026-11-28`, ...). kInvalidArgument for a
// malformed schedule.
StatusOr<std::vector<std::string>> IntervalsOnDays(const Pipeline& pipeline, int64_t from_day,
                                                   int64_t to_day);

struct SchedulerOptions {
  bool once = false;  // run what is due now, then return
  int64_t until = 0;  // treat this moment (seconds, UTC) as "now" (0 = the clock)
  std::atomic<bool>* stop = nullptr;
  std::function<void(const std::string& pipeline, const std::string& date,
                     const std::string& status)>
      on_run;
  std::string binary;  // passed to the executor
};

Status RunScheduler(project::Project& project, const SchedulerOptions& options);

// Whether `pipeline` has a successful run for `logical_date` (such an interval never runs again;
// the scheduler and backfills skip it).
StatusOr<bool> IntervalSucceeded(RunStore& runs, const std::string& pipeline,
                                 const std::string& logical_date);

}  // namespace watershed::orchestrate
