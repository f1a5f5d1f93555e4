// quality/kinds/not_null.cc — not_null: rows with NULL in any of the columns. See kinds.h.
#include "watershed/base/strings.h"
#include "watershed/quality/kinds/kinds.h"

namespace watershed::quality::kinds {
namespace {

class NotNullKind : public RowLevelKind {
 public:
  std::string_view name() const override { return "not_null"; }
  Status Parse(const YAML::Node& spec, const SpecReader& in, Check& c) const override {
    WS_ASSIGN_OR_RETURN(c.columns, in.Names(spec, "columns"));
    return absl::OkStatus();
  }
  std::string FailingSql(const Check& c) const override {
    std::vector<std::string> cols;
    for (const auto& col : c.columns) cols.push_back(warehouse::QuoteIdent(col));
    return StrCat("SELECT * FROM ", Relation(c.table), " WHERE ", Join(cols, " IS NULL OR "),
                  " IS NULL");
  }
  std::string FailureMessage(const Check& c, int64_t n) const override {
    return StrCat(Rows(n), " with NULL in ", Join(c.columns, " or "));
  }
};

}  // namespace

std::unique_ptr<CheckKind> NotNull() { return std::make_unique<NotNullKind>(); }

}  // namespace watershed::quality::kinds
