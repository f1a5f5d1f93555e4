// sources/files/limits.cc — see limits.h.
#include "watershed/sources/files/limits.h"

#include <algorithm>
#include <cmath>
#include <string_view>
#include <tuple>

namespace watershed::sources {
namespace {

Status SetMiB(std::string_view key, double mb, uint64_t* out) {
  if (!(mb >= 0) || !std::isfinite(mb)) {
    return absl::InvalidArgumentError(
        StrCat(LimitSettingName(key), " must be a number >= 0 (0 = unlimited), got ", mb));
  }
  *out = static_cast<uint64_t>(mb * static_cast<double>(kMiB));
  if (mb > 0 && *out == 0) *out = 1;
  return Status();
}

}  // namespace

std::string LimitSettingName(std::string_view key) {
  std::string flag(key);
  std::replace(flag.begin(), flag.end(), '_', '-');
  return StrCat("limits.", key, " (--", flag, ")");
}

Status ApplyLimitsConfig(const YAML::Node& node, const std::string& source, InputLimits* limits) {
  if (!node || node.IsNull()) return Status();
  if (!node.IsMap()) {
    return absl::InvalidArgumentError(
        StrCat(source, ": limits: must be a map, e.g. limits: {max_record_mb: 64}"));
  }
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>("");
    double value = 0;
    try {
      value = kv.second.as<double>();
    } catch (const YAML::Exception&) {
      return absl::InvalidArgumentError(
          StrCat(source, ":", kv.second.Mark().line + 1, ": limits.", key, " must be a number"));
    }
    Status s;
    if (key == "max_record_mb") {
      s = SetMiB(key, value, &limits->max_record_bytes);
    } else if (key == "max_field_mb") {
      s = SetMiB(key, value, &limits->max_field_bytes);
    } else if (key == "max_decompressed_mb") {
      s = SetMiB(key, value, &limits->max_decompressed_bytes);
    } else if (key == "max_columns" || key == "max_depth") {
      if (value < 0 || value != std::floor(value)) {
        s = absl::InvalidArgumentError(
            StrCat(LimitSettingName(key), " must be a whole number >= 0, got ", value));
      }
      (key == "max_columns" ? limits->max_columns : limits->max_depth) =
          static_cast<uint64_t>(value);
    } else if (key == "max_decompression_ratio") {
      if (!(value >= 0)) {
        s = absl::InvalidArgumentError(
            StrCat(LimitSettingName(key), " must be >= 0 (0 = unlimited)"));
      }
      limits->max_decompression_ratio = value;
    } else {
      s = absl::InvalidArgumentError(
          StrCat("unknown setting limits.", key,
                 " (valid: max_record_mb, max_field_mb, max_columns, max_depth, max_decompressed_mb, "
                 "max_decompression_ratio)"));
    }
    if (!s.ok()) return absl::InvalidArgumentError(StrCat(source, ": ", MessageOf(s)));
  }
  return Status();
}

Status ApplyLimitOverrides(const LimitOverrides& o, InputLimits* limits) {
  if (o.max_record_mb)
    WS_RETURN_IF_ERROR(SetMiB("max_record_mb", *o.max_record_mb, &limits->max_record_bytes));
  if (o.max_field_mb)
    WS_RETURN_IF_ERROR(SetMiB("max_field_mb", *o.max_field_mb, &limits->max_field_bytes));
  if (o.max_decompressed_mb) {
    WS_RETURN_IF_ERROR(
        SetMiB("max_decompressed_mb", *o.max_decompressed_mb, &limits->max_decompressed_bytes));
  }
  for (auto [key, value, out] : {std::tuple{"max_columns", o.max_columns, &limits->max_columns},
                                  std::tuple{"max_depth", o.max_depth, &limits->max_depth}}) {
    if (!value) continue;
    if (*value < 0) {
      return absl::InvalidArgumentError(
          StrCat(LimitSettingName(key), " must be >= 0 (0 = unlimited)"));
    }
    *out = static_cast<uint64_t>(*value);
  }
  if (o.max_decompression_ratio) {
    if (!(*o.max_decompression_ratio >= 0)) {
      return absl::InvalidArgumentError(
          StrCat(LimitSettingName("max_decompression_ratio"), " must be >= 0 (0 = unlimited)"));
    }
    limits->max_decompression_ratio = *o.max_decompression_ratio;
  }
  return Status();
}

}  // namespace watershed::sources
