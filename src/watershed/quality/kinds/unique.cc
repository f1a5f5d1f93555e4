// quality/kinds/unique.cc — unique: rows sharing their (composite) key with another row; rows
// with a NULL in the key are not compared. See kinds.h.
#include "watershed/base/strings.h"
#include "watershed/quality/kinds/kinds.h"

namespace watershed::quality::kinds {
namespace {

class UniqueKind : public RowLevelKind {
 public:
  std::string_view name() const override { return "unique"; }
  Status Parse(const YAML::Node& spec, const SpecReader& in, Check& c) const override {
    WS_ASSIGN_OR_RETURN(c.columns, in.Names(spec, "columns"));
    return absl::OkStatus();
  }
  std::string FailingSql(const Check& c) const override {
    std::vector<std::string> cols;
    for (const auto& col : c.columns) cols.push_back(warehouse::QuoteIdent(col));
    return StrCat("SELECT * EXCLUDE (_ws_check_n) FROM (SELECT *, count(*) OVER (PARTITION BY ",
                  Join(cols, ", "), ") AS _ws_check_n FROM ", Relation(c.table), " WHERE ",
                  Join(cols, " IS NOT NULL AND "), " IS NOT NULL) WHERE _ws_check_n > 1");
  }
  std::string FailureMessage(const Check& c, int64_t n) const override {
    return StrCat(Rows(n), " share their (", Join(c.columns, ", "), ") with another row");
  }
};

}  // namespace

std::unique_ptr<CheckKind> Unique() { return std::make_unique<UniqueKind>(); }

}  // namespace watershed::quality::kinds
