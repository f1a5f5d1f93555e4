// lake/catalog.cc — the SQLite catalog (schema in docs/formats/catalog.md).
#include "watershed/lake/catalog.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <nlohmann/json.hpp>
#include <set>

#include "watershed/base/ids.h"
#include "watershed/base/strings.h"
#include "watershed/normalize/infer.h"

namespace watershed::lake {
namespace {

constexpr char kLakeSchemaV1[] = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS snapshots(
  snapshot_id INTEGER PRIMARY KEY,
  committed_at TEXT NOT NULL,
  operation TEXT NOT NULL,
  load_id INTEGER,
  summary TEXT NOT NULL DEFAULT '{}');
CREATE TABLE IF NOT EXISTS tables(
  table_id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  parent TEXT NOT NULL DEFAULT '',
  partition_by TEXT NOT NULL DEFAULT 'ingest_date',
  created_snapshot INTEGER NOT NULL,
  key_column TEXT NOT NULL DEFAULT '',
  key_mode TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS schema_versions(
  table_id INTEGER NOT NULL,
  version INTEGER NOT NULL,
  snapshot_id INTEGER NOT NULL,
  columns TEXT NOT NULL,
  PRIMARY KEY(table_id, version));
CREATE TABLE IF NOT EXISTS data_files(
  file_id INTEGER PRIMARY KEY,
  table_id INTEGER NOT NULL,
  key TEXT NOT NULL UNIQUE,
  partition TEXT NOT NULL,
  row_count INTEGER NOT NULL,
  size_bytes INTEGER NOT NULL,
  columns TEXT NOT NULL,
  added_snapshot INTEGER NOT NULL,
  removed_snapshot INTEGER);
CREATE INDEX IF NOT EXISTS data_files_table ON data_files(table_id, added_snapshot);
CREATE TABLE IF NOT EXISTS column_stats(
  file_id INTEGER NOT NULL,
  column_name TEXT NOT NULL,
  min_value TEXT,
  max_value TEXT,
  null_count INTEGER NOT NULL,
  PRIMARY KEY(file_id, column_name));
CREATE TABLE IF NOT EXISTS cursors(
  source TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  snapshot_id INTEGER NOT NULL,
  PRIMARY KEY(source, key));
CREATE TABLE IF NOT EXISTS loads(
  load_id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  status TEXT NOT NULL,
  pid INTEGER NOT NULL,
  host TEXT NOT NULL,
  snapshot_id INTEGER,
  message TEXT);
)sql";

using store::Stmt;
using store::Transaction;

// The lake's tables (docs/formats/catalog.md). Append migrations; never edit a shipped one.
const store::Schema& LakeSchema() {
  static const store::Schema* schema = new store::Schema{
      "lake",
      {kLakeSchemaV1,
       // v2: each snapshot anchors the audit log (its newest entry when the commit ran).
       "ALTER TABLE snapshots ADD COLUMN audit_seq INTEGER;"
       "ALTER TABLE snapshots ADD COLUMN audit_hash TEXT;",
       // v3: Iceberg export (lake/iceberg_export.h): field ids per column name (never reused),
       // each table's export state, and every metadata file the export wrote and still needs.
       "CREATE TABLE field_ids(table_name TEXT NOT NULL, column_name TEXT NOT NULL, "
       "field_id INTEGER NOT NULL, PRIMARY KEY(table_name, column_name));"
       "CREATE TABLE table_exports(table_id INTEGER NOT NULL, format TEXT NOT NULL, "
       "state TEXT NOT NULL, PRIMARY KEY(table_id, format));"
       "CREATE TABLE export_files(key TEXT PRIMARY KEY, table_id INTEGER NOT NULL);"}};
  return *schema;
}

// Marks a Catalog as inside its own write transaction for one scope.
struct InCommit {
  explicit InCommit(bool& flag) : flag_(flag) { flag_ = true; }
  ~InCommit() { flag_ = false; }
  bool& flag_;
};

}  // namespace

std::string ColumnsToJson(const std::vector<ColumnSpec>& columns) {
  nlohmann::json j = nlohmann::json::array();
  for (const ColumnSpec& c : columns) {
    nlohmann::json e = {c.name, std::string(ColumnTypeName(c.type))};
    if (!c.source.empty()) e.push_back(c.source);
    j.push_back(std::move(e));
  }
  return j.dump();
}

StatusOr<std::vector<ColumnSpec>> ColumnsFromJson(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_array()) {
    return absl::DataLossError(StrCat("catalog: malformed column list: ", text.substr(0, 200)));
  }
  std::vector<ColumnSpec> out;
  for (const auto& e : j) {
    if (!e.is_array() || e.size() < 2 || e.size() > 3 || !e[0].is_string() ||
        !e[1].is_string() || (e.size() == 3 && !e[2].is_string())) {
      return absl::DataLossError("catalog: malformed column entry");
    }
    WS_ASSIGN_OR_RETURN(ColumnType t, ParseColumnType(e[1].get<std::string>()));
    out.push_back({e[0].get<std::string>(), t, e.size() == 3 ? e[2].get<std::string>() : ""});
  }
  return out;
}

