// quality/kinds/regex.cc — regex: rows whose column (as text) does not match the pattern as a
// whole; NULLs pass. See kinds.h.
#include "watershed/base/strings.h"
#include "watershed/quality/kinds/kinds.h"

namespace watershed::quality::kinds {
namespace {

using warehouse::QuoteLiteral;

class RegexKind : public RowLevelKind {
 public:
  std::string_view name() const override { return "regex"; }
  Status Parse(const YAML::Node& spec, const SpecReader& in, Check& c) const override {
    WS_RETURN_IF_ERROR(in.Known(spec, {"column", "pattern"}));
    WS_ASSIGN_OR_RETURN(std::string col, in.Column(spec));
    c.columns = {col};
    if (!spec["pattern"] || !spec["pattern"].IsScalar()) {
      return in.Bad("needs pattern: (a regular expression)");
    }
    c.pattern = spec["pattern"].as<std::string>();
    return absl::OkStatus();
  }
  std::string FailingSql(const Check& c) const override {
    const std::string col = warehouse::QuoteIdent(c.columns[0]);
    return StrCat("SELECT * FROM ", Relation(c.table), " WHERE ", col,
                  " IS NOT NULL AND NOT regexp_full_match(CAST(", col, " AS VARCHAR), ",
                  QuoteLiteral(c.pattern), ")");
  }
  std::string FailureMessage(const Check& c, int64_t n) const override {
    return StrCat(Rows(n), " with ", c.columns[0], " not matching ", QuoteLiteral(c.pattern));
  }
};

}  // namespace

std::unique_ptr<CheckKind> Regex() { return std::make_unique<RegexKind>(); }

}  // namespace watershed::quality::kinds
