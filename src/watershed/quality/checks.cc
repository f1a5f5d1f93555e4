// quality/checks.cc — see checks.h.
#include "watershed/quality/checks.h"

#include "watershed/audit/audit_log.h"
#include "watershed/observe/metrics.h"


#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "watershed/base/ids.h"
#include "watershed/base/log.h"
#include "watershed/store/store.h"
#include "watershed/lake/reader.h"
#include "watershed/lake/writer.h"

namespace watershed::quality {
namespace {

namespace fs = std::filesystem;
using warehouse::QuoteIdent;
using warehouse::QuoteLiteral;

const std::vector<std::string>& Types() {
  static const std::vector<std::string> kTypes = {
      "not_null",  "unique",        "accepted_values", "range",          "regex", "row_count",
      "freshness", "relationships", "schema",          "volume_anomaly", "sql"};
  return kTypes;
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : std::string(sep)) + p;
  return out;
}

// "30s", "5m", "2h", "2d", "1w" or a number of seconds.
std::optional<double> ParseAge(std::string s) {
  if (s.empty()) return std::nullopt;
  double unit = 1;
  switch (s.back()) {
    case 's':
      s.pop_back();
      break;
    case 'm':
      unit = 60;
      s.pop_back();
      break;
    case 'h':
      unit = 3600;
      s.pop_back();
      break;
    case 'd':
      unit = 86400;
      s.pop_back();
      break;
    case 'w':
      unit = 7 * 86400;
      s.pop_back();
      break;
    default:
      break;
  }
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || v < 0) return std::nullopt;
  return v * unit;
}

std::string HumanSeconds(double s) {
  if (s >= 86400) return fmt::format("{:.1f}d", s / 86400);
  if (s >= 3600) return fmt::format("{:.1f}h", s / 3600);
  if (s >= 60) return fmt::format("{:.1f}m", s / 60);
  return fmt::format("{:.0f}s", s);
}

bool IsNumber(const std::string& s) {
  if (s.empty()) return false;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return *end == '\0';
}