StatusOr<std::vector<ColumnSpec>> MergeColumns(const std::vector<ColumnSpec>& base,
                                               const std::vector<ColumnSpec>& ours) {
  std::vector<ColumnSpec> merged = base;
  for (const ColumnSpec& c : ours) {
    auto it = std::find_if(merged.begin(), merged.end(),
                           [&](const ColumnSpec& m) { return m.name == c.name; });
    if (it == merged.end()) {
      merged.push_back(c);
      continue;
    }
    if (it->source.empty()) it->source = c.source;  // a column from before sources were kept
    if (it->type == c.type) continue;
    auto wider = WiderType(it->type, c.type);
    if (!wider) {
      return absl::AbortedError(StrCat("column ", c.name, " is ", ColumnTypeName(it->type),
                                       " in the catalog but ", ColumnTypeName(c.type),
                                       " in this load (changed concurrently); retry the load"));
    }
    it->type = *wider;
  }
  return merged;
}

StatusOr<std::unique_ptr<Catalog>> Catalog::Open(const std::string& path) {
  WS_ASSIGN_OR_RETURN(std::unique_ptr<store::Connection> db, store::Connection::Open(path));
  WS_RETURN_IF_ERROR(Annotate(store::Migrate(*db, LakeSchema()), StrCat("opening catalog ", db->name())));
  std::unique_ptr<Catalog> catalog(new Catalog(std::move(db)));
  store::Connection& conn = *catalog->db_;
  Stmt version(conn, "SELECT value FROM meta WHERE key='format_version'");
  WS_ASSIGN_OR_RETURN(bool has, version.Step());
  if (!has) {
    Stmt ins(conn, "INSERT {IGNORE} INTO meta(key, value) VALUES('format_version', ?)");
    WS_RETURN_IF_ERROR(ins.Bind(1, StrCat(kCatalogFormatVersion)).Run());
  } else if (version.Text(0) != StrCat(kCatalogFormatVersion)) {
    return absl::FailedPreconditionError(
        StrCat("catalog ", conn.name(), " has format version ", version.Text(0),
               "; this watershed reads version ", kCatalogFormatVersion));
  }
  return catalog;
}

Catalog::~Catalog() = default;

StatusOr<int64_t> Catalog::LatestSnapshot() {
  Stmt s(*db_, "SELECT COALESCE(MAX(snapshot_id), 0) FROM snapshots");
  WS_ASSIGN_OR_RETURN(bool row, s.Step());
  return row ? s.Int(0) : 0;
}

StatusOr<int64_t> ParseAsOf(std::string_view text) {
  const std::string_view t = Trim(text);
  auto invalid = [&] {
    return absl::InvalidArgumentError(StrCat(
        "--as-of '", ToValidUtf8(text.substr(0, 80)),
        "' is not a time; use an ISO 8601 timestamp (2026-11-24T04:15:00Z, "
        "2026-11-24 05:15:00+01:00), a date (2026-11-24, meaning 00:00 UTC) or epoch seconds "
        "(1764000000)"));
  };
  if (!t.empty() && std::all_of(t.begin(), t.end(), [](char c) {
        return (c >= '0' && c <= '9') || c == '.';
      })) {
    const size_t dot = t.find('.');
    const std::string_view whole = t.substr(0, dot);
    const std::string_view frac = dot == std::string_view::npos ? "" : t.substr(dot + 1);
    if (whole.empty() || whole.size() > 12 || frac.find('.') != std::string_view::npos ||
        (dot != std::string_view::npos && frac.empty())) {
      return invalid();
    }
    int64_t micros = std::stoll(std::string(whole)) * 1000000;
    int64_t scale = 100000;
    for (size_t i = 0; i < frac.size() && i < 6; ++i, scale /= 10) micros += (frac[i] - '0') * scale;
    return micros;
  }
  if (t.size() == 10) {
    if (auto days = normalize::ParseDate(t)) return *days * 86400 * int64_t{1000000};
    return invalid();
  }
  std::string ts(t);
  // Minutes without seconds: "2026-11-24T04:15" (and with a zone after it).
  if (ts.size() >= 16 && (ts.size() == 16 || ts[16] != ':')) ts.insert(16, ":00");
  if (auto micros = normalize::ParseTimestamp(ts)) return *micros;
  return invalid();
}

