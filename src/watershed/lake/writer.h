// lake/writer.h — turning a TableBatch into Parquet files in the lake.
//
// Owns: the lake layout (docs/formats/lake-layout.md): a table "ns.name" lives under
// `structured/<ns>/<name>/<key>=<value>/<stem>.parquet`, zstd-compressed, written by DuckDB;
// hive partitions by ingestion date (`ingest_date=YYYY-MM-DD`, the default) or by a declared
// column (its value). The partition column is in the path and also inside the file (Iceberg
// readers take identity partition values from the file), every Parquet column carries its
// Iceberg field id (Catalog::FieldIds) and the footer the `iceberg.schema` key
// (docs/formats/iceberg.md). Each file comes back with its row count, size and per-column
// min/max/null counts, ready for a catalog commit. Does not own: committing (catalog.h) or
// choosing batches.
// Thread safety: one LakeWriter per thread.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "watershed/base/columns.h"
#include "watershed/base/status.h"
#include "watershed/lake/catalog.h"
#include "watershed/lake/storage.h"
#include "watershed/warehouse/duckdb/database.h"

namespace watershed::lake {

inline constexpr std::string_view kIngestDatePartition = "ingest_date";

// "crunchbase.organizations" -> {"crunchbase", "organizations"}; kInvalidArgument otherwise.
StatusOr<std::pair<std::string, std::string>> SplitTableName(std::string_view name);
// The one form of a table name a user gives (`--table`, `describe TABLE`, watershed.yml):
// NAMESPACE.NAME in lower case, since SQL resolves `SHOP.CUSTOMERS` to `shop.customers`. Each
// part is an identifier: ASCII letters, digits and `_`, not starting with a digit, at most 63
// characters. Other names are kInvalidArgument showing the name the naming convention would give
// (`Shop.Bad-Name` -> "use shop.bad_name").
StatusOr<std::string> CanonicalTableName(std::string_view name);
// The storage folder of a table: "structured/crunchbase/organizations".
std::string TableFolder(std::string_view ns, std::string_view name);
// Percent-encodes a partition value the way Hive does (keeps [A-Za-z0-9._-]); a NULL value is
// written as the bare word NULL (DuckDB's convention), so a text value "NULL" is encoded.
std::string EscapePartitionValue(std::string_view value);

class LakeWriter {
 public:
  // `threads` limits DuckDB's threads (0 = all cores). `catalog` gives the field ids (it is
  // also where the files will be committed).
  static StatusOr<std::unique_ptr<LakeWriter>> Create(Storage* storage, Catalog* catalog,
                                                      int threads);

  // Writes `batch` as one file per partition value, named `<stem>.parquet` (plus "-p<N>" when
  // a column partitions it), and publishes them. `partition_by` is kIngestDatePartition or a
  // column of the batch; `ingest_date` is "YYYY-MM-DD".
  StatusOr<std::vector<DataFile>> Write(const TableBatch& batch, const std::string& partition_by,
                                        const std::string& ingest_date, const std::string& stem);

  // Compaction: rewrites `inputs` (files of one partition of `table`) as one file `stem`.parquet
  // in the same partition, with the columns of `schema` that any input has (cast to the
  // schema's types). The inputs are left alone (the catalog commit retires them).
  StatusOr<DataFile> Rewrite(const std::string& table, const std::vector<DataFile>& inputs,
                             const std::vector<ColumnSpec>& schema, const std::string& stem);

 private:
  LakeWriter() = default;
  // Row count and per-column statistics, read back from the Parquet footer of `path`.
  StatusOr<std::vector<ColumnStats>> FooterStats(const std::string& path,
                                                 const std::vector<ColumnSpec>& columns,
                                                 int64_t* rows);
  // The COPY options naming each column's field id and the file's Iceberg schema, for a file
  // of `table` with `columns` (plus the partition column `extra` when it is not one of them).
  StatusOr<std::string> IcebergOptions(const std::string& table,
                                       const std::vector<ColumnSpec>& columns,
                                       const std::optional<ColumnSpec>& extra);

  Storage* storage_ = nullptr;
  Catalog* catalog_ = nullptr;
  std::map<std::string, std::map<std::string, int>> field_ids_;  // by table
  std::unique_ptr<warehouse::Database> db_;
  std::unique_ptr<warehouse::Connection> conn_;
  std::unique_ptr<warehouse::BatchScan> scan_;
};

}  // namespace watershed::lake