// The SQL type names DuckDB's DESCRIBE prints, for the spellings people write.
std::string CanonicalType(std::string t) {
  std::string out;
  for (char c : t) {
    if (c != ' ' || (!out.empty() && out.back() != ' '))
      out.push_back(static_cast<char>(std::toupper(c)));
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  static const std::map<std::string, std::string> kAliases = {
      {"STRING", "VARCHAR"},
      {"TEXT", "VARCHAR"},
      {"INT8", "BIGINT"},
      {"INT64", "BIGINT"},
      {"LONG", "BIGINT"},
      {"INT", "INTEGER"},
      {"INT4", "INTEGER"},
      {"INT32", "INTEGER"},
      {"FLOAT8", "DOUBLE"},
      {"BOOL", "BOOLEAN"},
      {"TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"},
      {"DATETIME", "TIMESTAMP"},
      {"FLOAT4", "FLOAT"},
      {"REAL", "FLOAT"}};
  auto it = kAliases.find(out);
  return it == kAliases.end() ? out : it->second;
}

bool TypeMatches(const std::string& expected, const std::string& actual) {
  const std::string e = CanonicalType(expected), a = CanonicalType(actual);
  if (e == a) return true;
  // "DECIMAL" matches any precision; "DECIMAL(18,4)" only that one.
  return e.find('(') == std::string::npos && a.starts_with(e + "(");
}

// ---- parsing ------------------------------------------------------------------------------

class Parser {
 public:
  Parser(std::string table, size_t index, const YAML::Node& item)
      : table_(std::move(table)), item_(item) {
    const int line = item.Mark().line;
    where_ = StrCat("watershed.yml", line >= 0 ? StrCat(":", line + 1) : std::string(), ": checks.",
                    table_, "[", index, "]");
  }

  StatusOr<Check> Parse() {
    Check c;
    c.table = table_;
    if (!item_.IsMap()) return Bad("a check is a map such as {not_null: column}");
    YAML::Node spec;
    std::string name;
    for (const auto& kv : item_) {
      const std::string key = kv.first.as<std::string>();
      if (key == "severity") {
        const std::string s = kv.second.as<std::string>();
        if (s == "warn") {
          c.severity = Severity::kWarn;
        } else if (s == "error") {
          c.severity = Severity::kError;
        } else {
          return Bad(StrCat("severity '", s, "' is not warn or error"));
        }
      } else if (key == "name") {
        name = kv.second.as<std::string>();
        if (name.empty()) return Bad("name is empty");
      } else if (std::find(Types().begin(), Types().end(), key) != Types().end()) {
        if (!c.type.empty()) return Bad(StrCat("has two check types, ", c.type, " and ", key));
        c.type = key;
        spec = kv.second;
      } else {
        return Bad(StrCat("unknown key '", key, "' (a check is one of ", Join(Types(), ", "),
                          ", plus optional name and severity)"));
      }
    }
    if (c.type.empty()) return Bad(StrCat("no check type (one of ", Join(Types(), ", "), ")"));
    where_ += StrCat(" (", c.type, ")");
    WS_RETURN_IF_ERROR(ParseSpec(c, spec));
    const std::string model = table_.substr(table_.find('.') + 1);
    if (!name.empty()) {
      c.name = name;
    } else if (c.type == "sql") {
      return Bad("a sql check needs a name: (it names the check in results and the quarantine)");
    } else {
      c.name = StrCat(model, "__", c.type);
      std::vector<std::string> cols = c.columns;
      if (!cols.empty()) c.name += "__" + Join(cols, "_");
    }
    return c;
  }

  const std::string& where() const { return where_; }

 private:
  Status Bad(const std::string& what) const {
    return absl::InvalidArgumentError(StrCat(where_, ": ", what));
  }

  StatusOr<std::vector<std::string>> Names(const YAML::Node& n, const std::string& what) {
    std::vector<std::string> out;
    if (n && n.IsScalar()) {
      out.push_back(n.as<std::string>());
    } else if (n && n.IsSequence()) {
      for (const auto& v : n) {
        if (!v.IsScalar()) return Bad(StrCat(what, " must be names"));
        out.push_back(v.as<std::string>());
      }
    }
    for (const auto& s : out) {
      if (s.empty()) return Bad(StrCat(what, " has an empty name"));
    }
    if (out.empty()) return Bad(StrCat("needs ", what, " (a name or a list of names)"));
    return out;
  }

  StatusOr<std::string> Column(const YAML::Node& spec) {
    if (!spec.IsMap() || !spec["column"] || !spec["column"].IsScalar()) {
      return Bad("needs column: (a map such as {column: name, ...})");
    }
    std::string col = spec["column"].as<std::string>();
    if (col.empty()) return Bad("column is empty");
    return col;
  }

  Status Known(const YAML::Node& spec, std::set<std::string> keys) {
    if (!spec.IsMap()) return absl::OkStatus();
    for (const auto& kv : spec) {
      const std::string k = kv.first.as<std::string>();
      if (!keys.contains(k)) {
        return Bad(StrCat("unknown option '", k, "' (allowed: ",
                          Join(std::vector<std::string>(keys.begin(), keys.end()), ", "), ")"));
      }
    }
    return absl::OkStatus();
  }

  Status ParseSpec(Check& c, const YAML::Node& spec) {
    const std::string& t = c.type;
    if (t == "not_null" || t == "unique") {
      WS_ASSIGN_OR_RETURN(c.columns, Names(spec, "columns"));
    } else if (t == "accepted_values") {
      WS_RETURN_IF_ERROR(Known(spec, {"column", "values"}));
      WS_ASSIGN_OR_RETURN(std::string col, Column(spec));
      c.columns = {col};
      if (!spec["values"] || !spec["values"].IsSequence() || spec["values"].size() == 0) {
        return Bad("needs values: [a, b, ...] (at least one)");
      }
      for (const auto& v : spec["values"]) {
        if (!v.IsScalar()) return Bad("values must be scalars");
        c.values.push_back(v.as<std::string>());
      }
    } else if (t == "range") {
      WS_RETURN_IF_ERROR(Known(spec, {"column", "min", "max"}));
      WS_ASSIGN_OR_RETURN(std::string col, Column(spec));
      c.columns = {col};
      for (const char* bound : {"min", "max"}) {
        if (!spec[bound]) continue;
        if (!spec[bound].IsScalar()) return Bad(StrCat(bound, " must be a number, date or text"));
        const std::string v = spec[bound].as<std::string>();
        (bound[1] == 'i' ? c.min : c.max) = IsNumber(v) ? v : QuoteLiteral(v);
      }
      if (!c.min && !c.max) return Bad("needs min:, max: or both");
    } else if (t == "regex") {
      WS_RETURN_IF_ERROR(Known(spec, {"column", "pattern"}));
      WS_ASSIGN_OR_RETURN(std::string col, Column(spec));
      c.columns = {col};
      if (!spec["pattern"] || !spec["pattern"].IsScalar())
        return Bad("needs pattern: (a regular expression)");
      c.pattern = spec["pattern"].as<std::string>();
    } else if (t == "row_count") {
      if (!spec.IsMap()) return Bad("needs {min: N, max: N} (either or both)");
      WS_RETURN_IF_ERROR(Known(spec, {"min", "max"}));
      for (const char* bound : {"min", "max"}) {
        if (!spec[bound]) continue;
        const std::string v = spec[bound].as<std::string>();
        char* end = nullptr;
        const long long n = std::strtoll(v.c_str(), &end, 10);
        if (v.empty() || *end != '\0' || n < 0) {
          return Bad(StrCat(bound, " '", v, "' is not a whole number >= 0"));
        }
        (bound[1] == 'i' ? c.min : c.max) = std::to_string(n);
      }
      if (!c.min && !c.max) return Bad("needs min:, max: or both");
    } else if (t == "freshness") {
      WS_RETURN_IF_ERROR(Known(spec, {"column", "max_age"}));
      WS_ASSIGN_OR_RETURN(std::string col, Column(spec));
      c.columns = {col};
      if (!spec["max_age"] || !spec["max_age"].IsScalar())
        return Bad("needs max_age: (e.g. 36h, 2d)");
      auto age = ParseAge(spec["max_age"].as<std::string>());
      if (!age) {
        return Bad(StrCat("max_age '", spec["max_age"].as<std::string>(),
                          "' is not a duration (examples: 30m, 36h, 2d, 1w)"));
      }
      c.max_age_seconds = *age;
    } else if (t == "relationships") {
      WS_RETURN_IF_ERROR(Known(spec, {"column", "to", "field"}));
      WS_ASSIGN_OR_RETURN(std::string col, Column(spec));
      c.columns = {col};
      if (!spec["to"] || !spec["to"].IsScalar())
        return Bad("needs to: (the table holding the keys)");
      c.to_table = spec["to"].as<std::string>();
      if (c.to_table.find('.') == std::string::npos || c.to_table.front() == '.' ||
          c.to_table.back() == '.') {
        return Bad(StrCat("to '", c.to_table, "' is not a table name (ns.table or mart.model)"));
      }
      c.to_field = spec["field"] ? spec["field"].as<std::string>() : col;
    } else if (t == "schema") {
      WS_RETURN_IF_ERROR(Known(spec, {"columns", "exact"}));
      const YAML::Node cols = spec.IsMap() ? spec["columns"] : YAML::Node();
      if (cols && cols.IsMap()) {
        for (const auto& kv : cols) {
          c.schema.emplace_back(kv.first.as<std::string>(),
                                kv.second.IsNull() ? "" : kv.second.as<std::string>());
        }
      } else if (cols && cols.IsSequence()) {
        for (const auto& v : cols) c.schema.emplace_back(v.as<std::string>(), "");
      }
      if (c.schema.empty()) {
        return Bad("needs columns: {name: TYPE, ...} or columns: [name, ...]");
      }
      if (spec["exact"]) c.schema_exact = spec["exact"].as<bool>();
    } else if (t == "volume_anomaly") {
      if (spec && !spec.IsNull() && !spec.IsMap()) return Bad("takes {runs: N, tolerance: F}");
      WS_RETURN_IF_ERROR(Known(spec, {"runs", "tolerance"}));
      if (spec && spec.IsMap() && spec["runs"]) c.runs = spec["runs"].as<int>();
      if (spec && spec.IsMap() && spec["tolerance"]) c.tolerance = spec["tolerance"].as<double>();
      if (c.runs < 1) return Bad("runs must be at least 1");
      if (c.tolerance < 0) return Bad("tolerance must be >= 0 (a fraction: 0.5 = 50%)");
    } else if (t == "sql") {
      if (!spec.IsScalar()) return Bad("sql: takes a SELECT returning the failing rows");
      c.sql = spec.as<std::string>();
      while (!c.sql.empty() &&
             (std::isspace(static_cast<unsigned char>(c.sql.back())) || c.sql.back() == ';')) {
        c.sql.pop_back();
      }
      if (c.sql.empty()) return Bad("sql is empty");
    }
    return absl::OkStatus();
  }

  std::string table_;
  YAML::Node item_;  // a handle (copies share the node): the caller's may be a temporary
  std::string where_;
};

// ---- SQL ----------------------------------------------------------------------------------

// "ns.table" -> "ns"."table" (a lake view in schema ns, or table `model` of attached mart ns).
std::string Relation(const std::string& table) {
  const size_t dot = table.find('.');
  return StrCat(QuoteIdent(table.substr(0, dot)), ".", QuoteIdent(table.substr(dot + 1)));
}

bool RowLevel(const std::string& type) {
  return type != "row_count" && type != "freshness" && type != "schema" && type != "volume_anomaly";
}

// The SELECT returning a row-level check's failing rows.
std::string FailingSql(const Check& c) {
  const std::string rel = Relation(c.table);
  std::vector<std::string> cols;
  for (const auto& col : c.columns) cols.push_back(QuoteIdent(col));
  const std::string col = cols.empty() ? "" : cols[0];
  if (c.type == "not_null")
    return StrCat("SELECT * FROM ", rel, " WHERE ", Join(cols, " IS NULL OR "), " IS NULL");
  if (c.type == "unique") {
    return StrCat("SELECT * EXCLUDE (_ws_check_n) FROM (SELECT *, count(*) OVER (PARTITION BY ",
                  Join(cols, ", "), ") AS _ws_check_n FROM ", rel, " WHERE ",
                  Join(cols, " IS NOT NULL AND "), " IS NOT NULL) WHERE _ws_check_n > 1");
  }
  if (c.type == "accepted_values") {
    std::vector<std::string> lits;
    for (const auto& v : c.values) lits.push_back(QuoteLiteral(v));
    return StrCat("SELECT * FROM ", rel, " WHERE ", col, " IS NOT NULL AND CAST(", col,
                  " AS VARCHAR) NOT IN (", Join(lits, ", "), ")");
  }
  if (c.type == "range") {
    std::vector<std::string> out;
    if (c.min) out.push_back(StrCat(col, " < ", *c.min));
    if (c.max) out.push_back(StrCat(col, " > ", *c.max));
    return StrCat("SELECT * FROM ", rel, " WHERE ", Join(out, " OR "));
  }
  if (c.type == "regex") {
    return StrCat("SELECT * FROM ", rel, " WHERE ", col,
                  " IS NOT NULL AND NOT regexp_full_match(CAST(", col, " AS VARCHAR), ",
                  QuoteLiteral(c.pattern), ")");
  }
  if (c.type == "relationships") {
    return StrCat("SELECT ws_child.* FROM ", rel, " AS ws_child WHERE ws_child.", col,
                  " IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ", Relation(c.to_table),
                  " AS ws_parent WHERE ws_parent.", QuoteIdent(c.to_field), " = ws_child.", col,
                  ")");
  }
  // sql: {{ this }} is the checked table.
  std::string sql = c.sql;
  for (const std::string token : {"{{ this }}", "{{this}}"}) {
    for (size_t pos; (pos = sql.find(token)) != std::string::npos;)
      sql.replace(pos, token.size(), rel);
  }
  return sql;
}

std::string FailureMessage(const Check& c, int64_t n) {
  const std::string rows = StrCat(n, n == 1 ? " row" : " rows");
  const std::string col = c.columns.empty() ? "" : c.columns[0];
  if (c.type == "not_null") return StrCat(rows, " with NULL in ", Join(c.columns, " or "));
  if (c.type == "unique") {
    return StrCat(rows, " share their (", Join(c.columns, ", "), ") with another row");
  }
  if (c.type == "accepted_values")
    return StrCat(rows, " with ", col, " not in [", Join(c.values, ", "), "]");
  if (c.type == "range") {
    return StrCat(rows, " with ", col, " outside [", c.min.value_or("-inf"), ", ",
                  c.max.value_or("inf"), "]");
  }
  if (c.type == "regex")
    return StrCat(rows, " with ", col, " not matching ", QuoteLiteral(c.pattern));
  if (c.type == "relationships") {
    return StrCat(rows, " with ", col, " not found in ", c.to_table, ".", c.to_field);
  }
  return StrCat("the query returned ", rows);
}

// ---- results history (SQLite, in the catalog database) -------------------------------------

class ResultsDb {
 public:
  static StatusOr<std::unique_ptr<ResultsDb>> Open(const std::string& path) {
    WS_ASSIGN_OR_RETURN(std::unique_ptr<store::Connection> db, store::Connection::Open(path));
    WS_RETURN_IF_ERROR(Annotate(store::Migrate(*db, Schema()), "check_results"));
    return std::unique_ptr<ResultsDb>(new ResultsDb(std::move(db)));
  }

  // The check history table (docs/formats/checks.md). Append migrations; never edit one.
  static const store::Schema& Schema() {
    static const store::Schema* schema = new store::Schema{
        "quality",
        {"CREATE TABLE IF NOT EXISTS check_results ("
         " run_id TEXT NOT NULL, run_at TEXT NOT NULL, context TEXT NOT NULL,"
         " check_name TEXT NOT NULL, table_name TEXT NOT NULL, check_type TEXT NOT NULL,"
         " severity TEXT NOT NULL, status TEXT NOT NULL, failing_rows INTEGER, observed INTEGER,"
         " quarantined INTEGER NOT NULL, message TEXT NOT NULL, seconds REAL NOT NULL);"
         "CREATE INDEX IF NOT EXISTS check_results_by_table ON check_results(table_name, "
         "check_type);"
         "CREATE INDEX IF NOT EXISTS check_results_by_check ON check_results(check_name)"}};
    return *schema;
  }


  // Row counts recorded by the newest `n` volume_anomaly results of `table` that ran.
  StatusOr<std::vector<int64_t>> TrailingCounts(const std::string& table, int n) {
    store::Stmt st(*db_,
                    "SELECT observed FROM check_results WHERE table_name = ? AND check_type = "
                    "'volume_anomaly' AND status != 'error' AND observed IS NOT NULL "
                    "ORDER BY rowid DESC LIMIT ?");
    st.Bind(1, table).Bind(2, n);
    std::vector<int64_t> out;
    while (true) {
      WS_ASSIGN_OR_RETURN(bool row, StepRow(st));
      if (!row) break;
      out.push_back(st.Int(0));
    }
    return out;
  }

  Status Record(const CheckReport& report, const std::string& context) {
    store::Transaction txn(*db_);
    WS_RETURN_IF_ERROR(Annotate(txn.Begin(), "check_results"));
    store::Stmt st(*db_, "INSERT INTO check_results VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)");
    WS_RETURN_IF_ERROR(Annotate(st.status(), "check_results"));
    for (const CheckResult& r : report.results) {
      auto num = [&](int i, int64_t v) {
        if (v < 0)
          st.BindNull(i);
        else
          st.Bind(i, v);
      };
      st.Bind(1, report.run_id);
      st.Bind(2, report.run_at);
      st.Bind(3, context);
      st.Bind(4, r.check);
      st.Bind(5, r.table);
      st.Bind(6, r.type);
      st.Bind(7, std::string(SeverityName(r.severity)));
      st.Bind(8, r.status);
      num(9, r.failing_rows);
      num(10, r.observed);
      st.Bind(11, r.quarantined);
      st.Bind(12, r.message);
      st.Bind(13, r.seconds);
      WS_RETURN_IF_ERROR(Annotate(st.Run(), "check_results"));
    }
    return Annotate(txn.Commit(), "check_results");
  }

  StatusOr<std::vector<CheckResult>> History(const std::string& name, int limit) {
    store::Stmt st(*db_,
                    "SELECT check_name, table_name, check_type, severity, status, "
                    "failing_rows, observed, quarantined, message, seconds FROM check_results "
                    "WHERE check_name = ? ORDER BY rowid DESC LIMIT ?");
    st.Bind(1, name).Bind(2, limit);
    std::vector<CheckResult> out;
    auto num = [&](int i) -> int64_t { return st.IsNull(i) ? -1 : st.Int(i); };
    while (true) {
      WS_ASSIGN_OR_RETURN(bool row, StepRow(st));
      if (!row) break;
      CheckResult r;
      r.check = st.Text(0);
      r.table = st.Text(1);
      r.type = st.Text(2);
      r.severity = st.Text(3) == "warn" ? Severity::kWarn : Severity::kError;
      r.status = st.Text(4);
      r.failing_rows = num(5);
      r.observed = num(6);
      r.quarantined = num(7);
      r.message = st.Text(8);
      r.seconds = st.Double(9);
      out.push_back(std::move(r));
    }
    return out;
  }

 private:
  explicit ResultsDb(std::unique_ptr<store::Connection> db) : db_(std::move(db)) {}
  // Steps `st`, naming the table in an error.
  static StatusOr<bool> StepRow(store::Stmt& st) {
    auto row = st.Step();
    if (!row.ok()) return Annotate(row.status(), "check_results");
    return row;
  }
  std::unique_ptr<store::Connection> db_;
};

StatusOr<std::unique_ptr<ResultsDb>> OpenResults(project::Project& project) {
  WS_RETURN_IF_ERROR(project.catalog().status());  // creates the catalog's folder and database
  return ResultsDb::Open(project.config().catalog_path);
}

// ---- running -------------------------------------------------------------------------------

struct Sample {
  std::string check, table, row_json;
};

// Runs one check. `unavailable`: marts that could not be attached, with why.
CheckResult Evaluate(warehouse::Connection& conn, const Check& c, int sample_rows, ResultsDb& db,
                     const std::map<std::string, std::string>& unavailable,
                     std::vector<Sample>* samples) {
  const auto start = std::chrono::steady_clock::now();
  CheckResult r;
  r.check = c.name;
  r.table = c.table;
  r.type = c.type;
  r.severity = c.severity;
  bool failed = false;
  std::vector<Sample> mine;
  Status s = [&]() -> Status {
    for (const std::string& t : {c.table, c.to_table}) {
      auto it = unavailable.find(t.substr(0, t.find('.')));
      if (!t.empty() && it != unavailable.end()) return absl::UnavailableError(it->second);
    }
    const std::string rel = Relation(c.table);
    if (RowLevel(c.type)) {
      const std::string failing = FailingSql(c);
      WS_ASSIGN_OR_RETURN(auto count,
                          conn.Query(StrCat("SELECT count(*) FROM (", failing, ") AS ws_failing")));
      r.failing_rows = count.GetInt64(0, 0);
      if (r.failing_rows == 0) return absl::OkStatus();
      failed = true;
      r.message = FailureMessage(c, r.failing_rows);
      if (sample_rows > 0) {
        WS_ASSIGN_OR_RETURN(
            auto rows,
            conn.Query(StrCat("SELECT CAST(to_json(ws_row) AS VARCHAR) FROM (SELECT * FROM (",
                              failing, ") AS ws_failing LIMIT ", sample_rows, ") AS ws_row")));
        for (size_t i = 0; i < rows.row_count(); ++i)
          mine.push_back({c.name, c.table, rows.GetString(0, i)});
      }
      return absl::OkStatus();
    }
    if (c.type == "row_count" || c.type == "volume_anomaly") {
      WS_ASSIGN_OR_RETURN(auto count, conn.Query(StrCat("SELECT count(*) FROM ", rel)));
      r.observed = count.GetInt64(0, 0);
      const int64_t n = r.observed;
      if (c.type == "row_count") {
        const int64_t lo = c.min ? std::stoll(*c.min) : 0;
        const int64_t hi = c.max ? std::stoll(*c.max) : INT64_MAX;
        failed = n < lo || n > hi;
        r.message = StrCat(n, n == 1 ? " row" : " rows");
        if (failed) {
          r.message += c.min && c.max ? StrCat("; expected between ", lo, " and ", hi)
                       : c.min        ? StrCat("; expected at least ", lo)
                                      : StrCat("; expected at most ", hi);
        }
        return absl::OkStatus();
      }
      WS_ASSIGN_OR_RETURN(auto history, db.TrailingCounts(c.table, c.runs));
      if (history.empty()) {
        r.message = StrCat(n, " rows; no earlier runs recorded yet");
        return absl::OkStatus();
      }
      double mean = 0;
      for (int64_t h : history) mean += static_cast<double>(h);
      mean /= static_cast<double>(history.size());
      const double off = mean > 0 ? (static_cast<double>(n) - mean) / mean : (n > 0 ? INFINITY : 0);
      failed = std::fabs(off) > c.tolerance;
      r.message =
          fmt::format("{} rows vs mean {:.1f} of the last {} run(s) ({}{:.0f}%; tolerance {:.0f}%)",
                      n, mean, history.size(), off >= 0 ? "+" : "", off * 100, c.tolerance * 100);
      return absl::OkStatus();
    }
    if (c.type == "freshness") {
      const std::string col = QuoteIdent(c.columns[0]);
      WS_ASSIGN_OR_RETURN(auto res, conn.Query(StrCat("SELECT epoch_us(max(CAST(", col,
                                                      " AS TIMESTAMP))) FROM ", rel)));
      if (res.IsNull(0, 0)) {
        failed = true;
        r.message = StrCat("no values in ", c.columns[0]);
        return absl::OkStatus();
      }
      const int64_t newest = res.GetInt64(0, 0);
      const double age = static_cast<double>(NowMicros() - newest) / 1e6;
      failed = age > c.max_age_seconds;
      r.message = StrCat("newest ", c.columns[0], " is ", IsoUtc(newest, false), ", ",
                         HumanSeconds(std::max(0.0, age)), " old (allowed ",
                         HumanSeconds(c.max_age_seconds), ")");
      return absl::OkStatus();
    }
    // schema
    WS_ASSIGN_OR_RETURN(auto res, conn.Query(StrCat("DESCRIBE SELECT * FROM ", rel)));
    std::map<std::string, std::string> actual;
    std::vector<std::string> order;
    for (size_t i = 0; i < res.row_count(); ++i) {
      actual[res.GetString(0, i)] = res.GetString(1, i);
      order.push_back(res.GetString(0, i));
    }
    std::vector<std::string> problems;
    std::set<std::string> expected;
    for (const auto& [name, type] : c.schema) {
      expected.insert(name);
      auto it = actual.find(name);
      if (it == actual.end()) {
        problems.push_back(StrCat("missing column ", name));
      } else if (!type.empty() && !TypeMatches(type, it->second)) {
        problems.push_back(StrCat(name, " is ", it->second, ", expected ", type));
      }
    }
    if (c.schema_exact) {
      for (const auto& name : order) {
        if (!expected.contains(name) && !name.starts_with("_ws_") && name != "ingest_date") {
          problems.push_back(StrCat("unexpected column ", name));
        }
      }
    }
    failed = !problems.empty();
    r.message = Join(problems, "; ");
    return absl::OkStatus();
  }();
  if (!s.ok()) {
    r.status = "error";
    r.message = std::string(MessageOf(s));
    r.failing_rows = -1;
  } else {
    r.status = !failed ? "pass" : c.severity == Severity::kWarn ? "warn" : "fail";
    for (auto& m : mine) samples->push_back(std::move(m));
    r.quarantined = static_cast<int64_t>(mine.size());
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

// Appends the samples to quality.quarantine in one catalog commit.
Status WriteQuarantine(project::Project& project, const CheckReport& report, int64_t run_at,
                       const std::vector<Sample>& samples) {
  WS_ASSIGN_OR_RETURN(lake::Catalog * catalog, project.catalog());
  WS_ASSIGN_OR_RETURN(int64_t load_id, catalog->BeginLoad(StrCat("quality ", report.run_id)));
  std::vector<lake::DataFile> files;
  Status s = [&]() -> Status {
    WS_ASSIGN_OR_RETURN(auto writer, lake::LakeWriter::Create(&project.storage(), 1));
    TableBatch b;
    b.table = std::string(kQuarantineTable);
    b.arena = std::make_shared<StringArena>();
    b.columns = {{"check_name", ColumnType::kVarchar},
                 {"table_name", ColumnType::kVarchar},
                 {"run_id", ColumnType::kVarchar},
                 {"run_at", ColumnType::kTimestamp},
                 {"row_json", ColumnType::kVarchar}};
    b.data.resize(b.columns.size());
    b.num_rows = samples.size();
    for (const Sample& x : samples) {
      for (auto [col, text] : {std::pair{0, &x.check}, std::pair{1, &x.table},
                               std::pair{2, &report.run_id}, std::pair{4, &x.row_json}}) {
        b.data[col].strings.push_back(b.arena->Copy(*text));
        b.data[col].valid.push_back(1);
      }
      b.data[3].slots.push_back(static_cast<uint64_t>(run_at));
      b.data[3].valid.push_back(1);
    }
    WS_ASSIGN_OR_RETURN(files, writer->Write(b, std::string(lake::kIngestDatePartition), TodayUtc(),
                                             fmt::format("quality-{:06d}", load_id)));
    lake::CommitRequest commit;
    commit.operation = "quality";
    commit.load_id = load_id;
    commit.summary = nlohmann::json{{"run_id", report.run_id},
                                    {"rows", {{std::string(kQuarantineTable), samples.size()}}}}
                         .dump();
    commit.tables.push_back({std::string(kQuarantineTable), "", b.columns,
                             std::string(lake::kIngestDatePartition), "", ""});
    commit.added = files;
    WS_ASSIGN_OR_RETURN(int64_t snapshot, catalog->Commit(commit));
    // A data change like any load's: in the audit log (audit/audit_log.h).
    return audit::AuditDataChange(
        project.root(), load_id, snapshot,
        {{std::string(kQuarantineTable), static_cast<int64_t>(samples.size())}}, absl::OkStatus());
  }();
  if (!s.ok()) {
    for (const auto& f : files) project.storage().Delete(f.key).IgnoreError();
  }
  catalog
      ->FinishLoad(load_id, s.ok() ? "committed" : "failed",
                   s.ok() ? "" : std::string(MessageOf(s)))
      .IgnoreError();
  return s;
}

StatusOr<CheckReport> Run(project::Project& project, warehouse::Connection& conn,
                          const std::vector<Check>& checks, const CheckSelection& options,
                          const std::map<std::string, std::string>& unavailable) {
  WS_ASSIGN_OR_RETURN(auto db, OpenResults(project));
  CheckReport report;
  report.run_id = NewId("checks");
  const int64_t run_at = NowMicros();
  report.run_at = IsoUtc(run_at);
  std::vector<Sample> samples;
  for (const Check& c : checks) {
    report.results.push_back(Evaluate(conn, c, options.sample_rows, *db, unavailable, &samples));
    const CheckResult& r = report.results.back();
    if (r.status != "pass") {
      LogInfo("check did not pass", {{"run_id", report.run_id},
                                     {"check", r.check},
                                     {"table", r.table},
                                     {"status", r.status},
                                     {"message", r.message}});
    }
  }
  if (!samples.empty()) {
    Status q = WriteQuarantine(project, report, run_at, samples);
    if (!q.ok()) {
      LogWarn("failing rows were not quarantined",
              {{"run_id", report.run_id}, {"error", std::string(MessageOf(q))}});
      for (auto& r : report.results) {
        if (r.quarantined > 0) {
          r.quarantined = 0;
          r.message += StrCat(" (not quarantined: ", MessageOf(q), ")");
        }
      }
    }
  }
  WS_RETURN_IF_ERROR(Annotate(db->Record(report, options.context), "recording check results"));
  for (const CheckResult& r : report.results) {  // watershed_checks_{passed,failed}_total
    const metrics::MetricLabels labels = {{"table", r.table}, {"check", r.check}};
    if (r.status == "pass") {
      metrics::GetCounter("watershed_checks_passed_total", labels).Inc(1);
    } else {
      metrics::GetCounter("watershed_checks_failed_total", labels).Inc(1);
    }
  }
  observe::FlushMetrics(project).IgnoreError();
  return report;
}

}  // namespace

std::string_view SeverityName(Severity s) { return s == Severity::kWarn ? "warn" : "error"; }

StatusOr<std::vector<Check>> ParseChecks(const YAML::Node& node) {
  std::vector<Check> out;
  if (!node || node.IsNull()) return out;
  std::string where = "watershed.yml: checks";
  try {
    if (!node.IsMap()) {
      return absl::InvalidArgumentError(
          "watershed.yml: checks: must map table names to lists of checks "
          "(checks: {crunchbase.organizations: [{not_null: uuid}]})");
    }
    std::set<std::string> names;
    for (const auto& kv : node) {
      const std::string table = kv.first.as<std::string>();
      where = StrCat("watershed.yml: checks.", table);
      const size_t dot = table.find('.');
      if (dot == std::string::npos || dot == 0 || dot + 1 == table.size()) {
        return absl::InvalidArgumentError(
            StrCat(where, ": '", table,
                   "' is not a table name (ns.table for the lake, mart.model for marts)"));
      }
      if (!kv.second.IsSequence()) {
        return absl::InvalidArgumentError(
            StrCat(where, ": must be a list of checks ([{not_null: id}, ...])"));
      }
      for (size_t i = 0; i < kv.second.size(); ++i) {
        Parser p(table, i, kv.second[i]);
        where = p.where();
        WS_ASSIGN_OR_RETURN(Check c, p.Parse());
        if (!names.insert(c.name).second) {
          return absl::InvalidArgumentError(StrCat(p.where(), ": a check named '", c.name,
                                                   "' already exists; give this one a name:"));
        }
        out.push_back(std::move(c));
      }
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(StrCat(where, ": ", e.msg));
  }
  return out;
}

StatusOr<std::vector<Check>> ProjectChecks(const project::Project& project) {
  return ParseChecks(project.config().raw["checks"]);
}

std::vector<Check> Select(const std::vector<Check>& checks, const std::string& selection) {
  std::vector<Check> out;
  for (const Check& c : checks) {
    if (selection.empty() || selection == "all" || c.table == selection ||
        c.table.starts_with(selection + ".")) {
      out.push_back(c);
    }
  }
  return out;
}

bool CheckReport::blocking() const {
  return std::any_of(results.begin(), results.end(),
                     [](const CheckResult& r) { return r.blocking(); });
}

std::string CheckReport::Summary() const {
  int pass = 0, warn = 0, fail = 0, error = 0;
  std::vector<std::string> blocking;
  for (const CheckResult& r : results) {
    pass += r.status == "pass";
    warn += r.status == "warn";
    fail += r.status == "fail";
    error += r.status == "error";
    if (r.blocking()) blocking.push_back(r.check);
  }
  std::string s =
      StrCat(results.size(), results.size() == 1 ? " check: " : " checks: ", pass, " passed, ",
             warn, " warned, ", fail, " failed, ", error, " could not run");
  if (!blocking.empty()) s += StrCat("; blocking (severity error): ", Join(blocking, ", "));
  return s;
}

StatusOr<CheckReport> RunChecksOn(project::Project& project, warehouse::Connection& conn,
                                  const std::vector<Check>& checks, const CheckSelection& options) {
  return Run(project, conn, checks, options, {});
}

StatusOr<CheckReport> RunChecks(project::Project& project, const CheckSelection& selection) {
  WS_ASSIGN_OR_RETURN(auto all, ProjectChecks(project));
  std::vector<Check> chosen = Select(all, selection.table);
  if (chosen.empty()) {
    if (all.empty()) {
      return absl::NotFoundError(
          "no checks declared: add a checks: section to watershed.yml (docs/formats/checks.md)");
    }
    std::set<std::string> tables;
    for (const Check& c : all) tables.insert(c.table);
    return absl::NotFoundError(
        StrCat("no checks declared for '", selection.table, "' (tables with checks: ",
               Join(std::vector<std::string>(tables.begin(), tables.end()), ", "), ")"));
  }
  WS_ASSIGN_OR_RETURN(auto db, warehouse::Database::Open(""));
  WS_ASSIGN_OR_RETURN(auto conn, db->Connect());
  WS_ASSIGN_OR_RETURN(lake::Catalog * catalog, project.catalog());
  WS_ASSIGN_OR_RETURN(int64_t snapshot, catalog->LatestSnapshot());
  if (snapshot > 0) {
    WS_RETURN_IF_ERROR(lake::AttachLakeViews(*conn, *catalog, project.storage(), snapshot, ""));
  }
  // DuckDB marts, read-only; one that cannot be attached (a build holds it) fails only its checks.
  std::map<std::string, std::string> unavailable;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(project.root()) / "marts", ec)) {
    if (!e.is_regular_file() || e.path().extension() != ".duckdb") continue;
    const std::string mart = e.path().stem().string();
    Status s = conn->Execute(StrCat("ATTACH ", QuoteLiteral(e.path().string()), " AS ",
                                    QuoteIdent(mart), " (READ_ONLY)"));
    if (!s.ok()) unavailable[mart] = StrCat("mart ", mart, " cannot be opened: ", MessageOf(s));
  }
  return Run(project, *conn, chosen, selection, unavailable);
}

Status PrintReport(const CheckReport& report, const std::string& format, std::ostream& out) {
  if (format == "json") {
    nlohmann::json results = nlohmann::json::array();
    for (const CheckResult& r : report.results) {
      results.push_back(
          {{"table", r.table},
           {"check", r.check},
           {"type", r.type},
           {"severity", std::string(SeverityName(r.severity))},
           {"status", r.status},
           {"failing_rows", r.failing_rows < 0 ? nlohmann::json() : nlohmann::json(r.failing_rows)},
           {"observed", r.observed < 0 ? nlohmann::json() : nlohmann::json(r.observed)},
           {"quarantined", r.quarantined},
           {"message", r.message},
           {"seconds", r.seconds}});
    }
    out << nlohmann::json{{"run_id", report.run_id},
                          {"run_at", report.run_at},
                          {"results", results},
                          {"blocking", report.blocking()},
                          {"summary", report.Summary()}}
               .dump(2)
        << "\n";
    return absl::OkStatus();
  }
  if (format != "table") {
    return absl::InvalidArgumentError(StrCat("--format ", format, ": use table or json"));
  }
  std::vector<std::vector<std::string>> rows = {
      {"table", "check", "severity", "status", "failing rows", "message"}};
  for (const CheckResult& r : report.results) {
    // One line per check: DuckDB's caret diagram dropped, other line breaks as spaces.
    std::string message = r.message.substr(0, r.message.find("\n\nLINE "));
    std::replace(message.begin(), message.end(), '\n', ' ');
    rows.push_back({r.table, r.check, std::string(SeverityName(r.severity)), r.status,
                    r.failing_rows < 0 ? "-" : std::to_string(r.failing_rows), message});
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (size_t k = 0; k < rows.size(); ++k) {
    std::string line;
    for (size_t i = 0; i < rows[k].size(); ++i) {
      const std::string& cell = rows[k][i];
      const std::string pad(width[i] - cell.size(), ' ');
      if (i == 4)
        line += pad + cell;  // numbers right-aligned
      else
        line += i + 1 == rows[k].size() ? cell : cell + pad;
      if (i + 1 < rows[k].size()) line += "  ";
    }
    out << line << "\n";
    if (k == 0) {
      std::string rule;
      for (size_t i = 0; i < width.size(); ++i)
        rule += std::string(width[i], '-') + (i + 1 < width.size() ? "  " : "");
      out << rule << "\n";
    }
  }
  out << report.Summary() << "\n";
  return absl::OkStatus();
}

Status CheckCommand(project::Project& project, const CheckCommandOptions& options,
                    std::ostream& out) {
  if (options.all && !options.table.empty() && options.table != "all") {
    return absl::InvalidArgumentError("give a TABLE or --all, not both");
  }
  if (options.sample_rows < 0) return absl::InvalidArgumentError("--sample must be >= 0");
  if (options.format != "table" && options.format != "json") {
    return absl::InvalidArgumentError(StrCat("--format ", options.format, ": use table or json"));
  }
  CheckSelection sel;
  sel.table = options.all ? "" : options.table;
  sel.sample_rows = options.sample_rows;
  sel.context = "check";
  WS_ASSIGN_OR_RETURN(CheckReport report, RunChecks(project, sel));
  WS_RETURN_IF_ERROR(PrintReport(report, options.format, out));
  if (report.blocking()) return absl::FailedPreconditionError(report.Summary());
  return absl::OkStatus();
}

StatusOr<std::vector<CheckResult>> History(const project::Project& project,
                                           const std::string& check_name, int limit) {
  std::error_code ec;
  fs::create_directories(fs::path(project.config().catalog_path).parent_path(), ec);
  WS_ASSIGN_OR_RETURN(auto db, ResultsDb::Open(project.config().catalog_path));
  return db->History(check_name, limit);
}

}  // namespace watershed::quality
