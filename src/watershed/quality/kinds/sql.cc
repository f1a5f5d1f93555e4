// quality/kinds/sql.cc — sql: a SELECT returning the failing rows, `{{ this }}` standing for the
// checked table; needs a name. See kinds.h.
#include <cctype>

#include "watershed/base/strings.h"
#include "watershed/quality/kinds/kinds.h"

namespace watershed::quality::kinds {
namespace {

class SqlKind : public RowLevelKind {
 public:
  std::string_view name() const override { return "sql"; }
  bool needs_name() const override { return true; }
  Status Parse(const YAML::Node& spec, const SpecReader& in, Check& c) const override {
    if (!spec.IsScalar()) return in.Bad("sql: takes a SELECT returning the failing rows");
    c.sql = spec.as<std::string>();
    while (!c.sql.empty() &&
           (std::isspace(static_cast<unsigned char>(c.sql.back())) || c.sql.back() == ';')) {
      c.sql.pop_back();
    }
    if (c.sql.empty()) return in.Bad("sql is empty");
    return absl::OkStatus();
  }
  std::string FailingSql(const Check& c) const override {
    const std::string rel = Relation(c.table);
    std::string sql = c.sql;
    for (const std::string token : {"{{ this }}", "{{this}}"}) {
      for (size_t pos; (pos = sql.find(token)) != std::string::npos;) {
        sql.replace(pos, token.size(), rel);
      }
    }
    return sql;
  }
  // The default message: "the query returned 3 rows".
};

}  // namespace

std::unique_ptr<CheckKind> Sql() { return std::make_unique<SqlKind>(); }

}  // namespace watershed::quality::kinds
