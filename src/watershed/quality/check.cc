// quality/check.cc — reading checks from watershed.yml; the row-level evaluation. See check.h.
#include "watershed/quality/check.h"

#include <set>

#include "watershed/base/strings.h"
#include "watershed/quality/registry.h"

namespace watershed::quality {
namespace {

using warehouse::QuoteIdent;

// Parses one item of a table's list of checks; `where_out`: where it is declared (for errors
// the YAML library throws).
StatusOr<Check> ParseItem(const std::string& table, size_t index, const YAML::Node& item,
                          std::string* where_out) {
  const int line = item.Mark().line;
  SpecReader in(StrCat("watershed.yml", line >= 0 ? StrCat(":", line + 1) : std::string(),
                       ": checks.", table, "[", index, "]"));
  *where_out = in.where();
  Check c;
  c.table = table;
  if (!item.IsMap()) return in.Bad("a check is a map such as {not_null: column}");
  YAML::Node spec;
  std::string name;
  for (const auto& kv : item) {
    const std::string key = kv.first.as<std::string>();
    if (key == "severity") {
      const std::string s = kv.second.as<std::string>();
      if (s == "warn") {
        c.severity = Severity::kWarn;
      } else if (s == "error") {
        c.severity = Severity::kError;
      } else {
        return in.Bad(StrCat("severity '", s, "' is not warn or error"));
      }
    } else if (key == "name") {
      name = kv.second.as<std::string>();
      if (name.empty()) return in.Bad("name is empty");
    } else if (const CheckKind* kind = FindKind(key)) {
      if (c.kind != nullptr) return in.Bad(StrCat("has two check types, ", c.type, " and ", key));
      c.kind = kind;
      c.type = key;
      spec = kv.second;
    } else {
      return in.Bad(StrCat("unknown key '", key, "' (a check is one of ", KindNames(),
                           ", plus optional name and severity)"));
    }
  }
  if (c.kind == nullptr) return in.Bad(StrCat("no check type (one of ", KindNames(), ")"));
  in.set_where(StrCat(in.where(), " (", c.type, ")"));
  WS_RETURN_IF_ERROR(c.kind->Parse(spec, in, c));
  const std::string model = table.substr(table.find('.') + 1);
  if (!name.empty()) {
    c.name = name;
  } else if (c.kind->needs_name()) {
    return in.Bad(StrCat(
        "a ", c.type, " check needs a name: (it names the check in results and the quarantine)"));
  } else {
    c.name = StrCat(model, "__", c.type);
    if (!c.columns.empty()) c.name += "__" + Join(c.columns, "_");
  }
  return c;
}

}  // namespace

std::string_view SeverityName(Severity s) { return s == Severity::kWarn ? "warn" : "error"; }

std::string Relation(const std::string& table) {
  const size_t dot = table.find('.');
  return StrCat(QuoteIdent(table.substr(0, dot)), ".", QuoteIdent(table.substr(dot + 1)));
}

std::string Rows(int64_t n) { return StrCat(n, n == 1 ? " row" : " rows"); }

// ---- SpecReader -----------------------------------------------------------------------------

Status SpecReader::Bad(const std::string& what) const {
  return absl::InvalidArgumentError(StrCat(where_, ": ", what));
}

StatusOr<std::vector<std::string>> SpecReader::Names(const YAML::Node& n,
                                                     const std::string& what) const {
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

StatusOr<std::string> SpecReader::Column(const YAML::Node& spec) const {
  if (!spec.IsMap() || !spec["column"] || !spec["column"].IsScalar()) {
    return Bad("needs column: (a map such as {column: name, ...})");
  }
  std::string col = spec["column"].as<std::string>();
  if (col.empty()) return Bad("column is empty");
  return col;
}

Status SpecReader::Known(const YAML::Node& spec, const std::set<std::string>& keys) const {
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

// ---- row-level kinds ------------------------------------------------------------------------

std::string RowLevelKind::FailureMessage(const Check&, int64_t rows) const {
  return StrCat("the query returned ", Rows(rows));
}

StatusOr<CheckOutcome> RowLevelKind::Evaluate(const Check& check, EvalContext& ctx) const {
  CheckOutcome out;
  const std::string failing = FailingSql(check);
  WS_ASSIGN_OR_RETURN(auto count,
                      ctx.conn.Query(StrCat("SELECT count(*) FROM (", failing, ") AS ws_failing")));
  out.failing_rows = count.GetInt64(0, 0);
  if (out.failing_rows == 0) return out;
  out.failed = true;
  out.message = FailureMessage(check, out.failing_rows);
  out.failing_sql = failing;
  return out;
}

// ---- the checks: section --------------------------------------------------------------------

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
        WS_ASSIGN_OR_RETURN(Check c, ParseItem(table, i, kv.second[i], &where));
        if (!names.insert(c.name).second) {
          return absl::InvalidArgumentError(StrCat(where, " (", c.type, "): a check named '",
                                                   c.name,
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

}  // namespace watershed::quality
