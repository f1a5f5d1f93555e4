// lake/catalog.h — the lake's catalog: tables, schema versions, snapshots, data files with
// row counts and per-column min/max, source cursors and loads, in the catalog database (store/).
//
// Owns: the catalog schema (docs/formats/catalog.md) and its one write operation, Commit(),
// which in a single transaction adds a snapshot, new schema versions, added/removed files and
// advanced cursors — so a crash leaves either all of it or none. Reads at any snapshot give
// time travel. Does not own: file bytes (storage.h) or how files are written (writer.h).
// Thread safety: a Catalog is used by one thread; several processes may share the database
// (SQLite locking, busy timeout 30 s; commits use BEGIN IMMEDIATE).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "watershed/audit/audit_log.h"
#include "watershed/base/columns.h"
#include "watershed/base/status.h"
#include "watershed/store/store.h"

namespace watershed::lake {

inline constexpr int kCatalogFormatVersion = 1;

struct ColumnStats {
  std::string column;
  std::optional<std::string> min;  // text form; strings truncated to 64 characters
  std::optional<std::string> max;
  int64_t null_count = 0;
};

struct DataFile {
  std::string table;
  std::string key;        // storage key
  std::string partition;  // "ingest_date=2026-11-24"
  int64_t row_count = 0;
  int64_t size_bytes = 0;
  std::vector<ColumnSpec> columns;  // the columns physically in the file
  std::vector<ColumnStats> stats;
  int64_t added_snapshot = 0;  // filled by reads (GetTableState)
};

struct TableUpdate {
  std::string name;
  std::string parent;
  std::vector<ColumnSpec> columns;  // the schema the writer used (merged with the catalog's)
  std::string partition_by;         // "ingest_date" (default) or a column name
  std::string key_column;           // "" = plain append-only table (see TableInfo)
  std::string key_mode;
};

struct Cursor {
  std::string source;
  std::string key;
  std::string value;
};

struct CommitRequest {
  std::string operation;  // "load", "gc", ...
  int64_t load_id = 0;
  std::string summary;    // JSON object
  std::vector<TableUpdate> tables;
  std::vector<DataFile> added;
  std::vector<std::string> removed_keys;
  std::vector<Cursor> cursors;
};

struct TableInfo {
  int64_t table_id = 0;
  std::string name;
  std::string parent;
  std::string partition_by;
  int64_t created_snapshot = 0;
  // Keyed tables are read merged: per key_column value, key_mode "latest_row" keeps the newest
  // row (and drops the key when that row has _ws_deleted = true), "latest_load" keeps all rows of
  // the newest load. Empty: every row is visible.
  std::string key_column;
  std::string key_mode;
};

struct SchemaVersion {
  int version = 0;
  int64_t snapshot_id = 0;
  std::vector<ColumnSpec> columns;
};

struct Snapshot {
  int64_t snapshot_id = 0;
  std::string committed_at;  // "2026-11-24T04:15:00.123456Z"
  std::string operation;
  int64_t load_id = 0;
  std::string summary;
};

// A table as seen at one snapshot.
struct TableState {
  TableInfo info;
  SchemaVersion schema;
  std::vector<DataFile> files;  // stats not loaded
  int64_t row_count = 0;
};

struct LoadRecord {
  int64_t load_id = 0;
  std::string name;
  std::string status;  // running, committed, failed, skipped
  int64_t pid = 0;
  std::string host;
  int64_t snapshot_id = 0;
};

class Catalog;

// Something kept in step with every commit: the Iceberg export (lake/iceberg_export.h).
class CommitObserver {
 public:
  virtual ~CommitObserver() = default;
  // Inside the commit's transaction, after everything is recorded and before COMMIT, with the
  // tables the commit changes. An error rolls the commit back.
  virtual Status Prepare(Catalog& catalog, int64_t snapshot_id, const CommitRequest& request,
                         const std::vector<std::string>& tables) = 0;
  // After COMMIT (the pointers readers follow). Failures are logged, not returned: the commit
  // stands, and the next one writes them again.
  virtual void Published(Catalog& catalog, int64_t snapshot_id) = 0;
  // Inside an expiry's transaction: the storage keys that are no longer needed.
  virtual StatusOr<std::vector<std::string>> Expire(Catalog& catalog, int64_t keep_from) = 0;
};

class Catalog {
 public:
  // Opens (creating if needed) the catalog database at `path`.
  static StatusOr<std::unique_ptr<Catalog>> Open(const std::string& path);
  ~Catalog();
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  // Newest snapshot id, 0 when nothing was ever committed.
  StatusOr<int64_t> LatestSnapshot();
  // The newest snapshot committed at or before the time `as_of` names (ParseAsOf).
  StatusOr<int64_t> SnapshotAsOf(const std::string& as_of);
  StatusOr<std::vector<Snapshot>> Snapshots();
  StatusOr<Snapshot> GetSnapshot(int64_t snapshot_id);
  // The snapshots up to `up_to` (0 = latest) that changed table `name`: created it, added or
  // removed its files, or gave it a new schema version. Oldest first.
  StatusOr<std::vector<Snapshot>> TableSnapshots(const std::string& name, int64_t up_to = 0);

