// normalize/normalizer.h — nested JSON (and CSV rows) to relational tables, streaming.
//
// Owns: flattening (nested objects become `parent__child` columns, every key named by the
// convention of naming.h, each column remembering the JSON path it came from so two paths
// never share a column), child tables for arrays
// (`<table>__<field>`, linked by `_ws_id`/`_ws_parent_id`/`_ws_idx`, stamped with
// `_ws_load_id`), type inference, schema evolution (a new field adds a column; a conflicting
// type widens the column or goes to a variant column `<col>__v_<type>`, never dropping a value)
// and the per-table contracts. Rows accumulate in columnar buffers until Flush() hands them out
// as TableBatch values; the caller flushes when buffered_bytes() grows, so memory stays bounded.
// Does not own: reading files (sources/), writing Parquet or the catalog (lake/).
// The names (system columns, paths, child tables) come from naming.h; the conventions are
// specified in docs/formats/normalized-tables.md.
// Thread safety: one Normalizer per thread.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "watershed/base/columns.h"
#include "watershed/base/status.h"
#include "watershed/normalize/naming.h"

namespace watershed::normalize {

// What happens when a record would change a table's schema.
//   kEvolve: new columns are added and types widened (the default);
//   kFreeze: the record is an error (kFailedPrecondition naming the column);
//   kDiscardRow: the record is discarded (also kFailedPrecondition; the caller counts it).
enum class Contract { kEvolve, kFreeze, kDiscardRow };
StatusOr<Contract> ParseContract(std::string_view name);  // "evolve", "freeze", "discard_row"
std::string_view ContractName(Contract c);

struct NormalizerOptions {
  std::string root_table;   // "namespace.name"
  int64_t load_number = 0;  // stamped in _ws_load_id; high bits of every _ws_id
  Contract contract = Contract::kEvolve;
  // A record that would give one table more data columns plus child tables than this, or that
  // nests objects and arrays deeper than max_depth, is bad (kInvalidArgument naming the
  // setting); nothing of it is kept, its new columns neither. 0: unlimited.
  size_t max_columns = 1000;
  size_t max_depth = 32;
};

// A value the caller stamps on a record's root row in a system column (a stream's partition,
// position and arrival time): client data cannot set these, since its keys never normalize to
// a system name.
struct SystemValue {
  std::string_view column;  // kPartitionColumn, kPositionColumn, kArrivedAtColumn, ...
  ColumnType type;          // kVarchar, kBigint, kBoolean or kTimestamp
  int64_t number = 0;       // kBigint: the value; kBoolean: 0/1; kTimestamp: microseconds
  std::string_view text;    // kVarchar
};

class Normalizer {
 public:
  // `known` are the schemas already in the catalog for root_table and its child tables.
  Normalizer(NormalizerOptions options, const std::vector<TableSchema>& known);
  ~Normalizer();
  Normalizer(const Normalizer&) = delete;
  Normalizer& operator=(const Normalizer&) = delete;

  // Adds one JSON value as a record of the root table (a non-object becomes column `value`).
  // `padded` says at least 64 readable bytes follow `json` (no copy is then made).
  // On error (malformed JSON or a limit: kInvalidArgument; contract: kFailedPrecondition)
  // nothing of the record is kept. `system` values are stamped on the root row.
  Status AddJson(std::string_view json, bool padded, std::span<const SystemValue> system = {});
  // The same for a value already parsed (by a source that read a whole page of records).
  Status AddElement(simdjson::dom::element value, std::span<const SystemValue> system = {});
  // Adds one CSV row; values are typed from their text (unquoted empty = NULL). A field that is
  // not valid UTF-8 makes the row bad (kInvalidArgument).
  Status AddCsvRow(const std::vector<std::string>& header,
                   const std::vector<std::string_view>& fields, const std::vector<bool>& quoted);

  size_t buffered_bytes() const;
  uint64_t records() const { return records_; }
  // Hands out the buffered rows, one batch per table that has rows.
  std::vector<TableBatch> Flush();
  // Every table's schema as it stands now (known tables first, then new ones in order).
  std::vector<TableSchema> Schemas() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint64_t records_ = 0;
};

}  // namespace watershed::normalize
