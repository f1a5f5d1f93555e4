// quality/kinds/volume_anomaly.cc — volume_anomaly: the table's row count must stay within a
// fraction (tolerance) of the mean of the last `runs` recorded counts (quality/result_store.h).
// See kinds.h.
#include <cmath>

#include "watershed/base/strings.h"
#include "watershed/quality/kinds/kinds.h"
#include "watershed/quality/result_store.h"

namespace watershed::quality::kinds {
namespace {

class VolumeAnomalyKind : public CheckKind {
 public:
  std::string_view name() const override { return "volume_anomaly"; }
  Status Parse(const YAML::Node& spec, const SpecReader& in, Check& c) const override {
    if (spec && !spec.IsNull() && !spec.IsMap()) return in.Bad("takes {runs: N, tolerance: F}");
    WS_RETURN_IF_ERROR(in.Known(spec, {"runs", "tolerance"}));
    if (spec && spec.IsMap() && spec["runs"]) c.runs = spec["runs"].as<int>();
    if (spec && spec.IsMap() && spec["tolerance"]) c.tolerance = spec["tolerance"].as<double>();
    if (c.runs < 1) return in.Bad("runs must be at least 1");
    if (c.tolerance < 0) return in.Bad("tolerance must be >= 0 (a fraction: 0.5 = 50%)");
    return absl::OkStatus();
  }
  StatusOr<CheckOutcome> Evaluate(const Check& c, EvalContext& ctx) const override {
    CheckOutcome out;
    WS_ASSIGN_OR_RETURN(auto count,
                        ctx.conn.Query(StrCat("SELECT count(*) FROM ", Relation(c.table))));
    const int64_t n = out.observed = count.GetInt64(0, 0);
    WS_ASSIGN_OR_RETURN(auto history, ctx.history.TrailingCounts(c.table, c.runs));
    if (history.empty()) {
      out.message = StrCat(n, " rows; no earlier runs recorded yet");
      return out;
    }
    double mean = 0;
    for (int64_t h : history) mean += static_cast<double>(h);
    mean /= static_cast<double>(history.size());
    const double off = mean > 0 ? (static_cast<double>(n) - mean) / mean : (n > 0 ? INFINITY : 0);
    out.failed = std::fabs(off) > c.tolerance;
    out.message =
        fmt::format("{} rows vs mean {:.1f} of the last {} run(s) ({}{:.0f}%; tolerance {:.0f}%)",
                    n, mean, history.size(), off >= 0 ? "+" : "", off * 100, c.tolerance * 100);
    return out;
  }
};

}  // namespace

std::unique_ptr<CheckKind> VolumeAnomaly() { return std::make_unique<VolumeAnomalyKind>(); }

}  // namespace watershed::quality::kinds
