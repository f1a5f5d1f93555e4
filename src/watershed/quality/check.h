// quality/check.h — one declared data quality check, and the interface every kind of check
// implements.
//
// Owns: the Check value (table, kind, severity, stable name and the options of its kind), the
// CheckKind interface (read its options from YAML, evaluate on a DuckDB connection: the failing
// rows or an observed value, and the message), the base for row-level kinds (a SELECT of the
// failing rows), SpecReader (the helpers kinds use to read their options, with errors that name
// the line, the table and the check's index), and parsing the `checks:` section into Checks.
// The kinds themselves live in quality/kinds/, the name -> kind table in quality/registry.h.
// Does not own: running a selection of checks, quarantining samples or recording results
// (quality/checks.h), the result history (quality/result_store.h).
// Thread safety: kinds are stateless singletons, safe from any thread; a Check is a plain value.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/warehouse/duckdb/database.h"

namespace watershed::quality {

class CheckKind;
class ResultStore;

enum class Severity { kWarn, kError };
std::string_view SeverityName(Severity s);  // "warn", "error"

// One declared check. Which option fields matter depends on its kind.
struct Check {
  std::string name;   // stable: `<model>__<type>[__<columns>]` unless `name:` overrides
  std::string table;  // "ns.table" (lake) or "mart.model"
  std::string type;   // the kind's name: not_null unique accepted_values range regex row_count
                      // freshness relationships schema volume_anomaly sql
  const CheckKind* kind = nullptr;  // the registry's kind of `type` (never null once parsed)
  Severity severity = Severity::kError;
  // Options, filled by the kind's Parse:
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

// What evaluating one check found (before severity turns a failure into warn or fail).
struct CheckOutcome {
  bool failed = false;
  int64_t failing_rows = -1;  // row-level kinds; -1 for table-level ones
  int64_t observed = -1;      // row_count, volume_anomaly: the table's row count; else -1
  std::string message;
  std::string failing_sql;  // row-level kinds that failed: the SELECT the quarantine samples
};

// What a kind may use while it evaluates.
struct EvalContext {
  warehouse::Connection& conn;  // every checked table resolves (`ns.table`, `mart.model`)
  ResultStore& history;         // earlier results (volume_anomaly compares against them)
};

// Reads one check's options; every error names where the check is declared:
// "watershed.yml:12: checks.cb.orgs[2] (range): needs min:, max: or both".
class SpecReader {
 public:
  explicit SpecReader(std::string where) : where_(std::move(where)) {}
  Status Bad(const std::string& what) const;
  // A name or a list of names ("columns" in messages: `what`); at least one.
  StatusOr<std::vector<std::string>> Names(const YAML::Node& n, const std::string& what) const;
  // The `column:` of a map spec.
  StatusOr<std::string> Column(const YAML::Node& spec) const;
  // Fails on a key of map `spec` not in `keys` (a typo would otherwise do nothing).
  Status Known(const YAML::Node& spec, const std::set<std::string>& keys) const;
  const std::string& where() const { return where_; }
  void set_where(std::string where) { where_ = std::move(where); }

 private:
  std::string where_;
};

// A kind of check (one per file under quality/kinds/, listed in quality/registry.cc).
class CheckKind {
 public:
  virtual ~CheckKind() = default;
  virtual std::string_view name() const = 0;  // the YAML key: "not_null"
  // Fills the options of `check` from `spec`, the value under the kind's key.
  virtual Status Parse(const YAML::Node& spec, const SpecReader& in, Check& check) const = 0;
  // True when the check cannot be named after its kind and columns (sql): `name:` required.
  virtual bool needs_name() const { return false; }
  virtual StatusOr<CheckOutcome> Evaluate(const Check& check, EvalContext& ctx) const = 0;
};

// A kind whose failures are rows: a SELECT returns them, they are counted and sampled.
class RowLevelKind : public CheckKind {
 public:
  // The SELECT returning the failing rows of `check`.
  virtual std::string FailingSql(const Check& check) const = 0;
  // "3 rows with NULL in name" for `rows` failing rows.
  virtual std::string FailureMessage(const Check& check, int64_t rows) const;
  StatusOr<CheckOutcome> Evaluate(const Check& check, EvalContext& ctx) const override;
};

// "ns.table" -> "ns"."table" (a lake view in schema ns, or table `model` of attached mart ns).
std::string Relation(const std::string& table);
// "1 row", "3 rows".
std::string Rows(int64_t n);

// Parses the `checks:` node of watershed.yml (absent: no checks). Errors name the line, the
// table, the check's index and what is wrong: "watershed.yml:12: checks.cb.orgs[2]: ...".
StatusOr<std::vector<Check>> ParseChecks(const YAML::Node& checks);

}  // namespace watershed::quality
