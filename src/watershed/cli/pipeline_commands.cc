// cli/pipeline_commands.cc — `run`, `backfill`, `task run`, `runs`, `scheduler`, `export
// airflow`: pipelines (orchestrate/), rendered through output.h. See commands.h.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "watershed/base/columns.h"
#include "watershed/base/retry.h"
#include "watershed/base/strings.h"
#include "watershed/cli/commands.h"
#include "watershed/cli/common.h"
#include "watershed/cli/output.h"
#include "watershed/normalize/infer.h"
#include "watershed/observe/metrics.h"
#include "watershed/orchestrate/backfill.h"
#include "watershed/orchestrate/executor.h"
#include "watershed/orchestrate/run_store.h"
#include "watershed/orchestrate/scheduler.h"
#include "watershed/orchestrate/airflow.h"
#include "watershed/orchestrate/task.h"
#include "watershed/orchestrate/task_process.h"
#include "watershed/project/project.h"

namespace watershed::cli {

namespace {

StatusOr<orchestrate::Pipeline> FindPipeline(project::Project& project, const std::string& name) {
  WS_ASSIGN_OR_RETURN(auto pipelines,
                      orchestrate::ParsePipelines(project.config().raw["pipelines"]));
  auto it = pipelines.find(name);
  if (it == pipelines.end()) {
    std::string known;
    for (const auto& [n, p] : pipelines) known += (known.empty() ? "" : ", ") + n;
    return absl::NotFoundError(StrCat("no pipeline '", name, "' in watershed.yml (pipelines: ",
                                      known.empty() ? "none" : known, ")"));
  }
  return it->second;
}

Status PrintOutcome(const orchestrate::RunOutcome& o) {
  TextTable t;
  t.header = {"task", "status", "attempts", "seconds", "log"};
  t.numeric = {false, false, true, true, false};
  t.whole = {false, false, false, false, true};  // log paths are never cut
  for (const auto& task : o.tasks) {
    t.rows.push_back({task.task, task.status, std::to_string(task.attempts),
                      fmt::format("{:.2f}", task.seconds), task.log_path});
  }
  Print(t, OutputFormat::kTable, std::cout);
  std::cout << "run " << o.run_id << ": " << o.status << fmt::format(" in {:.1f} s", o.seconds)
            << (o.status == "success"
                    ? ""
                    : fmt::format("; rerun what failed: watershed run --resume {}", o.run_id))
            << "\n";
  if (o.status != "success")
    return absl::FailedPreconditionError(StrCat("run ", o.run_id, " failed"));
  return absl::OkStatus();
}

}  // namespace

Status RunPipeline(const GlobalOptions& g, const RunCommand& c) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  std::string name = c.pipeline;
  if (!c.resume.empty() && name.empty()) {
    WS_ASSIGN_OR_RETURN(auto store, orchestrate::RunStore::Open(project->config().catalog_path));
    WS_ASSIGN_OR_RETURN(auto runs, store->Runs());
    for (const auto& r : runs) {
      if (r.run_id == c.resume) name = r.pipeline;
    }
    if (name.empty())
      return absl::NotFoundError(StrCat("no run ", c.resume, " (see watershed runs)"));
  }
  WS_ASSIGN_OR_RETURN(auto pipeline, FindPipeline(*project, name));
  orchestrate::RunOptions o;
  o.logical_date = c.date.empty() ? TodayUtc() : c.date;
  o.resume_run_id = c.resume;
  o.on_state = [](const std::string& task, const std::string& state, int attempt) {
    std::cout << fmt::format("  {:<24} {}{}\n", task, state,
                             attempt > 1 ? fmt::format(" (attempt {})", attempt) : "")
              << std::flush;
  };
  WS_ASSIGN_OR_RETURN(auto outcome, orchestrate::Execute(*project, pipeline, o));
  return PrintOutcome(outcome);
}