StatusOr<int64_t> Catalog::SnapshotAsOf(const std::string& as_of) {
  WS_ASSIGN_OR_RETURN(const int64_t micros, ParseAsOf(as_of));
  // committed_at is IsoUtc text (…Z); without the Z, text order is time order even when a
  // second has no fraction ("…:00" sorts before "…:00.000001").
  std::string t = IsoUtc(micros);
  t.pop_back();
  Stmt s(*db_,
         "SELECT COALESCE(MAX(snapshot_id), 0) FROM snapshots WHERE "
         "substr(committed_at, 1, length(committed_at) - 1) <= ?");
  s.Bind(1, t);
  WS_ASSIGN_OR_RETURN(bool row, s.Step());
  int64_t id = row ? s.Int(0) : 0;
  if (id == 0) {
    return absl::NotFoundError(StrCat("no snapshot was committed at or before ", as_of, " (",
                                      IsoUtc(micros, false),
                                      "; see `watershed describe TABLE` for snapshot times)"));
  }
  return id;
}

StatusOr<std::vector<Snapshot>> Catalog::Snapshots() {
  Stmt s(*db_,
         "SELECT snapshot_id, committed_at, operation, COALESCE(load_id, 0), summary "
         "FROM snapshots ORDER BY snapshot_id");
  std::vector<Snapshot> out;
  while (true) {
    WS_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back({s.Int(0), s.Text(1), s.Text(2), s.Int(3), s.Text(4)});
  }
  return out;
}

StatusOr<std::vector<audit::SnapshotAnchor>> Catalog::AuditAnchors() {
  Stmt s(*db_,
         "SELECT snapshot_id, audit_seq, audit_hash FROM snapshots WHERE audit_seq IS NOT NULL "
         "ORDER BY snapshot_id");
  std::vector<audit::SnapshotAnchor> out;
  while (true) {
    WS_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back({s.Int(0), {s.Int(1), s.Text(2)}});
  }
  return out;
}

StatusOr<Snapshot> Catalog::GetSnapshot(int64_t snapshot_id) {
  Stmt s(*db_,
         "SELECT snapshot_id, committed_at, operation, COALESCE(load_id, 0), summary "
         "FROM snapshots WHERE snapshot_id = ?");
  s.Bind(1, snapshot_id);
  WS_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) {
    return absl::NotFoundError(StrCat("snapshot ", snapshot_id, " does not exist"));
  }
  return Snapshot{s.Int(0), s.Text(1), s.Text(2), s.Int(3), s.Text(4)};
}

StatusOr<std::vector<Snapshot>> Catalog::TableSnapshots(const std::string& name, int64_t up_to) {
  Stmt s(*db_,
         "SELECT snapshot_id, committed_at, operation, COALESCE(load_id, 0), summary "
         "FROM snapshots WHERE snapshot_id IN ("
         "SELECT created_snapshot FROM tables WHERE name = ? "
         "UNION SELECT f.added_snapshot FROM data_files f "
         "JOIN tables t ON t.table_id = f.table_id WHERE t.name = ? "
         "UNION SELECT f.removed_snapshot FROM data_files f "
         "JOIN tables t ON t.table_id = f.table_id WHERE t.name = ? "
         "AND f.removed_snapshot IS NOT NULL "
         "UNION SELECT v.snapshot_id FROM schema_versions v "
         "JOIN tables t ON t.table_id = v.table_id WHERE t.name = ?) "
         "ORDER BY snapshot_id");
  s.Bind(1, name).Bind(2, name).Bind(3, name).Bind(4, name);
  std::vector<Snapshot> out;
  while (true) {
    WS_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    if (up_to > 0 && s.Int(0) > up_to) break;
    out.push_back({s.Int(0), s.Text(1), s.Text(2), s.Int(3), s.Text(4)});
  }
  return out;
}

