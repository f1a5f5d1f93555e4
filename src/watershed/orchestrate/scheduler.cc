// orchestrate/scheduler.cc — see scheduler.h.
#include "watershed/orchestrate/scheduler.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

#include "watershed/base/columns.h"
#include "watershed/base/log.h"
#include "watershed/normalize/infer.h"
#include "watershed/observe/alarms.h"
#include "watershed/orchestrate/cron.h"
#include "watershed/orchestrate/run_store.h"

namespace watershed::orchestrate {
namespace {

// Alarms are evaluated after a tick at most this often (and after every tick with --once).
constexpr auto kAlarmInterval = std::chrono::seconds(10);

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status RunInterval(project::Project& project, const Pipeline& p, const std::string& date,
                   const SchedulerOptions& options) {
  WS_ASSIGN_OR_RETURN(auto runs_store, RunStore::Open(project.config().catalog_path));
  WS_ASSIGN_OR_RETURN(bool done, IntervalSucceeded(*runs_store, p.name, date));
  if (done) return absl::OkStatus();
  RunOptions o;
  o.logical_date = date;
  o.binary = options.binary;
  o.unless_succeeded = true;
  auto outcome = Execute(project, p, o);
  if (options.on_run) {
    options.on_run(p.name, date,
                   outcome.ok() ? outcome->status : std::string(MessageOf(outcome.status())));
  }
  if (!outcome.ok() && outcome.status().code() != absl::StatusCode::kAlreadyExists) {
    return outcome.status();
  }
  return absl::OkStatus();
}

}  // namespace

std::string LogicalDate(int64_t t) { return t % 86400 == 0 ? FormatDate(t / 86400) : FormatUtc(t); }

StatusOr<std::vector<std::string>> IntervalsOnDays(const Pipeline& pipeline, int64_t from_day,
                                                   int64_t to_day) {
  std::vector<std::string> out;
  if (pipeline.schedule.empty()) {
    for (int64_t d = from_day; d <= to_day; ++d) out.push_back(LogicalDate(d * 86400));
    return out;
  }
  WS_ASSIGN_OR_RETURN(Schedule schedule, Schedule::Parse(pipeline.schedule));
  const int64_t end = (to_day + 1) * 86400;  // exclusive
  for (int64_t t = schedule.Next(from_day * 86400 - 1); t > 0 && t < end; t = schedule.Next(t)) {
    out.push_back(LogicalDate(t));
    if (out.size() > 1000000) {
      return absl::InvalidArgumentError(StrCat(
          "pipeline ", pipeline.name, ": more than a million intervals between the dates"));
    }
  }
  return out;
}

Status RunScheduler(project::Project& project, const SchedulerOptions& options) {
  WS_ASSIGN_OR_RETURN(auto pipelines, ParsePipelines(project.config().raw["pipelines"]));
  WS_ASSIGN_OR_RETURN(lake::Catalog * catalog, project.catalog());
  struct Entry {
    const Pipeline* pipeline;
    Schedule schedule;
    bool catchup = true;
    int64_t last = 0;
  };
  std::vector<Entry> entries;
  for (const auto& [name, p] : pipelines) {
    if (p.schedule.empty()) continue;
    WS_ASSIGN_OR_RETURN(Schedule s, Schedule::Parse(p.schedule));
    Entry e{&p, s};
    e.catchup = p.catchup;
    WS_ASSIGN_OR_RETURN(auto cursor, catalog->GetCursor("scheduler", name));
    if (cursor) {
      e.last = std::stoll(*cursor);
    } else if (!p.start.empty()) {
      auto start = normalize::ParseTimestamp(p.start + "T00:00:00Z");
      if (!start) {
        return absl::InvalidArgumentError(
            StrCat("pipelines.", name, ".start must be a date YYYY-MM-DD"));
      }
      e.last = *start / 1000000 - 1;
    } else {
      e.last = options.until ? options.until : NowSeconds();  // from now on
    }
    entries.push_back(e);
  }
  if (entries.empty()) {
    return absl::NotFoundError("no pipeline in watershed.yml has a schedule: (cron or every N)");
  }
  // A broken `alarms:` section stops the scheduler at once rather than at every tick.
  WS_RETURN_IF_ERROR(observe::ParseAlarms(project.config().raw["alarms"]).status());
  std::chrono::steady_clock::time_point last_alarms{};
  while (options.stop == nullptr || !*options.stop) {
    const int64_t now = options.until ? options.until : NowSeconds();
    for (Entry& e : entries) {
      std::vector<int64_t> due;
      for (int64_t t = e.schedule.Next(e.last); t > 0 && t <= now; t = e.schedule.Next(t)) {
        due.push_back(t);
        if (due.size() > 100000) break;
      }
      if (!e.catchup && due.size() > 1) due.erase(due.begin(), due.end() - 1);
      for (int64_t t : due) {
        if (options.stop != nullptr && *options.stop) return absl::OkStatus();
        WS_RETURN_IF_ERROR(RunInterval(project, *e.pipeline, LogicalDate(t), options));
        e.last = t;
        WS_RETURN_IF_ERROR(catalog->SetCursor("scheduler", e.pipeline->name, std::to_string(t)));
      }
    }
    // Metrics of this process are stored and the alarms evaluated after the tick.
    if (options.once || std::chrono::steady_clock::now() - last_alarms >= kAlarmInterval) {
      last_alarms = std::chrono::steady_clock::now();
      Status s = observe::MetricsTick(project);
      if (!s.ok()) LogWarn("alarms not evaluated", {{"error", std::string(MessageOf(s))}});
    }
    if (options.once) return absl::OkStatus();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return absl::OkStatus();
}

StatusOr<bool> IntervalSucceeded(RunStore& runs, const std::string& pipeline,
                                 const std::string& logical_date) {
  WS_ASSIGN_OR_RETURN(auto records, runs.Runs(pipeline));
  return std::any_of(records.begin(), records.end(), [&](const RunRecord& r) {
    return r.logical_date == logical_date && r.status == "success";
  });
}

}  // namespace watershed::orchestrate
