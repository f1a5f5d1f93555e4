// quality/kinds/accepted_values.cc — accepted_values: rows whose column (as text) is not one of
// the listed values; NULLs pass. See kinds.h.
#include "watershed/base/strings.h"
#include "watershed/quality/kinds/kinds.h"

namespace watershed::quality::kinds {
namespace {

using warehouse::QuoteIdent;
using warehouse::QuoteLiteral;

class AcceptedValuesKind : public RowLevelKind {
 public:
  std::string_view name() const override { return "accepted_values"; }
  Status Parse(const YAML::Node& spec, const SpecReader& in, Check& c) const override {
    WS_RETURN_IF_ERROR(in.Known(spec, {"column", "values"}));
    WS_ASSIGN_OR_RETURN(std::string col, in.Column(spec));
    c.columns = {col};
    if (!spec["values"] || !spec["values"].IsSequence() || spec["values"].size() == 0) {
      return in.Bad("needs values: [a, b, ...] (at least one)");
    }
    for (const auto& v : spec["values"]) {
      if (!v.IsScalar()) return in.Bad("values must be scalars");
      c.values.push_back(v.as<std::string>());
    }
    return absl::OkStatus();
  }
  std::string FailingSql(const Check& c) const override {
    const std::string col = QuoteIdent(c.columns[0]);
    std::vector<std::string> lits;
    for (const auto& v : c.values) lits.push_back(QuoteLiteral(v));
    return StrCat("SELECT * FROM ", Relation(c.table), " WHERE ", col, " IS NOT NULL AND CAST(",
                  col, " AS VARCHAR) NOT IN (", Join(lits, ", "), ")");
  }
  std::string FailureMessage(const Check& c, int64_t n) const override {
    return StrCat(Rows(n), " with ", c.columns[0], " not in [", Join(c.values, ", "), "]");
  }
};

}  // namespace

std::unique_ptr<CheckKind> AcceptedValues() { return std::make_unique<AcceptedValuesKind>(); }

}  // namespace watershed::quality::kinds