StatusOr<int64_t> Catalog::OldestSnapshot() {
  Stmt s(*db_, "SELECT value FROM meta WHERE key = 'expired_before'");
  WS_ASSIGN_OR_RETURN(bool row, s.Step());
  return row ? std::stoll(s.Text(0)) : int64_t{1};
}

Status Catalog::CheckNotExpired(int64_t snapshot) {
  WS_ASSIGN_OR_RETURN(int64_t oldest, OldestSnapshot());
  if (snapshot < oldest) {
    return absl::FailedPreconditionError(
        StrCat("snapshot ", snapshot, " has expired (the retention policy keeps snapshots from ",
               oldest, " on; `watershed snapshots` lists them)"));
  }
  return absl::OkStatus();
}

StatusOr<std::vector<std::string>> Catalog::ExpireSnapshotsBefore(int64_t keep_from) {
  Transaction tx(*db_);
  WS_RETURN_IF_ERROR(tx.Begin());
  InCommit in_commit(in_commit_);
  // The latest snapshot always stays: with none left, the next commit would reuse snapshot id 1
  // (INTEGER PRIMARY KEY takes max + 1), which the expiry marker already declares expired.
  WS_ASSIGN_OR_RETURN(int64_t latest, LatestSnapshot());
  if (keep_from > latest) {
    return absl::InvalidArgumentError(
        StrCat("cannot expire the snapshots before ", keep_from, ": the latest snapshot is ",
               latest, " and it always stays readable"));
  }
  std::vector<std::string> keys;
  {
    Stmt s(*db_, "SELECT key FROM data_files WHERE removed_snapshot IS NOT NULL AND removed_snapshot <= ?");
    s.Bind(1, keep_from);
    while (true) {
      WS_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      keys.push_back(s.Text(0));
    }
  }
  for (const char* sql :
       {"DELETE FROM column_stats WHERE file_id IN (SELECT file_id FROM data_files WHERE "
        "removed_snapshot IS NOT NULL AND removed_snapshot <= ?1)",
        "DELETE FROM data_files WHERE removed_snapshot IS NOT NULL AND removed_snapshot <= ?1",
        "DELETE FROM snapshots WHERE snapshot_id < ?1",
        "INSERT INTO meta(key, value) VALUES('expired_before', CAST(?1 AS TEXT)) "
        "ON CONFLICT(key) DO UPDATE SET value = CASE WHEN CAST(meta.value AS INTEGER) > ?1 "
        "THEN meta.value ELSE CAST(?1 AS TEXT) END"}) {
    Stmt s(*db_, sql);
    s.Bind(1, keep_from);
    WS_RETURN_IF_ERROR(s.Run());
  }
  if (observer_) {
    WS_ASSIGN_OR_RETURN(auto more, observer_->Expire(*this, keep_from));
    keys.insert(keys.end(), more.begin(), more.end());
  }
  WS_RETURN_IF_ERROR(tx.Commit());
  if (observer_) observer_->Published(*this, keep_from);
  return keys;
}

StatusOr<std::vector<TableInfo>> Catalog::ListTables(int64_t snapshot) {
  if (snapshot == 0) {
    WS_ASSIGN_OR_RETURN(snapshot, LatestSnapshot());
  } else {
    WS_RETURN_IF_ERROR(CheckNotExpired(snapshot));
  }
  Stmt s(*db_,
         "SELECT table_id, name, parent, partition_by, created_snapshot, key_column, key_mode "
         "FROM tables WHERE created_snapshot <= ? ORDER BY name");
  s.Bind(1, snapshot);
  std::vector<TableInfo> out;
  while (true) {
    WS_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back({s.Int(0), s.Text(1), s.Text(2), s.Text(3), s.Int(4), s.Text(5), s.Text(6)});
  }
  return out;
}

