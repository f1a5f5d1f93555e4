// quality/kinds/freshness.cc — freshness: the newest value of a timestamp column must be at most
// max_age old (a duration as base/clock.h ParseDuration reads it). See kinds.h.
#include <algorithm>

#include "watershed/base/clock.h"
#include "watershed/base/columns.h"
#include "watershed/base/strings.h"
#include "watershed/quality/kinds/kinds.h"

namespace watershed::quality::kinds {
namespace {

std::string HumanSeconds(double s) {
  if (s >= 86400) return fmt::format("{:.1f}d", s / 86400);
  if (s >= 3600) return fmt::format("{:.1f}h", s / 3600);
  if (s >= 60) return fmt::format("{:.1f}m", s / 60);
  return fmt::format("{:.0f}s", s);
}

class FreshnessKind : public CheckKind {
 public:
  std::string_view name() const override { return "freshness"; }
  Status Parse(const YAML::Node& spec, const SpecReader& in, Check& c) const override {
    WS_RETURN_IF_ERROR(in.Known(spec, {"column", "max_age"}));
    WS_ASSIGN_OR_RETURN(std::string col, in.Column(spec));
    c.columns = {col};
    if (!spec["max_age"] || !spec["max_age"].IsScalar()) {
      return in.Bad("needs max_age: (e.g. 36h, 2d)");
    }
    const std::string text = spec["max_age"].as<std::string>();
    auto age = ParseDuration(text);
    if (!age.ok()) {
      return in.Bad(StrCat("max_age '", text, "' is not a duration (examples: 30m, 36h, 2d, 1w)"));
    }
    c.max_age_seconds = absl::ToDoubleSeconds(*age);
    return absl::OkStatus();
  }
  StatusOr<CheckOutcome> Evaluate(const Check& c, EvalContext& ctx) const override {
    CheckOutcome out;
    const std::string col = warehouse::QuoteIdent(c.columns[0]);
    WS_ASSIGN_OR_RETURN(
        auto res, ctx.conn.Query(StrCat("SELECT epoch_us(max(CAST(", col, " AS TIMESTAMP))) FROM ",
                                        Relation(c.table))));
    if (res.IsNull(0, 0)) {
      out.failed = true;
      out.message = StrCat("no values in ", c.columns[0]);
      return out;
    }
    const int64_t newest = res.GetInt64(0, 0);
    const double age = static_cast<double>(NowMicros() - newest) / 1e6;
    out.failed = age > c.max_age_seconds;
    out.message = StrCat("newest ", c.columns[0], " is ", IsoUtc(newest, false), ", ",
                         HumanSeconds(std::max(0.0, age)), " old (allowed ",
                         HumanSeconds(c.max_age_seconds), ")");
    return out;
  }
};

}  // namespace

std::unique_ptr<CheckKind> Freshness() { return std::make_unique<FreshnessKind>(); }

}  // namespace watershed::quality::kinds
