// quality/kinds/schema.cc — schema: listed columns must exist (with the given type, in DuckDB's
// spelling or a common alias); with exact, no other columns but Watershed's own. See kinds.h.
#include <cctype>
#include <map>
#include <set>

#include "watershed/base/strings.h"
#include "watershed/normalize/naming.h"
#include "watershed/quality/kinds/kinds.h"

namespace watershed::quality::kinds {
namespace {

// The SQL type names DuckDB's DESCRIBE prints, for the spellings people write.
std::string CanonicalType(const std::string& t) {
  std::string out;
  for (char c : t) {
    if (c != ' ' || (!out.empty() && out.back() != ' ')) {
      out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  static const std::map<std::string, std::string>& kAliases = *new std::map<std::string, std::string>{
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

class SchemaKind : public CheckKind {
 public:
  std::string_view name() const override { return "schema"; }
  Status Parse(const YAML::Node& spec, const SpecReader& in, Check& c) const override {
    WS_RETURN_IF_ERROR(in.Known(spec, {"columns", "exact"}));
    const YAML::Node cols = spec.IsMap() ? spec["columns"] : YAML::Node();
    if (cols && cols.IsMap()) {
      for (const auto& kv : cols) {
        c.schema.emplace_back(kv.first.as<std::string>(),
                              kv.second.IsNull() ? "" : kv.second.as<std::string>());
      }
    } else if (cols && cols.IsSequence()) {
      for (const auto& v : cols) c.schema.emplace_back(v.as<std::string>(), "");
    }
    if (c.schema.empty()) return in.Bad("needs columns: {name: TYPE, ...} or columns: [name, ...]");
    if (spec["exact"]) c.schema_exact = spec["exact"].as<bool>();
    return absl::OkStatus();
  }
  StatusOr<CheckOutcome> Evaluate(const Check& c, EvalContext& ctx) const override {
    WS_ASSIGN_OR_RETURN(auto res,
                        ctx.conn.Query(StrCat("DESCRIBE SELECT * FROM ", Relation(c.table))));
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
        if (!expected.contains(name) && !normalize::IsSystemName(name) && name != normalize::kIngestDateColumn) {
          problems.push_back(StrCat("unexpected column ", name));
        }
      }
    }
    CheckOutcome out;
    out.failed = !problems.empty();
    out.message = Join(problems, "; ");
    return out;
  }
};

}  // namespace

std::unique_ptr<CheckKind> Schema() { return std::make_unique<SchemaKind>(); }

}  // namespace watershed::quality::kinds
