// orchestrate/task.cc — see task.h.
#include "watershed/orchestrate/task.h"

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"

#include <unistd.h>

#include <iostream>

#include "watershed/base/columns.h"
#include "watershed/load/crunchbase.h"
#include "watershed/normalize/infer.h"
#include "watershed/orchestrate/scheduler.h"
#include "watershed/load/loader.h"
#include "watershed/quality/checks.h"
#include "watershed/transform/runner.h"

namespace watershed::orchestrate {

namespace {
constexpr char kTerminalPayload[] = "watershed/orchestrate/terminal";
}  // namespace

Status Terminal(Status s) {
  s.SetPayload(kTerminalPayload, absl::Cord("1"));
  return s;
}

bool IsTerminal(const Status& s) { return s.GetPayload(kTerminalPayload).has_value(); }

int TaskExitCode(const Status& s) {
  if (s.ok()) return 0;
  if (IsTerminal(s)) return kTerminalExitCode;
  return IsTransient(s) ? kTransientExitCode : kTaskFailedExitCode;
}

StatusOr<std::string> NormalizeLogicalDate(const std::string& date) {
  if (date.empty()) return TodayUtc();
  if (date.size() == 10 && normalize::ParseDate(date)) return date;
  const std::optional<int64_t> micros = normalize::ParseTimestamp(date);
  if (!micros || *micros % 1000000 != 0) {
    return absl::InvalidArgumentError(
        StrCat("--date '", date, "' is not a day (2026-11-28) or an ISO time to the second "
                                 "(2026-11-28T06:00:00Z, 2026-11-28T06:00:00+00:00)"));
  }
  return LogicalDate(*micros / 1000000);
}

std::string DayOf(const std::string& logical_date) { return logical_date.substr(0, 10); }

std::string LogicalTimeOf(const std::string& logical_date) {
  return logical_date.size() == 10 ? StrCat(logical_date, "T00:00:00Z") : logical_date;
}

std::string WithDate(std::string text, const std::string& logical_date) {
  const std::pair<const char*, std::string> values[] = {
      {"{{ date }}", DayOf(logical_date)},
      {"{{date}}", DayOf(logical_date)},
      {"{{ logical_time }}", LogicalTimeOf(logical_date)},
      {"{{logical_time}}", LogicalTimeOf(logical_date)}};
  for (const auto& [token, value] : values) {
    for (size_t pos = 0; (pos = text.find(token, pos)) != std::string::npos; pos += value.size()) {
      text.replace(pos, std::string_view(token).size(), value);
    }
  }
  return text;
}

Status RunTask(project::Project& project, const Pipeline& pipeline, const Task& task,
               const std::string& date) {
  auto param = [&](const std::string& key, const std::string& fallback = "") {
    auto it = task.params.find(key);
    return it == task.params.end() ? fallback : WithDate(it->second, date);
  };
  if (task.type == "noop") return absl::OkStatus();  // a join point: nothing to do
  if (task.type == "shell") {
    const std::string command = param("command");
    setenv("WATERSHED_DATE", DayOf(date).c_str(), 1);
    setenv("WATERSHED_LOGICAL_TIME", LogicalTimeOf(date).c_str(), 1);
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    return absl::InternalError(StrCat("cannot run /bin/sh for task ", task.name));
  }
  if (task.type == "load") {
    load::LoadOptions o;
    o.input = param("file");
    // A relative path is the project's, whatever folder the task process runs in.
    if (!o.input.empty() && o.input != "-" && o.input.front() != '/') {
      o.input = project.root() + "/" + o.input;
    }
    o.table = param("table");
    if (!absl::SimpleAtoi(param("max_bad", "0"), &o.max_bad) || o.max_bad < 0) {
      return Terminal(absl::InvalidArgumentError(StrCat("task ", task.name, ": max_bad must be a whole "
                                               "number of records, not '", param("max_bad"), "'")));
    }
    WS_ASSIGN_OR_RETURN(auto summary, load::LoadFile(project, o));
    std::printf("%s: %llu records, snapshot %lld\n", task.name.c_str(),
                static_cast<unsigned long long>(summary.records),
                static_cast<long long>(summary.snapshot_id));
    return absl::OkStatus();
  }
  if (task.type == "build") {
    transform::BuildOptions o;
    o.select = Split(param("select"), ',', /*trim=*/true, /*skip_empty=*/true);
    WS_ASSIGN_OR_RETURN(auto results, transform::Build(project, o));
    int failed = 0;
    for (const auto& r : results) {
      std::printf("%s %s %lld rows\n", r.model.c_str(), r.status.c_str(),
                  static_cast<long long>(r.rows));
      failed += r.status != "ok";
    }
    if (failed > 0) return absl::FailedPreconditionError(StrCat(failed, " model(s) did not build"));
    return absl::OkStatus();
  }
  if (task.type == "check") {
    quality::CheckSelection selection;
    selection.table = param("table", "all");
    const std::string sample = param("sample", std::to_string(quality::kDefaultSampleRows));
    char* end = nullptr;
    const long n = std::strtol(sample.c_str(), &end, 10);
    if (sample.empty() || *end != '\0' || n < 0) {
      return Terminal(absl::InvalidArgumentError(
          StrCat("task ", task.name, ": sample '", sample, "' is not a number of rows >= 0")));
    }
    selection.sample_rows = static_cast<int>(n);
    selection.context = StrCat("task ", pipeline.name, ".", task.name);
    WS_ASSIGN_OR_RETURN(quality::CheckReport report, quality::RunChecks(project, selection));
    for (const quality::CheckResult& r : report.results) std::cout << r.Line() << "\n";
    std::cout << report.Summary() << "\n";
    std::cout << std::flush;
    // Failed data is terminal: rerunning the checks on the same data fails the same way.
    if (report.blocking())
      return Terminal(absl::FailedPreconditionError(StrCat(task.name, ": ", report.Summary())));
    return absl::OkStatus();
  }
  // crunchbase
  WS_ASSIGN_OR_RETURN(load::CrunchbaseRun run, load::CrunchbaseSettings(project));
  if (!param("mode").empty()) run.mode = param("mode");
  if (!param("collections").empty()) {
    run.unload.collections.clear();
    for (std::string c = param("collections"); !c.empty();) {
      size_t comma = c.find(',');
      run.unload.collections.push_back(c.substr(0, comma));
      c = comma == std::string::npos ? "" : c.substr(comma + 1);
    }
  }
  WS_ASSIGN_OR_RETURN(auto r, load::RunCrunchbase(project, run));
  std::printf("%s: %lld entities, %lld deletions\n", task.name.c_str(),
              static_cast<long long>(r.unload.entities),
              static_cast<long long>(r.unload.tombstones));
  (void)pipeline;
  return absl::OkStatus();
}

}  // namespace watershed::orchestrate