StatusOr<std::optional<TableInfo>> Catalog::GetTable(const std::string& name) {
  Stmt s(*db_,
         "SELECT table_id, name, parent, partition_by, created_snapshot, key_column, key_mode "
         "FROM tables WHERE name = ?");
  s.Bind(1, name);
  WS_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<TableInfo>();
  return std::optional<TableInfo>(
      TableInfo{s.Int(0), s.Text(1), s.Text(2), s.Text(3), s.Int(4), s.Text(5), s.Text(6)});
}

StatusOr<TableState> Catalog::GetTableState(const std::string& name, int64_t snapshot) {
  if (snapshot == 0) {
    WS_ASSIGN_OR_RETURN(snapshot, LatestSnapshot());
  } else {
    WS_RETURN_IF_ERROR(CheckNotExpired(snapshot));
  }
  WS_ASSIGN_OR_RETURN(auto info, GetTable(name));
  if (!info || info->created_snapshot > snapshot) {
    return absl::NotFoundError(StrCat("table ", name, " does not exist at snapshot ", snapshot,
                                      " (run `watershed tables` to list tables)"));
  }
  TableState state;
  state.info = *info;
  Stmt sv(*db_,
          "SELECT version, snapshot_id, columns FROM schema_versions WHERE table_id = ? AND "
          "snapshot_id <= ? ORDER BY version DESC LIMIT 1");
  sv.Bind(1, info->table_id).Bind(2, snapshot);
  WS_ASSIGN_OR_RETURN(bool row, sv.Step());
  if (row) {
    state.schema.version = static_cast<int>(sv.Int(0));
    state.schema.snapshot_id = sv.Int(1);
    WS_ASSIGN_OR_RETURN(state.schema.columns, ColumnsFromJson(sv.Text(2)));
  }
  Stmt f(*db_,
         "SELECT key, partition, row_count, size_bytes, columns, added_snapshot FROM data_files "
         "WHERE table_id = ? AND added_snapshot <= ? AND (removed_snapshot IS NULL OR "
         "removed_snapshot > ?) ORDER BY file_id");
  f.Bind(1, info->table_id).Bind(2, snapshot).Bind(3, snapshot);
  while (true) {
    WS_ASSIGN_OR_RETURN(bool r, f.Step());
    if (!r) break;
    DataFile file;
    file.table = name;
    file.key = f.Text(0);
    file.partition = f.Text(1);
    file.row_count = f.Int(2);
    file.size_bytes = f.Int(3);
    WS_ASSIGN_OR_RETURN(file.columns, ColumnsFromJson(f.Text(4)));
    file.added_snapshot = f.Int(5);
    state.row_count += file.row_count;
    state.files.push_back(std::move(file));
  }
  return state;
}

StatusOr<std::vector<SchemaVersion>> Catalog::SchemaHistory(const std::string& name) {
  Stmt s(*db_,
         "SELECT v.version, v.snapshot_id, v.columns FROM schema_versions v JOIN tables t "
         "USING (table_id) WHERE t.name = ? ORDER BY v.version");
  s.Bind(1, name);
  std::vector<SchemaVersion> out;
  while (true) {
    WS_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    SchemaVersion v;
    v.version = static_cast<int>(s.Int(0));
    v.snapshot_id = s.Int(1);
    WS_ASSIGN_OR_RETURN(v.columns, ColumnsFromJson(s.Text(2)));
    out.push_back(std::move(v));
  }
  return out;
}

StatusOr<std::vector<ColumnStats>> Catalog::FileStats(const std::string& key) {
  Stmt s(*db_,
         "SELECT c.column_name, c.min_value, c.max_value, c.null_count FROM column_stats c "
         "JOIN data_files f USING (file_id) WHERE f.key = ? ORDER BY c.{ROWID}");
  s.Bind(1, key);
  std::vector<ColumnStats> out;
  while (true) {
    WS_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back({s.Text(0), s.OptText(1), s.OptText(2), s.Int(3)});
  }
  return out;
}

StatusOr<std::map<std::string, ColumnStats>> Catalog::ColumnStatsByFile(const std::string& table,
                                                                        const std::string& column) {
  Stmt s(*db_,
         "SELECT f.key, c.min_value, c.max_value, c.null_count FROM column_stats c "
         "JOIN data_files f ON f.file_id = c.file_id JOIN tables t ON t.table_id = f.table_id "
         "WHERE t.name = ? AND c.column_name = ?");
  s.Bind(1, table).Bind(2, column);
  std::map<std::string, ColumnStats> out;
  while (true) {
    WS_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out[s.Text(0)] = {column, s.OptText(1), s.OptText(2), s.Int(3)};
  }
  return out;
}

