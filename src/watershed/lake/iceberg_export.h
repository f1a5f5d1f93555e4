// lake/iceberg_export.h — every lake table is also an Apache Iceberg v2 table, kept in step with
// the catalog by every commit, compaction and expiry (docs/formats/iceberg.md).
//
// Owns: turning a table's state at a snapshot into Iceberg metadata under the table's folder
// (`structured/<ns>/<name>/metadata/`): manifests of its live data files, position-delete files
// for the rows a keyed merge hides (so an Iceberg reader sees what `watershed query` sees),
// manifest lists, `<N>-<uuid>.metadata.json` and, after the catalog commit, `version-hint.text`;
// the export's state per table in the catalog (Catalog::ExportState) and the files it still
// needs (gc keeps those, removes the rest). The order survives a crash: metadata files first,
// never overwritten (`If-None-Match: *` on S3), then the catalog commit, then the pointer.
// Does not own: the Iceberg encodings (iceberg/manifest.h), field ids (Catalog::FieldIds), the
// Parquet files (writer.h), what a catalog of Iceberg tables does with the pointers it is given
// (Glue: lake/glue_catalog.h; the REST catalog: server/iceberg_rest.h).
// Thread safety: an exporter belongs to one Catalog (one thread).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "watershed/base/columns.h"
#include "watershed/base/status.h"
#include "watershed/iceberg/manifest.h"
#include "watershed/lake/catalog.h"
#include "watershed/lake/storage.h"
#include "watershed/warehouse/duckdb/database.h"

namespace watershed::lake {

inline constexpr char kIcebergFormat[] = "iceberg";
// A snapshot's data files are listed in at most this many manifests; one more rewrites them
// into one (as does any commit that removes files).
inline constexpr int kMaxDataManifests = 100;
// Metadata versions kept (the newest and the 99 before it, in its metadata-log); older ones are
// left to gc, as Iceberg's `write.metadata.previous-versions-max` = 100 with delete-after-commit.
inline constexpr int kMaxMetadataVersions = 100;

// The Iceberg type of a column type: boolean, long, double, decimal(18, 4), date, timestamp
// (microseconds, no zone: Watershed's timestamps are UTC wall-clock), string.
std::string IcebergType(ColumnType type);
// The Iceberg schema of `columns`, ids by column name.
iceberg::Schema IcebergSchema(const std::vector<ColumnSpec>& columns,
                              const std::map<std::string, int>& ids, int schema_id);
// Whether Iceberg v2 reads a file column of type `from` as `to` (identical, or a promotion).
bool IcebergCanRead(ColumnType from, ColumnType to);

// A table's Iceberg metadata as of one catalog snapshot (`watershed iceberg show`).
struct IcebergTableSummary {
  std::string table;
  std::string location;           // the table's root
  std::string metadata_location;  // the newest metadata.json
  std::string metadata_key;       // its storage key
  int metadata_version = 0;
  int64_t snapshot_id = 0;  // the Iceberg snapshot a reader at that catalog snapshot reads
  int64_t sequence_number = 0;
  int64_t timestamp_ms = 0;
  std::string manifest_list;
  int schema_id = 0;
  std::map<std::string, std::string> summary;  // the snapshot's summary (operation, totals)
  int snapshots = 0;                           // snapshots in the metadata
  int data_manifests = 0;
  int delete_manifests = 0;
};
// kNotFound when the table has no Iceberg metadata yet (written before the export existed:
// the next commit to it writes them) or none at `snapshot` (0 = latest).
StatusOr<IcebergTableSummary> DescribeIcebergTable(Catalog& catalog, Storage& storage,
                                                   const std::string& table, int64_t snapshot);

// Where a table's newest Iceberg metadata is: what a catalog of Iceberg tables (Glue, a REST
// catalog) records for it.
struct IcebergTablePointer {
  std::string table;                       // Watershed's name, "crunchbase.organizations"
  std::string location;                    // the table's root URI
  std::string metadata_location;           // its newest metadata.json (URI)
  std::string previous_metadata_location;  // the version before it; "" for the first
  int metadata_version = 0;
  iceberg::Schema schema;  // the current schema
};

// The pointers of `tables` (every table with Iceberg metadata when empty) as the catalog's
// newest commit left them. A named table without Iceberg metadata is kNotFound.
StatusOr<std::vector<IcebergTablePointer>> IcebergPointers(Catalog& catalog, Storage& storage,
                                                           const std::vector<std::string>& tables);

// The metadata version a metadata file's name carries ("…/00012-<uuid>.metadata.json" → 12);
// 0 when the name is not one the export writes.
int IcebergMetadataVersion(std::string_view metadata_location);

// A catalog of Iceberg tables told, after each catalog commit, where the tables it changed now
// point. Publish never moves a table back to an older version than the one it names.
class IcebergPublisher {
 public:
  virtual ~IcebergPublisher() = default;
  virtual std::string Name() const = 0;  // "glue" (in messages)
  virtual Status Publish(const std::vector<IcebergTablePointer>& tables) = 0;
};

class IcebergExporter : public CommitObserver {
 public:
  explicit IcebergExporter(Storage* storage) : storage_(storage) {}
  ~IcebergExporter() override;

  // Told after every commit (Published) where the tables it changed point. A failed publish is
  // logged and retried with the next commit of this process (`watershed iceberg register`
  // repairs from any process).
  void AddPublisher(std::unique_ptr<IcebergPublisher> publisher);

  Status Prepare(Catalog& catalog, int64_t snapshot_id, const CommitRequest& request,
                 const std::vector<std::string>& tables) override;
  void Published(Catalog& catalog, int64_t snapshot_id) override;
  StatusOr<std::vector<std::string>> Expire(Catalog& catalog, int64_t keep_from) override;

  // The export's record of one table, kept as JSON in the catalog (iceberg_export.cc).
  struct State;

 private:
  Status ExportTable(Catalog& catalog, const std::string& table, int64_t snapshot,
                     const CommitRequest& request);
  // A new metadata version of `state`; `written` gets its key, `retired` the keys of versions
  // that leave the metadata log.
  Status WriteMetadata(Catalog& catalog, const TableState& table, State& state,
                       std::vector<std::string>& written, std::vector<std::string>& retired);
  StatusOr<warehouse::Connection*> Duck();

  Storage* storage_;
  std::unique_ptr<warehouse::Database> db_;
  std::unique_ptr<warehouse::Connection> conn_;
  std::vector<int64_t> hints_;  // tables whose version hint Published writes
  std::vector<std::unique_ptr<IcebergPublisher>> publishers_;
  std::vector<IcebergTablePointer> pending_;  // this commit's new versions, for publishers_
  // Per publisher: pointers whose publish failed, sent again with the next commit.
  std::vector<std::map<std::string, IcebergTablePointer>> unpublished_;
};

}  // namespace watershed::lake
