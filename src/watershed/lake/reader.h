// lake/reader.h — making lake tables queryable by name in DuckDB, at any snapshot.
//
// Owns: the SQL that presents a table's live files at a snapshot as one view `ns.name` with
// the catalog's current schema (older files cast to widened types, missing columns as NULL,
// hive partitions kept so filters on them prune files). Does not own: running user queries
// (cli/) or file bytes (storage.h). Thread safety: stateless functions; the connection is the
// caller's.
#pragma once

#include <string>
#include <string_view>

#include "watershed/base/status.h"
#include "watershed/lake/catalog.h"
#include "watershed/lake/storage.h"
#include "watershed/warehouse/duckdb/database.h"

namespace watershed::lake {

// The SELECT that reads `table` (its files and schema as of one snapshot). Keyed tables are
// merged (catalog.h, TableInfo); `parent_view`, when given, keeps only rows whose parent row is
// visible there (child tables of keyed tables).
struct ScanOptions {
  // Adds the columns `_ws_file` (the local path read) and `file_row_number` (0-based) — the
  // Iceberg export compares them to find the rows a merge hides.
  bool row_ids = false;
  bool merge = true;  // false: every row of every live file, keyed or not
};
StatusOr<std::string> TableScanSql(const TableState& table, Storage& storage,
                                   const std::string& parent_view = "",
                                   const ScanOptions& options = {});

// Creates schema `ns` and view `ns.name` for every table existing at `snapshot` (0 = latest)
// whose name occurs in `sql` (all tables when `sql` is empty), and for their parent tables.
Status AttachLakeViews(warehouse::Connection& conn, Catalog& catalog, Storage& storage,
                       int64_t snapshot, std::string_view sql);

}  // namespace watershed::lake