StatusOr<std::vector<std::string>> Catalog::AllFileKeys() {
  Stmt s(*db_, "SELECT key FROM data_files UNION ALL SELECT key FROM export_files");
  std::vector<std::string> out;
  while (true) {
    WS_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(s.Text(0));
  }
  return out;
}

StatusOr<std::optional<std::string>> Catalog::GetCursor(const std::string& source,
                                                        const std::string& key) {
  Stmt s(*db_, "SELECT value FROM cursors WHERE source = ? AND key = ?");
  s.Bind(1, source).Bind(2, key);
  WS_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(s.Text(0));
}

StatusOr<std::map<std::string, std::string>> Catalog::Cursors(const std::string& source) {
  Stmt s(*db_, "SELECT key, value FROM cursors WHERE source = ?");
  s.Bind(1, source);
  std::map<std::string, std::string> out;
  while (true) {
    WS_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out[s.Text(0)] = s.Text(1);
  }
  return out;
}

StatusOr<int64_t> Catalog::BeginLoad(const std::string& name) {
  Stmt s(*db_,
         "INSERT INTO loads(name, started_at, status, pid, host) VALUES(?, ?, 'running', ?, ?)");
  s.Bind(1, name).Bind(2, IsoUtc(NowMicros())).Bind(3, static_cast<int64_t>(getpid())).Bind(4, ThisHost());
  WS_RETURN_IF_ERROR(s.Run());
  return db_->LastInsertId();
}

Status Catalog::FinishLoad(int64_t load_id, const std::string& status,
                           const std::string& message) {
  Stmt s(*db_, "UPDATE loads SET status = ?, finished_at = ?, message = ? WHERE load_id = ?");
  s.Bind(1, status).Bind(2, IsoUtc(NowMicros())).Bind(3, message).Bind(4, load_id);
  return s.Run();
}

StatusOr<std::vector<LoadRecord>> Catalog::Loads() {
  Stmt s(*db_,
         "SELECT load_id, name, status, pid, host, COALESCE(snapshot_id, 0) FROM loads "
         "ORDER BY load_id");
  std::vector<LoadRecord> out;
  while (true) {
    WS_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back({s.Int(0), s.Text(1), s.Text(2), s.Int(3), s.Text(4), s.Int(5)});
  }
  return out;
}

Status Catalog::SetCursor(const std::string& source, const std::string& key,
                         const std::string& value) {
  Stmt up(*db_,
          "INSERT INTO cursors(source, key, value, snapshot_id) VALUES(?, ?, ?, 0) "
          "ON CONFLICT(source, key) DO UPDATE SET value = excluded.value");
  up.Bind(1, source).Bind(2, key).Bind(3, value);
  return up.Run();
}


