// quality/kinds/range.cc — range: rows whose column is below min or above max (numbers, dates or
// text; either bound may be left out). See kinds.h.
#include <cstdlib>

#include "watershed/base/strings.h"
#include "watershed/quality/kinds/kinds.h"

namespace watershed::quality::kinds {
namespace {

bool IsNumber(const std::string& s) {
  if (s.empty()) return false;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return *end == '\0';
}

class RangeKind : public RowLevelKind {
 public:
  std::string_view name() const override { return "range"; }
  Status Parse(const YAML::Node& spec, const SpecReader& in, Check& c) const override {
    WS_RETURN_IF_ERROR(in.Known(spec, {"column", "min", "max"}));
    WS_ASSIGN_OR_RETURN(std::string col, in.Column(spec));
    c.columns = {col};
    for (const char* bound : {"min", "max"}) {
      if (!spec[bound]) continue;
      if (!spec[bound].IsScalar()) return in.Bad(StrCat(bound, " must be a number, date or text"));
      const std::string v = spec[bound].as<std::string>();
      (bound[1] == 'i' ? c.min : c.max) = IsNumber(v) ? v : warehouse::QuoteLiteral(v);
    }
    if (!c.min && !c.max) return in.Bad("needs min:, max: or both");
    return absl::OkStatus();
  }
  std::string FailingSql(const Check& c) const override {
    const std::string col = warehouse::QuoteIdent(c.columns[0]);
    std::vector<std::string> out;
    if (c.min) out.push_back(StrCat(col, " < ", *c.min));
    if (c.max) out.push_back(StrCat(col, " > ", *c.max));
    return StrCat("SELECT * FROM ", Relation(c.table), " WHERE ", Join(out, " OR "));
  }
  std::string FailureMessage(const Check& c, int64_t n) const override {
    return StrCat(Rows(n), " with ", c.columns[0], " outside [", c.min.value_or("-inf"), ", ",
                  c.max.value_or("inf"), "]");
  }
};

}  // namespace

std::unique_ptr<CheckKind> Range() { return std::make_unique<RangeKind>(); }

}  // namespace watershed::quality::kinds
