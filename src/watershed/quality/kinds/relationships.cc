// quality/kinds/relationships.cc — relationships: rows whose column is not found in another
// table's field (a foreign key); NULLs pass. See kinds.h.
#include "watershed/base/strings.h"
#include "watershed/quality/kinds/kinds.h"

namespace watershed::quality::kinds {
namespace {

using warehouse::QuoteIdent;

class RelationshipsKind : public RowLevelKind {
 public:
  std::string_view name() const override { return "relationships"; }
  Status Parse(const YAML::Node& spec, const SpecReader& in, Check& c) const override {
    WS_RETURN_IF_ERROR(in.Known(spec, {"column", "to", "field"}));
    WS_ASSIGN_OR_RETURN(std::string col, in.Column(spec));
    c.columns = {col};
    if (!spec["to"] || !spec["to"].IsScalar()) {
      return in.Bad("needs to: (the table holding the keys)");
    }
    c.to_table = spec["to"].as<std::string>();
    if (c.to_table.find('.') == std::string::npos || c.to_table.front() == '.' ||
        c.to_table.back() == '.') {
      return in.Bad(StrCat("to '", c.to_table, "' is not a table name (ns.table or mart.model)"));
    }
    c.to_field = spec["field"] ? spec["field"].as<std::string>() : col;
    return absl::OkStatus();
  }
  std::string FailingSql(const Check& c) const override {
    const std::string col = QuoteIdent(c.columns[0]);
    return StrCat("SELECT ws_child.* FROM ", Relation(c.table), " AS ws_child WHERE ws_child.", col,
                  " IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ", Relation(c.to_table),
                  " AS ws_parent WHERE ws_parent.", QuoteIdent(c.to_field), " = ws_child.", col,
                  ")");
  }
  std::string FailureMessage(const Check& c, int64_t n) const override {
    return StrCat(Rows(n), " with ", c.columns[0], " not found in ", c.to_table, ".", c.to_field);
  }
};

}  // namespace

std::unique_ptr<CheckKind> Relationships() { return std::make_unique<RelationshipsKind>(); }

}  // namespace watershed::quality::kinds
