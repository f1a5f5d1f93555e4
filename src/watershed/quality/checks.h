// quality/checks.h — data quality checks declared per table or model in watershed.yml.
//
// Owns: the `checks:` section (docs/formats/checks.md): parsing it into Check values with stable
// names; running checks as SQL on one DuckDB connection (lake tables as views, DuckDB marts
// attached); sampling failing rows into the lake table `quality.quarantine`; the result history
// table `check_results` in the catalog database (volume anomalies compare against it); the
// results table printed by `watershed check`. Does not own: building marts (transform/ calls
// RunChecksOn to gate publishing) or running pipeline tasks (orchestrate/ calls RunChecks).
// Thread safety: functions are reentrant; a connection passed in is used by this thread only.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/project/project.h"
#include "watershed/warehouse/duckdb/database.h"

namespace watershed::quality {

inline constexpr std::string_view kQuarantineTable = "quality.quarantine";
inline constexpr std::string_view kResultsTable = "check_results";
inline constexpr int kDefaultSampleRows = 100;

enum class Severity { kWarn, kError };
std::string_view SeverityName(Severity s);  // "warn", "error"

// One declared check. Which fields matter depends on `type`.
struct Check {
  std::string name;   // stable: `<model>__<type>[__<columns>]` unless `name:` overrides
  std::string table;  // "ns.table" (lake) or "mart.model"
  std::string type;   // not_null unique accepted_values range regex row_count freshness
                      // relationships schema volume_anomaly sql
  Severity severity = Severity::kError;
  std::vector<std::string> columns;     // not_null, unique (composite); one column for the others
  std::vector<std::string> values;      // accepted_values
  std::optional<std::string> min, max;  // range (SQL literal text), row_count (integers)
  std::string pattern;                  // regex (the whole value must match)
  double max_age_seconds = 0;           // freshness
  std::string to_table, to_field;       // relationships
  std::vector<std::pair<std::string, std::string>> schema;  // schema: column -> type ("" = any)
  bool schema_exact = false;  // schema: other columns (except _ws_*) fail
  int runs = 5;               // volume_anomaly: trailing runs compared against
  double tolerance = 0.5;     // volume_anomaly: allowed fraction off the mean
  std::string sql;            // sql: a SELECT returning the failing rows
};

// Parses the `checks:` node of watershed.yml (absent: no checks). Errors name the line, the
// table, the check's index and what is wrong: "watershed.yml:12: checks.cb.orgs[2]: ...".
StatusOr<std::vector<Check>> ParseChecks(const YAML::Node& checks);
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

// Prints the results: format "table" (columns table, check, severity, status, failing rows,
// message, then the summary line) or "json" (one object with run_id, results and summary).
Status PrintReport(const CheckReport& report, const std::string& format, std::ostream& out);

// `watershed check [TABLE] [--all] [--sample N] [--format table|json]`: runs, prints, and fails
// (kFailedPrecondition, the summary as message) when an error-severity check failed.
struct CheckCommandOptions {
  std::string table;  // empty with all=false: every check too
  bool all = false;
  int sample_rows = kDefaultSampleRows;
  std::string format = "table";
};
Status CheckCommand(project::Project& project, const CheckCommandOptions& options,
                    std::ostream& out);

// The recorded results, newest first (`watershed check` history, tests).
StatusOr<std::vector<CheckResult>> History(const project::Project& project,
                                           const std::string& check_name, int limit);

}  // namespace watershed::quality