Status RunBackfill(const GlobalOptions& g, const RunCommand& c) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  WS_ASSIGN_OR_RETURN(auto pipeline, FindPipeline(*project, c.pipeline));
  orchestrate::BackfillOptions o;
  o.from = c.from;
  o.to = c.to;
  o.parallel = c.parallel;
  if (!g.quiet && isatty(STDERR_FILENO)) {
    o.on_day = [](const orchestrate::BackfillDay& d) {
      std::cerr << "  " << d.logical_date << "  " << d.status << "\n" << std::flush;
    };
  }
  WS_ASSIGN_OR_RETURN(orchestrate::BackfillResult r, orchestrate::Backfill(*project, pipeline, o));
  const bool messages =
      std::any_of(r.days.begin(), r.days.end(),
                  [](const orchestrate::BackfillDay& d) { return !d.message.empty(); });
  TextTable t;
  t.header = {"date", "status", "run", "seconds"};
  t.numeric = {false, false, false, true};
  t.whole = {false, false, true, false};
  if (messages) t.header.push_back("message");
  for (const orchestrate::BackfillDay& d : r.days) {
    t.rows.push_back({d.logical_date, d.status, d.run_id,
                      d.status == "skipped" ? "" : fmt::format("{:.2f}", d.seconds)});
    if (messages) t.rows.back().push_back(d.message);
  }
  Print(t, OutputFormat::kTable, std::cout);
  const int failed = r.Unsuccessful();
  std::cout << r.days.size() << " days: " << r.Count("success") << " succeeded, "
            << r.Count("skipped") << " skipped (they had succeeded before), " << failed
            << " failed\n";
  for (const orchestrate::BackfillDay& d : r.days) {
    if (d.status == "failed") {
      std::cout << "  " << d.logical_date << " failed: watershed runs show " << d.run_id << "\n";
    }
  }
  if (failed > 0) {
    return absl::FailedPreconditionError(
        StrCat(failed, " day(s) of ", pipeline.name,
               " did not succeed; run the same backfill again to retry only those"));
  }
  return absl::OkStatus();
}

namespace {
std::atomic<bool> g_stop{false};
}  // namespace

Status RunSchedulerCommand(const GlobalOptions& g, bool once, const std::string& until) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  orchestrate::SchedulerOptions o;
  o.once = once;
  if (!until.empty()) {
    auto t = normalize::ParseTimestamp(until.size() == 10 ? until + "T00:00:00Z" : until);
    if (!t) return absl::InvalidArgumentError(StrCat("--until '", until, "' is not a UTC time"));
    o.until = *t / 1000000;
  }
  o.stop = &g_stop;
  std::signal(SIGINT, [](int) { g_stop = true; });
  std::signal(SIGTERM, [](int) { g_stop = true; });
  o.on_run = [](const std::string& pipeline, const std::string& date, const std::string& status) {
    std::cout << pipeline << "  " << date << "  " << status << "\n" << std::flush;
  };
  if (!once) std::cout << "scheduler running (Ctrl-C stops it)\n" << std::flush;
  return orchestrate::RunScheduler(*project, o);
}

int RunTaskCommand(const GlobalOptions& g, const std::string& pipeline_name,
                   const std::string& task_name, const std::string& date) {
  StatusOr<int> code = [&]() -> StatusOr<int> {
    // Errors that retrying cannot fix (a wrong date, pipeline or task) exit 3: never retried.
    StatusOr<std::string> logical = orchestrate::NormalizeLogicalDate(date);
    if (!logical.ok()) return orchestrate::Terminal(logical.status());
    WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
    StatusOr<orchestrate::Pipeline> pipeline = FindPipeline(*project, pipeline_name);
    if (!pipeline.ok()) return orchestrate::Terminal(pipeline.status());
    const orchestrate::Task* task = pipeline->Find(task_name);
    if (task == nullptr) {
      std::vector<std::string> names;
      for (const auto& t : pipeline->tasks) names.push_back(t.name);
      const std::string near = ClosestMatch(task_name, names);
      return orchestrate::Terminal(absl::NotFoundError(
          StrCat("pipeline ", pipeline_name, " has no task '", task_name, "'",
                 near.empty() ? "" : StrCat("; did you mean '", near, "'?"))));
    }
    if (std::getenv(orchestrate::kRunIdEnv) != nullptr) {
      // Supervised (by the executor, or by the `task run` below): run it in this process.
      Status ran = orchestrate::RunTask(*project, *pipeline, *task, *logical);
      observe::FlushMetrics(*project).IgnoreError();
      WS_RETURN_IF_ERROR(ran);
      return 0;
    }
    // Started from outside (Airflow, a shell): a child process under this one's timeout, and
    // a run in the catalog. Airflow sets AIRFLOW_CTX_DAG_RUN_ID for every task it runs; the
    // exported DAG also passes WATERSHED_RUN_BY and WATERSHED_EXTERNAL_RUN_ID.
    orchestrate::TaskProcessOptions o;
    std::error_code ec;
    o.binary = std::filesystem::read_symlink("/proc/self/exe", ec).string();
    o.logical_date = *logical;
    o.quiet = g.quiet;
    auto env = [](const char* name) {
      const char* v = std::getenv(name);
      return std::string(v == nullptr ? "" : v);
    };
    o.external_id = env("WATERSHED_EXTERNAL_RUN_ID");
    if (o.external_id.empty()) o.external_id = env("AIRFLOW_CTX_DAG_RUN_ID");
    o.run_by = env("WATERSHED_RUN_BY");
    if (o.run_by.empty()) o.run_by = o.external_id.empty() ? "task run" : "airflow";
    WS_ASSIGN_OR_RETURN(orchestrate::TaskProcessResult r,
                        orchestrate::RunTaskProcess(*project, *pipeline, *task, o));
    if (!r.message.empty()) std::cerr << "error: " << r.message << "\n";
    return r.exit_code;
  }();
  if (code.ok()) return *code;
  std::cerr << "error: " << MessageOf(code.status()) << "\n";
  return orchestrate::TaskExitCode(code.status());
}