  // Tables that exist at `snapshot` (0 = latest).
  StatusOr<std::vector<TableInfo>> ListTables(int64_t snapshot = 0);
  StatusOr<std::optional<TableInfo>> GetTable(const std::string& name);
  // The table at `snapshot` (0 = latest); kNotFound when it does not exist then.
  StatusOr<TableState> GetTableState(const std::string& name, int64_t snapshot = 0);
  StatusOr<std::vector<SchemaVersion>> SchemaHistory(const std::string& name);
  StatusOr<std::vector<ColumnStats>> FileStats(const std::string& key);
  // One column's stats in every file table `table` ever had, by file key (for pruning).
  StatusOr<std::map<std::string, ColumnStats>> ColumnStatsByFile(const std::string& table,
                                                                 const std::string& column);
  // Every file key ever committed (live or removed; time travel still needs removed ones), and
  // every file an export still needs.
  StatusOr<std::vector<std::string>> AllFileKeys();

  StatusOr<std::optional<std::string>> GetCursor(const std::string& source, const std::string& key);
  // Every cursor of `source`, key -> value.
  StatusOr<std::map<std::string, std::string>> Cursors(const std::string& source);

  // Registers a running load (for gc: its files are not orphans while it runs).
  StatusOr<int64_t> BeginLoad(const std::string& name);
  Status FinishLoad(int64_t load_id, const std::string& status, const std::string& message);
  StatusOr<std::vector<LoadRecord>> Loads();

  // A cursor outside any data commit (the scheduler's last fired interval).
  Status SetCursor(const std::string& source, const std::string& key, const std::string& value);

  // Snapshot expiry: forgets every snapshot before `keep_from` and the files that no snapshot
  // from `keep_from` on can see (their rows and stats), in one transaction. Returns those files'
  // storage keys for the caller to delete. Reading an expired snapshot is then an error.
  StatusOr<std::vector<std::string>> ExpireSnapshotsBefore(int64_t keep_from);
  // The oldest snapshot still readable (1 when nothing has expired).
  StatusOr<int64_t> OldestSnapshot();

  // From now on every commit records the audit log's newest entry at `path` with its snapshot
  // (the project sets its .watershed/audit.log). Unset: no anchors.
  void AnchorAuditLog(std::string path) { audit_log_path_ = std::move(path); }
  // The anchors recorded by commits, oldest snapshot first (for audit::AuditLog::Verify).
  StatusOr<std::vector<audit::SnapshotAnchor>> AuditAnchors();

  // One transaction: new snapshot + schema versions + files + cursors. Returns the snapshot id.
  // A table's schema is merged with the one committed meanwhile; a conflicting concurrent type
  // change is kAborted (transient: retry the load).
  StatusOr<int64_t> Commit(const CommitRequest& request);

  // Every commit and expiry from now on also runs `observer` (inside the transaction).
  void SetObserver(std::unique_ptr<CommitObserver> observer) { observer_ = std::move(observer); }
  CommitObserver* observer() { return observer_.get(); }

  // Iceberg field ids of `table`'s columns by name, assigning the next free id to each of
  // `columns` that has none. An id is never reused for another column of the table.
  StatusOr<std::map<std::string, int>> FieldIds(const std::string& table,
                                                const std::vector<std::string>& columns);
  // An export's state of one table (JSON, owned by the exporter), and every storage key it
  // still needs (gc keeps those). Called by observers inside the commit's transaction.
  StatusOr<std::optional<std::string>> ExportState(int64_t table_id, const std::string& format);
  Status SetExportState(int64_t table_id, const std::string& format, const std::string& state,
                        const std::vector<std::string>& added_keys,
                        const std::vector<std::string>& removed_keys);

 private:
  explicit Catalog(std::unique_ptr<store::Connection> db) : db_(std::move(db)) {}
  Status CheckNotExpired(int64_t snapshot);
  std::unique_ptr<store::Connection> db_;
  std::unique_ptr<CommitObserver> observer_;
  bool in_commit_ = false;
  std::string audit_log_path_;
};

// The instant (microseconds since the epoch, UTC) an --as-of value names: an ISO 8601 timestamp
// (`2026-11-24T04:15:00Z`; a space for the `T`; seconds and a fraction optional; `Z` or an
// offset such as `+01:00`; no zone means UTC), a date (`2026-11-24`: its start, 00:00 UTC), or
// epoch seconds (`1764000000`, a fraction allowed). Anything else is kInvalidArgument naming the
// accepted forms.
StatusOr<int64_t> ParseAsOf(std::string_view text);

// Serialises columns as JSON [["name","type"(,"source")],...] (docs/formats/catalog.md).
std::string ColumnsToJson(const std::vector<ColumnSpec>& columns);
StatusOr<std::vector<ColumnSpec>> ColumnsFromJson(std::string_view json);
// Merges `ours` into `base`: new columns appended, widened types taken; kAborted on conflict.
StatusOr<std::vector<ColumnSpec>> MergeColumns(const std::vector<ColumnSpec>& base,
                                               const std::vector<ColumnSpec>& ours);

}  // namespace watershed::lake
