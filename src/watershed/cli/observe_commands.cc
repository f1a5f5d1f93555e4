// cli/observe_commands.cc — `audit`, `check`, `lineage`, `metrics`, `alarms`: watching the platform. See commands.h.
#include "watershed/cli/commands.h"

#include "watershed/cli/common.h"
#include "watershed/cli/lineage_view.h"

#include "watershed/orchestrate/run_store.h"
#include "watershed/net/aws.h"
#include "watershed/observe/cloudwatch.h"
#include "watershed/observe/alarms.h"
#include "watershed/observe/metrics.h"
#include "watershed/server/streams.h"
#include "watershed/server/server.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <pwd.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "watershed/cli/observe_view.h"
#include "watershed/cli/output.h"
#include "watershed/cli/quality_view.h"
#include "watershed/lake/gc.h"
#include "watershed/normalize/infer.h"
#include "watershed/audit/audit_log.h"
#include "watershed/load/crunchbase.h"
#include "watershed/lake/reader.h"
#include "watershed/project/project.h"
#include "watershed/orchestrate/executor.h"
#include "watershed/orchestrate/scheduler.h"
#include "watershed/orchestrate/task.h"
#include "watershed/base/retry.h"
#include "watershed/transform/docs.h"
#include "watershed/transform/runner.h"
#include "watershed/warehouse/postgres/postgres.h"
#include "watershed/warehouse/duckdb/database.h"

namespace watershed::cli {

void AuditCommand(const GlobalOptions& g, int argc, char** argv, const Status& outcome) {
  auto project = project::Project::Open(g.project);
  if (!project.ok()) return;  // not in a project: nothing to audit into
  std::string command;
  for (int i = 1; i < argc; ++i) command += (i > 1 ? " " : "") + std::string(argv[i]);
  const passwd* pw = getpwuid(geteuid());
  observe::FlushMetrics(**project).IgnoreError();  // what this process counted (metrics.h)
  audit::AuditLog log((*project)->root() + "/.watershed/audit.log");
  log.Append({0, "", pw != nullptr ? pw->pw_name : std::to_string(geteuid()), "command", command,
              outcome.ok() ? "ok" : StrCat("error: ", MessageOf(outcome))})
      .IgnoreError();
}

Status RunAudit(const GlobalOptions& g, bool verify) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  audit::AuditLog log(audit::AuditLogPath(project->root()));
  if (verify) {
    // The chain, and every entry the catalog's snapshots anchored (a cut, rewritten or deleted
    // log fails here even when its chain is consistent).
    WS_ASSIGN_OR_RETURN(lake::Catalog * catalog, project->catalog());
    WS_ASSIGN_OR_RETURN(auto anchors, catalog->AuditAnchors());
    WS_RETURN_IF_ERROR(log.Verify(anchors));
    WS_ASSIGN_OR_RETURN(auto entries, log.Read());
    std::cout << "audit log intact: " << entries.size() << " entries, hash chain verified, "
              << anchors.size() << " catalog anchors match (" << log.path() << ")\n";
    return absl::OkStatus();
  }
  WS_ASSIGN_OR_RETURN(auto entries, log.Read());
  TextTable t;
  t.header = {"seq", "time", "principal", "action", "target", "outcome"};
  t.numeric = {true, false, false, false, false, false};
  for (const auto& e : entries) {
    t.rows.push_back({std::to_string(e.seq), e.time, e.principal, e.action, e.target, e.outcome});
  }
  Print(t, OutputFormat::kTable, std::cout);
  return absl::OkStatus();
}

Status RunCheck(const GlobalOptions& g, const CheckCommandOptions& c) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  return CheckCommand(*project, c, std::cout);
}

Status RunLineage(const GlobalOptions& g, const std::string& node,
                  const observe::TraceOptions& options, const std::string& format) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  WS_ASSIGN_OR_RETURN(LineageFormat f, ParseLineageFormat(format));
  WS_ASSIGN_OR_RETURN(observe::LineageTree tree, observe::TraceLineage(*project, node, options));
  const std::string out = RenderLineage(tree, f);
  std::cout << out;
  if (!out.empty() && out.back() != '\n') std::cout << "\n";
  return absl::OkStatus();
}

Status RunMetrics(const GlobalOptions& g, const std::string& format, const std::string& push) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  return MetricsCommand(*project, format, push, std::cout);
}

Status RunAlarms(const GlobalOptions& g, const std::string& format, bool evaluate) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  return AlarmsCommand(*project, format, evaluate, std::cout);
}

}  // namespace watershed::cli
