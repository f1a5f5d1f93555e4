// quality/kinds/row_count.cc — row_count: the table's rows must lie within [min, max]. See
// kinds.h.
#include <cstdint>
#include <cstdlib>

#include "watershed/base/strings.h"
#include "watershed/quality/kinds/kinds.h"

namespace watershed::quality::kinds {
namespace {

class RowCountKind : public CheckKind {
 public:
  std::string_view name() const override { return "row_count"; }
  Status Parse(const YAML::Node& spec, const SpecReader& in, Check& c) const override {
    if (!spec.IsMap()) return in.Bad("needs {min: N, max: N} (either or both)");
    WS_RETURN_IF_ERROR(in.Known(spec, {"min", "max"}));
    for (const char* bound : {"min", "max"}) {
      if (!spec[bound]) continue;
      const std::string v = spec[bound].as<std::string>();
      char* end = nullptr;
      const long long n = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < 0) {
        return in.Bad(StrCat(bound, " '", v, "' is not a whole number >= 0"));
      }
      (bound[1] == 'i' ? c.min : c.max) = std::to_string(n);
    }
    if (!c.min && !c.max) return in.Bad("needs min:, max: or both");
    return absl::OkStatus();
  }
  StatusOr<CheckOutcome> Evaluate(const Check& c, EvalContext& ctx) const override {
    CheckOutcome out;
    WS_ASSIGN_OR_RETURN(auto count,
                        ctx.conn.Query(StrCat("SELECT count(*) FROM ", Relation(c.table))));
    const int64_t n = out.observed = count.GetInt64(0, 0);
    const int64_t lo = c.min ? std::stoll(*c.min) : 0;
    const int64_t hi = c.max ? std::stoll(*c.max) : INT64_MAX;
    out.failed = n < lo || n > hi;
    out.message = Rows(n);
    if (out.failed) {
      out.message += c.min && c.max ? StrCat("; expected between ", lo, " and ", hi)
                     : c.min        ? StrCat("; expected at least ", lo)
                                    : StrCat("; expected at most ", hi);
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<CheckKind> RowCount() { return std::make_unique<RowCountKind>(); }

}  // namespace watershed::quality::kinds
