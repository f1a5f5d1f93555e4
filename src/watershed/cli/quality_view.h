// cli/quality_view.h — `watershed check`: its options, and rendering a check report.
//
// Owns: validating the command's options, running the selected checks (quality::RunChecks) and
// rendering the report through cli/output.h — table (one row per check, then the summary line),
// csv (the rows), json (one object: run_id, run_at, results, blocking, summary; the shape
// docs/formats/checks.md promises). Does not own: running or recording checks (quality/).
// Thread safety: stateless functions.
#pragma once

#include <ostream>
#include <string>

#include "watershed/base/status.h"
#include "watershed/cli/output.h"
#include "watershed/project/project.h"
#include "watershed/quality/checks.h"

namespace watershed::cli {

// `watershed check [TABLE] [--all] [--sample N] [--format table|csv|json]`.
struct CheckCommandOptions {
  std::string table;  // empty with all=false: every check too
  bool all = false;
  int sample_rows = quality::kDefaultSampleRows;
  std::string format = "table";
};

// The results as rows: table, check, severity, status, failing rows ("-" for table-level
// checks), message (one line: DuckDB's caret diagram dropped).
TextTable CheckReportTable(const quality::CheckReport& report);
void RenderCheckReport(const quality::CheckReport& report, OutputFormat format, std::ostream& out);

// Runs the selected checks and renders the report on `out`; fails with kFailedPrecondition (the
// summary as message) when an error-severity check failed or could not run.
Status CheckCommand(project::Project& project, const CheckCommandOptions& options,
                    std::ostream& out);

}  // namespace watershed::cli
