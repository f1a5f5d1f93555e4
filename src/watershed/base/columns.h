// base/columns.h — the column types of Watershed's tables and a columnar batch of rows.
//
// Owns: ColumnType (the seven logical types a lake column can have), the widening rules between
// them, and TableBatch, the hand-off unit from the normalizer to the lake writer (columns of
// fixed 8-byte slots or string views, a validity byte per row, strings in a StringArena).
// Does not own: how a batch is produced (normalize/) or written (lake/, warehouse/duckdb/).
// Thread safety: plain values; a batch is used by one thread at a time.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "watershed/base/status.h"

namespace watershed {

// Slot encodings: kBoolean 0/1; kBigint int64; kDouble IEEE bits; kDecimal int64 scaled by
// 10^kDecimalScale (DECIMAL(18,4)); kDate days since 1970-01-01; kTimestamp microseconds since
// 1970-01-01 UTC. kVarchar uses string views instead of slots.
enum class ColumnType : uint8_t { kBoolean, kBigint, kDouble, kDecimal, kDate, kTimestamp, kVarchar };

inline constexpr int kDecimalScale = 4;
inline constexpr int64_t kDecimalFactor = 10000;

// The SQL spelling: BOOLEAN, BIGINT, DOUBLE, DECIMAL(18,4), DATE, TIMESTAMP, VARCHAR.
std::string_view ColumnTypeSql(ColumnType type);
// Short lower-case name used in variant column suffixes and the catalog: "bigint", "varchar", ...
std::string_view ColumnTypeName(ColumnType type);
StatusOr<ColumnType> ParseColumnType(std::string_view name);  // accepts both spellings

// The type both `a` and `b` values fit into without loss, when one exists: bigint<double,
// bigint<decimal, date<timestamp, and anything into varchar is NOT a widening (variant instead).
std::optional<ColumnType> WiderType(ColumnType a, ColumnType b);

struct ColumnSpec {
  std::string name;
  ColumnType type;
  // Where the values come from: the JSON path (from one record of the root table) the
  // normalizer flattened this column from, e.g. "$.identifier.uuid", "$.tags[*]" or
  // "$['Company Name']" (normalize/naming.h). Empty for system columns and columns of other
  // origins. A child table's `_ws_idx` holds the path of its array ("$.categories[*]").
  std::string source = {};
  // Name and type: the source is a description, not part of the physical schema.
  bool operator==(const ColumnSpec& o) const { return name == o.name && type == o.type; }
};

// Append-only storage for string bytes; views into it stay valid until the arena dies.
class StringArena {
 public:
  std::string_view Copy(std::string_view s) {
    if (s.size() > kBlockSize / 4) {
      big_.push_back(std::make_unique<char[]>(s.size()));
      std::memcpy(big_.back().get(), s.data(), s.size());
      bytes_ += s.size();
      return {big_.back().get(), s.size()};
    }
    if (blocks_.empty() || used_ + s.size() > kBlockSize) {
      blocks_.push_back(std::make_unique<char[]>(kBlockSize));
      used_ = 0;
    }
    char* dst = blocks_.back().get() + used_;
    std::memcpy(dst, s.data(), s.size());
    used_ += s.size();
    bytes_ += s.size();
    return {dst, s.size()};
  }
  size_t bytes() const { return bytes_; }

 private:
  static constexpr size_t kBlockSize = 1 << 20;
  std::vector<std::unique_ptr<char[]>> blocks_;
  std::vector<std::unique_ptr<char[]>> big_;
  size_t used_ = 0;
  size_t bytes_ = 0;
};

struct ColumnData {
  std::vector<uint64_t> slots;           // non-varchar types; one per row
  std::vector<std::string_view> strings;  // kVarchar; one per row
  std::vector<uint8_t> valid;             // 1 = value present, 0 = NULL; one per row
};

// Rows of one table: columns[i] describes data[i]; every ColumnData has num_rows entries.
struct TableBatch {
  std::string table;  // "namespace.name", e.g. "crunchbase.organizations__categories"
  std::vector<ColumnSpec> columns;
  std::vector<ColumnData> data;
  size_t num_rows = 0;
  std::shared_ptr<StringArena> arena;  // shared by the batches of one flush
};

// Calendar helpers for the slot encodings.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);
void CivilFromDays(int64_t days, int64_t* y, unsigned* m, unsigned* d);
std::string FormatDate(int64_t days);               // "2026-11-24"
std::string FormatTimestampMicros(int64_t micros);  // "2026-11-24 04:15:00.123456"
// ISO 8601 in UTC: "2026-11-24T04:15:00.123456Z", or "2026-11-24T04:15:00Z" without fraction.
std::string IsoUtc(int64_t micros, bool fraction = true);
int64_t NowMicros();       // the wall clock, microseconds since 1970-01-01 UTC
std::string TodayUtc();    // "2026-11-24"

}  // namespace watershed
