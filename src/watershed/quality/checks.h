// quality/checks.h — running the data quality checks declared per table or model in
// watershed.yml (docs/formats/checks.md).
//
// Owns: selecting checks, running them in one DuckDB session (lake tables at the latest snapshot
// as views, DuckDB marts attached read-only), turning each kind's outcome and the check's
// severity into a result (pass, warn, fail, error), sampling failing rows into the lake table
// `quality.quarantine` (one catalog commit, audited), recording the results in `check_results`
// (result_store.h) and counting them (watershed_checks_{passed,failed}_total).
// Does not own: what a kind checks (check.h, kinds/, registry.h), rendering results (cli/
// quality_view.h renders `watershed check`), building marts (transform/ calls RunChecksOn to
// gate publishing) or pipeline tasks (orchestrate/ calls RunChecks).
// Thread safety: functions are reentrant; a connection passed in is used by this thread only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/project/project.h"
#include "watershed/quality/check.h"
#include "watershed/warehouse/duckdb/database.h"

namespace watershed::quality {

inline constexpr std::string_view kQuarantineTable = "quality.quarantine";
inline constexpr std::string_view kResultsTable = "check_results";
inline constexpr int kDefaultSampleRows = 100;

// The project's checks (its watershed.yml).
StatusOr<std::vector<Check>> ProjectChecks(const project::Project& project);

struct CheckResult {
  std::string check, table, type;
  Severity severity = Severity::kError;
  std::string status;         // pass, warn, fail (an error-severity failure), error (did not run)
  int64_t failing_rows = -1;  // row-level checks; -1 for table-level ones
  int64_t observed = -1;      // row_count, volume_anomaly: the table's row count; else -1
  int64_t quarantined = 0;    // sampled rows written to quality.quarantine
  std::string message;
  double seconds = 0;
  // An error-severity check that failed or could not run: blocks downstream and publishing.
  bool blocking() const {
    return severity == Severity::kError && (status == "fail" || status == "error");
  }
  // One line for logs: "cb.orgs orgs__not_null__name (error): fail: 1 row with NULL in name".
  std::string Line() const;
};

struct CheckReport {
  std::string run_id, run_at;  // run_at: ISO UTC
  std::vector<CheckResult> results;
  bool blocking() const;
  // "12 checks: 9 passed, 1 warned, 1 failed, 1 could not run; blocking: a, b".
  std::string Summary() const;
};

struct CheckSelection {
  // "" or "all": every check; else a table/model name, or a namespace/mart ("crunchbase").
  std::string table;
  int sample_rows = kDefaultSampleRows;  // failing rows quarantined per check (0: none)
  std::string context = "check";         // recorded with the results: check, task, build
};

// Runs the selected checks in a fresh DuckDB session (lake tables at the latest snapshot as
// views, every marts/<mart>.duckdb attached read-only), quarantines samples and records the
// results. kNotFound when the selection matches no declared check.
StatusOr<CheckReport> RunChecks(project::Project& project, const CheckSelection& selection);

// Runs `checks` on `conn`, which the caller prepared so that every checked table resolves
// (`ns.table`, `mart.model`). Quarantines samples and records the results in the catalog.
StatusOr<CheckReport> RunChecksOn(project::Project& project, warehouse::Connection& conn,
                                  const std::vector<Check>& checks, const CheckSelection& options);

// The checks `selection` picks out of `checks`.
std::vector<Check> Select(const std::vector<Check>& checks, const std::string& selection);

// The recorded results, newest first (`watershed check` history, tests).
StatusOr<std::vector<CheckResult>> History(const project::Project& project,
                                           const std::string& check_name, int limit);

}  // namespace watershed::quality
