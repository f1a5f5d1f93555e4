// sources/files/limits.h — the input limits of a file load: how large one record, one field, one
// table's column list and one file's decompressed data may grow.
//
// Owns: the limits, their defaults (docs/formats/load.md, README "Using it"), and reading them
// from watershed.yml's `limits:` section. The readers (record_reader.h) and decoders (input.h)
// enforce them; the load path (load/loader.h) resolves defaults < watershed.yml < flags.
// Does not belong here: enforcement (the readers), the normalizer's own JSON column and nesting
// limits (normalize/).
// Thread safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "watershed/base/status.h"
#include "yaml-cpp/yaml.h"

namespace watershed::sources {

inline constexpr uint64_t kMiB = uint64_t{1} << 20;

// Every limit: 0 means unlimited.
struct InputLimits {
  // One record (an NDJSON line, a JSON value, a CSV row), decompressed. Over it: a bad record
  // (quarantined when --max-bad allows, keeping its first bytes), skipped without buffering it.
  uint64_t max_record_bytes = 128 * kMiB;
  // One field (a JSON string or scalar, a CSV field). Over it: a bad record.
  uint64_t max_field_bytes = 64 * kMiB;
  // Columns of a CSV file (its header): over it the file fails (the header is the schema).
  // Also the data columns plus child tables one table may get from JSON records
  // (normalize/normalizer.h): a record that would pass it is bad.
  uint64_t max_columns = 1000;
  // How deep a JSON record may nest objects and arrays. Over it: a bad record.
  uint64_t max_depth = 32;
  // Decompressed bytes of one file. Over it: the file stops with an error.
  uint64_t max_decompressed_bytes = 64 * 1024 * kMiB;
  // Decompressed / compressed bytes of one file, checked once more than
  // kRatioCheckAfterBytes came out (small files never trip it). Over it: the file stops.
  double max_decompression_ratio = 200;
};

// The ratio is checked only past this much decompressed output.
inline constexpr uint64_t kRatioCheckAfterBytes = 64 * kMiB;

// Flag values, each overriding watershed.yml when set. Sizes in MiB (fractions allowed).
struct LimitOverrides {
  std::optional<double> max_record_mb;
  std::optional<double> max_field_mb;
  std::optional<int64_t> max_columns;
  std::optional<int64_t> max_depth;
  std::optional<double> max_decompressed_mb;
  std::optional<double> max_decompression_ratio;
};

// Applies watershed.yml's `limits:` map (keys max_record_mb, max_field_mb, max_columns,
// max_depth, max_decompressed_mb, max_decompression_ratio; `source` names the file in errors) onto
// *limits. An unknown key or a negative / non-numeric value is kInvalidArgument.
Status ApplyLimitsConfig(const YAML::Node& node, const std::string& source, InputLimits* limits);
// Applies the set flags onto *limits; a negative value is kInvalidArgument.
Status ApplyLimitOverrides(const LimitOverrides& overrides, InputLimits* limits);

// "limits.max_record_mb (--max-record-mb)": how errors name the setting to raise.
std::string LimitSettingName(std::string_view key);

}  // namespace watershed::sources
