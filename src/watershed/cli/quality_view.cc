// cli/quality_view.cc — see quality_view.h.
#include "watershed/cli/quality_view.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace watershed::cli {

TextTable CheckReportTable(const quality::CheckReport& report) {
  TextTable t;
  t.header = {"table", "check", "severity", "status", "failing rows", "message"};
  t.numeric = {false, false, false, false, true, false};
  for (const quality::CheckResult& r : report.results) {
    std::string message = r.message.substr(0, r.message.find("\n\nLINE "));
    std::replace(message.begin(), message.end(), '\n', ' ');
    t.rows.push_back({r.table, r.check, std::string(quality::SeverityName(r.severity)), r.status,
                      r.failing_rows < 0 ? "-" : std::to_string(r.failing_rows), message});
  }
  return t;
}

void RenderCheckReport(const quality::CheckReport& report, OutputFormat format, std::ostream& out) {
  if (format != OutputFormat::kJson) {
    Print(CheckReportTable(report), format, out);
    if (format == OutputFormat::kTable) out << report.Summary() << "\n";
    return;
  }
  auto count = [](int64_t n) { return n < 0 ? nlohmann::json() : nlohmann::json(n); };
  nlohmann::json results = nlohmann::json::array();
  for (const quality::CheckResult& r : report.results) {
    results.push_back({{"table", r.table},
                       {"check", r.check},
                       {"type", r.type},
                       {"severity", std::string(quality::SeverityName(r.severity))},
                       {"status", r.status},
                       {"failing_rows", count(r.failing_rows)},
                       {"observed", count(r.observed)},
                       {"quarantined", r.quarantined},
                       {"message", r.message},
                       {"seconds", r.seconds}});
  }
  out << nlohmann::json{{"run_id", report.run_id},
                        {"run_at", report.run_at},
                        {"results", results},
                        {"blocking", report.blocking()},
                        {"summary", report.Summary()}}
             .dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
      << "\n";
}

Status CheckCommand(project::Project& project, const CheckCommandOptions& options,
                    std::ostream& out) {
  if (options.all && !options.table.empty() && options.table != "all") {
    return absl::InvalidArgumentError("give a TABLE or --all, not both");
  }
  if (options.sample_rows < 0) return absl::InvalidArgumentError("--sample must be >= 0");
  WS_ASSIGN_OR_RETURN(OutputFormat format, ParseOutputFormat(options.format));
  quality::CheckSelection sel;
  sel.table = options.all ? "" : options.table;
  sel.sample_rows = options.sample_rows;
  sel.context = "check";
  WS_ASSIGN_OR_RETURN(quality::CheckReport report, quality::RunChecks(project, sel));
  RenderCheckReport(report, format, out);
  if (report.blocking()) return absl::FailedPreconditionError(report.Summary());
  return absl::OkStatus();
}

}  // namespace watershed::cli