StatusOr<int64_t> Catalog::Commit(const CommitRequest& req) {
  Transaction txn(*db_);
  WS_RETURN_IF_ERROR(txn.Begin());
  InCommit in_commit(in_commit_);
  std::set<std::string> touched;  // the tables this commit changes, for the observer
  // The audit log's newest entry, anchored with the snapshot (audit/audit_log.h).
  std::optional<audit::Anchor> anchor;
  if (!audit_log_path_.empty()) {
    WS_ASSIGN_OR_RETURN(anchor, audit::AuditLog(audit_log_path_).Tail());
  }
  Stmt snap(*db_,
            "INSERT INTO snapshots(committed_at, operation, load_id, summary, audit_seq, "
            "audit_hash) VALUES(?, ?, ?, ?, ?, ?)");
  snap.Bind(1, IsoUtc(NowMicros())).Bind(2, req.operation).Bind(3, req.load_id).Bind(4, req.summary);
  if (anchor) {
    snap.Bind(5, anchor->seq).Bind(6, anchor->hash);
  } else {
    snap.BindNull(5).BindNull(6);
  }
  WS_RETURN_IF_ERROR(snap.Run());
  const int64_t snapshot_id = db_->LastInsertId();

  for (const TableUpdate& t : req.tables) {
    touched.insert(t.name);
    WS_ASSIGN_OR_RETURN(auto info, GetTable(t.name));
    int64_t table_id;
    std::vector<ColumnSpec> current;
    int version = 0;
    if (!info) {
      Stmt ins(*db_,
               "INSERT INTO tables(name, parent, partition_by, created_snapshot, key_column, "
               "key_mode) VALUES(?, ?, ?, ?, ?, ?)");
      ins.Bind(1, t.name).Bind(2, t.parent).Bind(3, t.partition_by).Bind(4, snapshot_id);
      ins.Bind(5, t.key_column).Bind(6, t.key_mode);
      WS_RETURN_IF_ERROR(ins.Run());
      table_id = db_->LastInsertId();
    } else {
      table_id = info->table_id;
      if (!t.key_column.empty() && info->key_column.empty()) {
        Stmt key(*db_, "UPDATE tables SET key_column = ?, key_mode = ? WHERE table_id = ?");
        key.Bind(1, t.key_column).Bind(2, t.key_mode).Bind(3, table_id);
        WS_RETURN_IF_ERROR(key.Run());
      }
      Stmt sv(*db_,
              "SELECT version, columns FROM schema_versions WHERE table_id = ? "
              "ORDER BY version DESC LIMIT 1");
      sv.Bind(1, table_id);
      WS_ASSIGN_OR_RETURN(bool row, sv.Step());
      if (row) {
        version = static_cast<int>(sv.Int(0));
        WS_ASSIGN_OR_RETURN(current, ColumnsFromJson(sv.Text(1)));
      }
    }
    WS_ASSIGN_OR_RETURN(auto merged, MergeColumns(current, t.columns));
    if (merged != current || version == 0) {
      Stmt ins(*db_,
               "INSERT INTO schema_versions(table_id, version, snapshot_id, columns) "
               "VALUES(?, ?, ?, ?)");
      ins.Bind(1, table_id).Bind(2, version + 1).Bind(3, snapshot_id).Bind(4,
                                                                           ColumnsToJson(merged));
      WS_RETURN_IF_ERROR(ins.Run());
    }
  }

  for (const DataFile& f : req.added) {
    touched.insert(f.table);
    Stmt id(*db_, "SELECT table_id FROM tables WHERE name = ?");
    id.Bind(1, f.table);
    WS_ASSIGN_OR_RETURN(bool row, id.Step());
    if (!row) {
      return absl::InvalidArgumentError(
          StrCat("commit adds file ", f.key, " to unknown table ", f.table));
    }
    Stmt ins(*db_,
             "INSERT INTO data_files(table_id, key, partition, row_count, size_bytes, columns, "
             "added_snapshot) VALUES(?, ?, ?, ?, ?, ?, ?)");
    ins.Bind(1, id.Int(0)).Bind(2, f.key).Bind(3, f.partition).Bind(4, f.row_count);
    ins.Bind(5, f.size_bytes).Bind(6, ColumnsToJson(f.columns)).Bind(7, snapshot_id);
    WS_RETURN_IF_ERROR(ins.Run());
    const int64_t file_id = db_->LastInsertId();
    for (const ColumnStats& c : f.stats) {
      Stmt one(*db_,
               "INSERT INTO column_stats(file_id, column_name, min_value, max_value, null_count) "
               "VALUES(?, ?, ?, ?, ?)");
      one.Bind(1, file_id).Bind(2, c.column).Bind(3, c.min).Bind(4, c.max).Bind(5, c.null_count);
      WS_RETURN_IF_ERROR(one.Run());
    }
  }
  for (const std::string& key : req.removed_keys) {
    Stmt owner(*db_,
               "SELECT t.name FROM data_files d JOIN tables t ON t.table_id = d.table_id "
               "WHERE d.key = ?");
    owner.Bind(1, key);
    WS_ASSIGN_OR_RETURN(bool known, owner.Step());
    if (known) touched.insert(owner.Text(0));
    Stmt rm(*db_,
            "UPDATE data_files SET removed_snapshot = ? WHERE key = ? AND removed_snapshot IS NULL");
    rm.Bind(1, snapshot_id).Bind(2, key);
    WS_RETURN_IF_ERROR(rm.Run());
    if (db_->Changes() != 1) {  // a concurrent commit (another compaction) removed it
      return absl::AbortedError(StrCat("file ", key, " is no longer live; retry"));
    }
  }
  for (const Cursor& c : req.cursors) {
    Stmt up(*db_,
            "INSERT INTO cursors(source, key, value, snapshot_id) VALUES(?, ?, ?, ?) "
            "ON CONFLICT(source, key) DO UPDATE SET value = excluded.value, "
            "snapshot_id = excluded.snapshot_id");
    up.Bind(1, c.source).Bind(2, c.key).Bind(3, c.value).Bind(4, snapshot_id);
    WS_RETURN_IF_ERROR(up.Run());
  }
  if (req.load_id != 0) {
    Stmt ld(*db_,
            "UPDATE loads SET status = 'committed', snapshot_id = ?, finished_at = ? "
            "WHERE load_id = ?");
    ld.Bind(1, snapshot_id).Bind(2, IsoUtc(NowMicros())).Bind(3, req.load_id);
    WS_RETURN_IF_ERROR(ld.Run());
  }
  if (observer_) {
    WS_RETURN_IF_ERROR(observer_->Prepare(
        *this, snapshot_id, req, std::vector<std::string>(touched.begin(), touched.end())));
  }
  WS_RETURN_IF_ERROR(txn.Commit());
  if (observer_) observer_->Published(*this, snapshot_id);
  return snapshot_id;
}