Status RunRuns(const GlobalOptions& g, const std::string& show) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  WS_ASSIGN_OR_RETURN(auto store, orchestrate::RunStore::Open(project->config().catalog_path));
  TextTable t;
  if (show.empty()) {
    WS_ASSIGN_OR_RETURN(auto runs, store->Runs());
    t.header = {"run", "pipeline", "date", "started_at", "finished_at", "status", "by"};
    t.whole = {true};  // run ids are what `runs show` takes
    for (const auto& r : runs) {
      t.rows.push_back({r.run_id, r.pipeline, r.logical_date, r.started_at, r.finished_at,
                        r.status, r.run_by});
    }
    Print(t, OutputFormat::kTable, std::cout);
    return absl::OkStatus();
  }
  WS_ASSIGN_OR_RETURN(auto attempts, store->Attempts(show));
  if (attempts.empty())
    return absl::NotFoundError(StrCat("no run ", show, " (see watershed runs)"));
  t.header = {"task", "attempt", "status", "exit", "seconds", "log"};
  t.numeric = {false, true, false, true, true, false};
  t.whole = {false, false, false, false, false, true};  // log paths are never cut
  for (const auto& a : attempts) {
    t.rows.push_back({a.task, std::to_string(a.attempt), a.status, std::to_string(a.exit_code),
                      fmt::format("{:.2f}", a.seconds), a.log_path});
  }
  Print(t, OutputFormat::kTable, std::cout);
  for (const auto& a : attempts) {
    if (a.log_path.empty()) continue;
    std::ifstream in(a.log_path);
    std::stringstream ss;
    ss << in.rdbuf();
    std::cout << "\n--- " << a.task << " attempt " << a.attempt << " (" << a.log_path << ")\n"
              << ss.str();
  }
  return absl::OkStatus();
}

Status RunExportAirflow(const GlobalOptions& g, const std::string& name, const std::string& out) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  WS_ASSIGN_OR_RETURN(auto pipeline, FindPipeline(*project, name));
  const std::string path = out.empty() ? StrCat(project->root(), "/airflow/", name, ".py") : out;
  orchestrate::AirflowExportOptions o;
  o.project_root = project->root();
  std::error_code ec;
  o.binary = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  if (o.binary.empty()) o.binary = "watershed";
  const YAML::Node& pool = project->config().raw["pool"];
  if (pool && pool["slots"]) o.pool_slots = pool["slots"].as<int>();
  o.today = TodayUtc();
  WS_RETURN_IF_ERROR(orchestrate::WriteAirflowDag(pipeline, o, path));
  std::cout << "Wrote " << path << "\n"
            << "  the binary and project default to " << o.binary << " and " << o.project_root
            << "; set the Airflow Variables watershed_bin and watershed_project (or WATERSHED_BIN"
               " and WATERSHED_PROJECT on the workers) where they differ\n";
  if (o.pool_slots > 0) {
    std::cout << "  tasks use the Airflow pool watershed; create it once: airflow pools set "
                 "watershed "
              << o.pool_slots << " \"watershed.yml pool: slots\"\n";
  }
  if (!pipeline.on_failure_webhook.empty()) {
    std::cout << "  on_failure: set the Airflow Variable watershed_on_failure_webhook to the "
                 "webhook URL (it is not written into the DAG file)\n";
  }
  return absl::OkStatus();
}

}  // namespace watershed::cli
