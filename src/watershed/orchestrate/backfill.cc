// orchestrate/backfill.cc — see backfill.h.
#include "watershed/orchestrate/backfill.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "watershed/base/columns.h"
#include "watershed/normalize/infer.h"
#include "watershed/orchestrate/executor.h"
#include "watershed/orchestrate/run_store.h"
#include "watershed/orchestrate/scheduler.h"

namespace watershed::orchestrate {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// One day: skipped when it succeeded before, else one Execute.
BackfillDay RunDay(project::Project& project, RunStore& runs, const Pipeline& pipeline,
                   const std::string& date, const BackfillOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  BackfillDay day;
  day.logical_date = date;
  auto succeeded = IntervalSucceeded(runs, pipeline.name, date);
  if (!succeeded.ok()) {
    day.status = "error";
    day.message = std::string(MessageOf(succeeded.status()));
    return day;
  }
  if (*succeeded) {
    day.status = "skipped";
    return day;
  }
  RunOptions o;
  o.logical_date = date;
  o.binary = options.binary;
  auto outcome = Execute(project, pipeline, o);
  day.seconds = SecondsSince(start);
  if (outcome.ok()) {
    day.status = outcome->status;
    day.run_id = outcome->run_id;
  } else {
    day.status = outcome.status().code() == absl::StatusCode::kAlreadyExists ? "running" : "error";
    day.message = std::string(MessageOf(outcome.status()));
  }
  return day;
}

}  // namespace

int BackfillResult::Count(const std::string& status) const {
  return static_cast<int>(std::count_if(days.begin(), days.end(),
                                        [&](const BackfillDay& d) { return d.status == status; }));
}

int BackfillResult::Unsuccessful() const {
  return static_cast<int>(days.size()) - Count("success") - Count("skipped");
}

StatusOr<BackfillResult> Backfill(project::Project& project, const Pipeline& pipeline,
                                  const BackfillOptions& options) {
  const auto from = normalize::ParseDate(options.from), to = normalize::ParseDate(options.to);
  if (!from || !to || *from > *to) {
    return absl::InvalidArgumentError(StrCat("backfill ", pipeline.name, ": --from '", options.from,
                                             "' and --to '", options.to,
                                             "' must be dates YYYY-MM-DD with from <= to"));
  }
  if (options.parallel < 1) {
    return absl::InvalidArgumentError(StrCat(
        "backfill ", pipeline.name, ": --parallel must be 1 or more, not ", options.parallel));
  }
  BackfillResult result;
  // The same interval identities as the scheduler's, so neither runs one the other ran.
  WS_ASSIGN_OR_RETURN(std::vector<std::string> intervals, IntervalsOnDays(pipeline, *from, *to));
  for (std::string& logical : intervals) result.days.push_back({std::move(logical)});

  std::atomic<size_t> next{0};
  std::mutex mu;  // one on_day call at a time
  // A worker takes the next day until none is left. `p` is this worker's Project, or null when
  // it could not be opened (`why`): every day the worker takes then fails with that message.
  auto work = [&](project::Project* p, const Status& why) {
    StatusOr<std::unique_ptr<RunStore>> runs = p != nullptr
                                                   ? RunStore::Open(p->config().catalog_path)
                                                   : StatusOr<std::unique_ptr<RunStore>>(why);
    for (size_t i = next++; i < result.days.size(); i = next++) {
      BackfillDay& day = result.days[i];
      if (runs.ok()) {
        day = RunDay(*p, **runs, pipeline, day.logical_date, options);
      } else {
        day.status = "error";
        day.message = std::string(MessageOf(runs.status()));
      }
      if (options.on_day) {
        std::lock_guard<std::mutex> lock(mu);
        options.on_day(day);
      }
    }
  };
  const size_t workers = std::min<size_t>(options.parallel, result.days.size());
  if (workers == 1) {
    work(&project, absl::OkStatus());
    return result;
  }
  std::vector<std::thread> threads;
  for (size_t w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      auto own = project::Project::Open(project.root());
      work(own.ok() ? own->get() : nullptr, own.status());
    });
  }
  for (std::thread& t : threads) t.join();
  return result;
}

}  // namespace watershed::orchestrate