StatusOr<std::map<std::string, int>> Catalog::FieldIds(const std::string& table,
                                                       const std::vector<std::string>& columns) {
  auto read = [&]() -> StatusOr<std::map<std::string, int>> {
    Stmt s(*db_, "SELECT column_name, field_id FROM field_ids WHERE table_name = ?");
    s.Bind(1, table);
    std::map<std::string, int> out;
    while (true) {
      WS_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      out[s.Text(0)] = static_cast<int>(s.Int(1));
    }
    return out;
  };
  WS_ASSIGN_OR_RETURN(auto ids, read());
  std::vector<std::string> missing;
  for (const std::string& c : columns) {
    if (!ids.contains(c) && std::find(missing.begin(), missing.end(), c) == missing.end()) {
      missing.push_back(c);
    }
  }
  if (missing.empty()) return ids;
  // New ids take max + 1 under the writer lock; inside a commit they join its transaction.
  std::optional<Transaction> txn;
  if (!in_commit_) {
    txn.emplace(*db_);
    WS_RETURN_IF_ERROR(txn->Begin());
  }
  for (const std::string& c : missing) {
    Stmt ins(*db_,
             "INSERT INTO field_ids(table_name, column_name, field_id) SELECT ?1, ?2, "
             "COALESCE(MAX(field_id), 0) + 1 FROM field_ids WHERE table_name = ?1 "
             "ON CONFLICT(table_name, column_name) DO NOTHING");
    ins.Bind(1, table).Bind(2, c);
    WS_RETURN_IF_ERROR(ins.Run());
  }
  if (txn) WS_RETURN_IF_ERROR(txn->Commit());
  return read();
}

StatusOr<std::optional<std::string>> Catalog::ExportState(int64_t table_id,
                                                          const std::string& format) {
  Stmt s(*db_, "SELECT state FROM table_exports WHERE table_id = ? AND format = ?");
  s.Bind(1, table_id).Bind(2, format);
  WS_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(s.Text(0));
}

Status Catalog::SetExportState(int64_t table_id, const std::string& format,
                               const std::string& state, const std::vector<std::string>& added_keys,
                               const std::vector<std::string>& removed_keys) {
  Stmt up(*db_,
          "INSERT INTO table_exports(table_id, format, state) VALUES(?, ?, ?) "
          "ON CONFLICT(table_id, format) DO UPDATE SET state = excluded.state");
  up.Bind(1, table_id).Bind(2, format).Bind(3, state);
  WS_RETURN_IF_ERROR(up.Run());
  for (const std::string& key : added_keys) {
    Stmt ins(*db_,
             "INSERT INTO export_files(key, table_id) VALUES(?, ?) ON CONFLICT(key) DO NOTHING");
    ins.Bind(1, key).Bind(2, table_id);
    WS_RETURN_IF_ERROR(ins.Run());
  }
  for (const std::string& key : removed_keys) {
    Stmt rm(*db_, "DELETE FROM export_files WHERE key = ?");
    rm.Bind(1, key);
    WS_RETURN_IF_ERROR(rm.Run());
  }
  return absl::OkStatus();
}

}  // namespace watershed::lake
