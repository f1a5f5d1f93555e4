// lake/prune.h — file pruning: which files of a table a query can need, decided from its WHERE
// clause and, in the catalog, each file's partition value and per-column min/max, before any
// file is fetched (an S3 lake then downloads only those).
//
// Owns: reading DuckDB's parse tree of a query (json_serialize_sql) for the simplest shape it
// can prove safe — one SELECT over one lake table, no CTE, join, subquery or set operation — and
// the top-level AND-ed comparisons (=, <, <=, >, >=, BETWEEN) of one of that table's columns with
// a constant; and deciding per file whether its partition value, or its min/max of that column,
// can satisfy them. Anything else
// keeps every file: pruning only ever drops files that cannot hold a matching row.
// Does not own: the views (reader.h) or the catalog (catalog.h). Keyed tables and child tables
// of keyed tables are never pruned (their rows are merged across files).
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "watershed/base/columns.h"
#include "watershed/lake/catalog.h"

namespace watershed::lake {

struct PartitionBound {
  std::string op;     // "=", "<", "<=", ">", ">="
  std::string value;  // the constant in text form
  // The constant was a number: against a text column DuckDB compares as numbers ('0150' = 150),
  // so such a bound never prunes text.
  bool number = false;
};

// The bounds on `partition_column` of table `table` ("ns.name") in the parse tree `ast_json`
// of a query; empty when there are none or the query's shape is not one this understands.
std::vector<PartitionBound> PartitionBounds(std::string_view ast_json, const std::string& table,
                                            const std::string& partition_column);

// Whether a file whose partition is `partition` ("key=value") may hold rows within `bounds` for
// a partition column of `type` (dates, timestamps and text compare as text, integers as
// numbers; other types, and values that do not parse, always may).
bool PartitionMayMatch(const std::string& partition, ColumnType type,
                       const std::vector<PartitionBound>& bounds);

// Whether a file whose column has the catalog's min/max `stats` may hold rows within `bounds`
// (PartitionBounds of that column) for a column of `type`: a row can match only where
// min <= value <= max. Missing stats keep the file; a string max of 64 bytes may be a
// truncation (writer.h), so it bounds nothing from above.
bool StatsMayMatch(const ColumnStats& stats, ColumnType type,
                   const std::vector<PartitionBound>& bounds);

}  // namespace watershed::lake
