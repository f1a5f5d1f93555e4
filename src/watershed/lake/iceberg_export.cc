// lake/iceberg_export.cc — see iceberg_export.h; what is written when: docs/formats/iceberg.md.
#include "watershed/lake/iceberg_export.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>

#include "watershed/base/ids.h"
#include "watershed/base/log.h"
#include "watershed/base/strings.h"
#include "watershed/lake/reader.h"
#include "watershed/lake/writer.h"

namespace watershed::lake {

using nlohmann::json;
using warehouse::QuoteLiteral;

std::string IcebergType(ColumnType type) {
  switch (type) {
    case ColumnType::kBoolean:
      return "boolean";
    case ColumnType::kBigint:
      return "long";
    case ColumnType::kDouble:
      return "double";
    case ColumnType::kDecimal:
      return "decimal(18, 4)";
    case ColumnType::kDate:
      return "date";
    case ColumnType::kTimestamp:
      return "timestamp";
    case ColumnType::kVarchar:
      return "string";
  }
  return "string";
}

iceberg::Schema IcebergSchema(const std::vector<ColumnSpec>& columns,
                              const std::map<std::string, int>& ids, int schema_id) {
  iceberg::Schema schema;
  schema.schema_id = schema_id;
  for (const ColumnSpec& c : columns) {
    auto it = ids.find(c.name);
    schema.fields.push_back({it == ids.end() ? 0 : it->second, c.name, IcebergType(c.type), false});
  }
  return schema;
}

bool IcebergCanRead(ColumnType from, ColumnType to) { return from == to; }

// The export's record of one table, kept as JSON in the catalog (Catalog::ExportState).
struct IcebergExporter::State {
  struct Metadata {
    int version = 0;
    std::string key;
    int64_t ms = 0;
    int64_t snapshot = 0;  // the current snapshot it names
  };
  struct Snap {
    int64_t id = 0;
    std::optional<int64_t> parent;
    int64_t ms = 0;
    std::string list;  // manifest list key
    int schema = 0;
    std::map<std::string, std::string> summary;
  };
  // A manifest or a delete file, needed by the snapshots from `from` up to (not including) `to`.
  struct Manifest {
    std::string key;
    int64_t length = 0;
    int content = 0;
    int64_t seq = 0, min_seq = 0, snapshot = 0;
    int32_t added_files = 0, existing_files = 0;
    int64_t added_rows = 0, existing_rows = 0;
    int64_t from = 0;
    std::optional<int64_t> to;
  };
  struct Delete {
    std::string key;
    std::string partition;  // the catalog's "key=value" of the data files it applies to
    int64_t rows = 0, size = 0, seq = 0;
    std::string hash;  // of its (file, position) pairs: an unchanged set keeps its file
    int64_t from = 0;
    std::optional<int64_t> to;
  };
  std::string uuid;
  int version = 0;
  std::vector<Metadata> metadata;
  std::vector<Snap> snapshots;
  std::vector<Manifest> manifests;
  std::vector<Delete> deletes;

  static std::optional<int64_t> OptInt(const json& j, const char* k) {
    if (!j.contains(k) || j[k].is_null()) return std::nullopt;
    return j[k].get<int64_t>();
  }
  static json Opt(const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); }

  std::string ToJson() const {
    json j = {{"uuid", uuid}, {"version", version}};
    j["metadata"] = json::array();
    for (const Metadata& m : metadata) {
      j["metadata"].push_back(
          {{"version", m.version}, {"key", m.key}, {"ms", m.ms}, {"snapshot", m.snapshot}});
    }
    j["snapshots"] = json::array();
    for (const Snap& s : snapshots) {
      j["snapshots"].push_back({{"id", s.id},
                                {"parent", Opt(s.parent)},
                                {"ms", s.ms},
                                {"list", s.list},
                                {"schema", s.schema},
                                {"summary", s.summary}});
    }
    j["manifests"] = json::array();
    for (const Manifest& m : manifests) {
      j["manifests"].push_back({{"key", m.key},
                                {"length", m.length},
                                {"content", m.content},
                                {"seq", m.seq},
                                {"min_seq", m.min_seq},
                                {"snapshot", m.snapshot},
                                {"added_files", m.added_files},
                                {"existing_files", m.existing_files},
                                {"added_rows", m.added_rows},
                                {"existing_rows", m.existing_rows},
                                {"from", m.from},
                                {"to", Opt(m.to)}});
    }
    j["deletes"] = json::array();
    for (const Delete& d : deletes) {
      j["deletes"].push_back({{"key", d.key},
                              {"partition", d.partition},
                              {"rows", d.rows},
                              {"size", d.size},
                              {"seq", d.seq},
                              {"hash", d.hash},
                              {"from", d.from},
                              {"to", Opt(d.to)}});
    }
    return j.dump();
  }

  static StatusOr<State> FromJson(const std::string& text) {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      return absl::DataLossError("catalog: malformed Iceberg export state");
    }
    State s;
    try {
      s.uuid = j.at("uuid").get<std::string>();
      s.version = j.at("version").get<int>();
      for (const json& m : j.at("metadata")) {
        s.metadata.push_back({m.at("version").get<int>(), m.at("key").get<std::string>(),
                              m.at("ms").get<int64_t>(), m.at("snapshot").get<int64_t>()});
      }
      for (const json& x : j.at("snapshots")) {
        Snap sn;
        sn.id = x.at("id").get<int64_t>();
        sn.parent = OptInt(x, "parent");
        sn.ms = x.at("ms").get<int64_t>();
        sn.list = x.at("list").get<std::string>();
        sn.schema = x.at("schema").get<int>();
        sn.summary = x.at("summary").get<std::map<std::string, std::string>>();
        s.snapshots.push_back(std::move(sn));
      }
      for (const json& x : j.at("manifests")) {
        Manifest m;
        m.key = x.at("key").get<std::string>();
        m.length = x.at("length").get<int64_t>();
        m.content = x.at("content").get<int>();
        m.seq = x.at("seq").get<int64_t>();
        m.min_seq = x.at("min_seq").get<int64_t>();
        m.snapshot = x.at("snapshot").get<int64_t>();
        m.added_files = x.at("added_files").get<int32_t>();
        m.existing_files = x.at("existing_files").get<int32_t>();
        m.added_rows = x.at("added_rows").get<int64_t>();
        m.existing_rows = x.at("existing_rows").get<int64_t>();
        m.from = x.at("from").get<int64_t>();
        m.to = OptInt(x, "to");
        s.manifests.push_back(std::move(m));
      }
      for (const json& x : j.at("deletes")) {
        Delete d;
        d.key = x.at("key").get<std::string>();
        d.partition = x.at("partition").get<std::string>();
        d.rows = x.at("rows").get<int64_t>();
        d.size = x.at("size").get<int64_t>();
        d.seq = x.at("seq").get<int64_t>();
        d.hash = x.at("hash").get<std::string>();
        d.from = x.at("from").get<int64_t>();
        d.to = OptInt(x, "to");
        s.deletes.push_back(std::move(d));
      }
    } catch (const json::exception& e) {
      return absl::DataLossError(StrCat("catalog: malformed Iceberg export state: ", e.what()));
    }
    return s;
  }
};

namespace {

constexpr std::string_view kMetadataSuffix = ".metadata.json";
constexpr std::string_view kVersionHint = "version-hint.text";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string PartitionKey(const TableInfo& info) {
  return info.partition_by.empty() ? std::string(kIngestDatePartition) : info.partition_by;
}

// The Iceberg columns of a table: the partition column first when it is not a data column
// (the ingest date), then the schema's.
std::vector<ColumnSpec> IcebergColumns(const TableInfo& info,
                                       const std::vector<ColumnSpec>& schema) {
  const std::string pkey = PartitionKey(info);
  std::vector<ColumnSpec> out;
  if (std::none_of(schema.begin(), schema.end(),
                   [&](const ColumnSpec& c) { return c.name == pkey; })) {
    out.push_back({pkey, ColumnType::kDate});
  }
  out.insert(out.end(), schema.begin(), schema.end());
  return out;
}

// Identity on the partition column, or unpartitioned when Iceberg's manifests cannot carry its
// values here (decimal, timestamp partition columns).
iceberg::PartitionSpec SpecOf(const TableInfo& info, const iceberg::Schema& schema) {
  iceberg::PartitionSpec spec;
  const std::string pkey = PartitionKey(info);
  for (const iceberg::Field& f : schema.fields) {
    if (f.name != pkey) continue;
    if (f.type == "string" || f.type == "long" || f.type == "boolean" || f.type == "double" ||
        f.type == "date") {
      spec.fields.push_back({f.id, 1000, pkey});
    }
  }
  return spec;
}

std::vector<std::optional<std::string>> PartitionValues(const iceberg::PartitionSpec& spec,
                                                        const std::string& partition) {
  std::vector<std::optional<std::string>> out;
  if (spec.fields.empty()) return out;
  const size_t eq = partition.find('=');
  const std::string value = eq == std::string::npos ? "" : partition.substr(eq + 1);
  if (value == "NULL") {
    out.push_back(std::nullopt);
  } else {
    out.push_back(PercentDecode(value));
  }
  return out;
}

StatusOr<bool> Keyed(Catalog& catalog, const TableInfo& info) {
  if (!info.key_column.empty()) return true;
  if (info.parent.empty()) return false;
  WS_ASSIGN_OR_RETURN(auto parent, catalog.GetTable(info.parent));
  if (!parent) return false;
  return Keyed(catalog, *parent);
}

// The visible rows of `info`'s parent, as a subquery, when the parent's merge decides which of
// `info`'s rows are visible (as reader.cc's AttachLakeViews does); "" otherwise.
StatusOr<std::string> ParentView(Catalog& catalog, Storage& storage, const TableInfo& info,
                                 int64_t snapshot) {
  if (info.parent.empty()) return std::string();
  WS_ASSIGN_OR_RETURN(auto parent, catalog.GetTable(info.parent));
  if (!parent) return std::string();
  WS_ASSIGN_OR_RETURN(bool keyed, Keyed(catalog, *parent));
  if (!keyed) return std::string();
  auto state = catalog.GetTableState(info.parent, snapshot);
  if (!state.ok()) {
    if (state.status().code() == absl::StatusCode::kNotFound) return std::string();
    return state.status();
  }
  WS_ASSIGN_OR_RETURN(std::string grand, ParentView(catalog, storage, parent.value(), snapshot));
  WS_ASSIGN_OR_RETURN(std::string sql, TableScanSql(*state, storage, grand));
  return StrCat("(", sql, ")");
}

std::string MetadataDir(const std::string& table) {
  auto names = SplitTableName(table);
  return StrCat(TableFolder(names->first, names->second), "/metadata/");
}

// The table's root: its metadata folder's parent.
std::string TableRoot(const std::string& table) {
  const std::string dir = MetadataDir(table);
  return dir.substr(0, dir.size() - std::string("/metadata/").size());
}

}  // namespace

IcebergExporter::~IcebergExporter() = default;

namespace {

// Where `table` points once `state`'s newest metadata version is committed.
IcebergTablePointer PointerOf(const Storage& storage, const std::string& table,
                              const IcebergExporter::State& state, iceberg::Schema schema) {
  IcebergTablePointer p;
  p.table = table;
  p.location = storage.Uri(TableRoot(table));
  p.metadata_location = storage.Uri(state.metadata.back().key);
  if (state.metadata.size() > 1) {
    p.previous_metadata_location = storage.Uri(state.metadata[state.metadata.size() - 2].key);
  }
  p.metadata_version = state.metadata.back().version;
  p.schema = std::move(schema);
  return p;
}

}  // namespace

void IcebergExporter::AddPublisher(std::unique_ptr<IcebergPublisher> publisher) {
  publishers_.push_back(std::move(publisher));
  unpublished_.emplace_back();
}

int IcebergMetadataVersion(std::string_view metadata_location) {
  const std::string_view name = metadata_location.substr(metadata_location.rfind('/') + 1);
  if (name.size() < 6 || name[5] != '-' || !name.ends_with(kMetadataSuffix)) return 0;
  int version = 0;
  for (char c : name.substr(0, 5)) {
    if (c < '0' || c > '9') return 0;
    version = version * 10 + (c - '0');
  }
  return version;
}

StatusOr<warehouse::Connection*> IcebergExporter::Duck() {
  if (!conn_) {
    warehouse::DatabaseOptions options;
    options.threads = 1;
    WS_ASSIGN_OR_RETURN(db_, warehouse::Database::Open("", options));
    WS_ASSIGN_OR_RETURN(conn_, db_->Connect());
  }
  return conn_.get();
}

Status IcebergExporter::Prepare(Catalog& catalog, int64_t snapshot_id, const CommitRequest& request,
                                const std::vector<std::string>& tables) {
  hints_.clear();
  pending_.clear();
  // A keyed parent's new rows hide its children's older rows: children are exported too.
  WS_ASSIGN_OR_RETURN(auto all, catalog.ListTables(snapshot_id));
  std::set<std::string> wanted(tables.begin(), tables.end());
  for (bool grew = true; grew;) {
    grew = false;
    for (const TableInfo& t : all) {
      if (t.parent.empty() || !wanted.contains(t.parent) || wanted.contains(t.name)) continue;
      auto parent = std::find_if(all.begin(), all.end(),
                                 [&](const TableInfo& p) { return p.name == t.parent; });
      if (parent == all.end()) continue;
      WS_ASSIGN_OR_RETURN(bool keyed, Keyed(catalog, *parent));
      if (keyed && wanted.insert(t.name).second) grew = true;
    }
  }
  for (const std::string& table : wanted) {
    WS_RETURN_IF_ERROR(Annotate(ExportTable(catalog, table, snapshot_id, request),
                                StrCat("writing the Iceberg metadata of ", table)));
  }
  return absl::OkStatus();
}

void IcebergExporter::Published(Catalog& catalog, int64_t snapshot_id) {
  for (int64_t table_id : hints_) {
    // The newest version the catalog records (another process may have committed a newer one
    // than this commit's since).
    Status s = [&]() -> Status {
      WS_ASSIGN_OR_RETURN(auto saved, catalog.ExportState(table_id, kIcebergFormat));
      if (!saved) return absl::OkStatus();
      WS_ASSIGN_OR_RETURN(State state, State::FromJson(*saved));
      if (state.metadata.empty()) return absl::OkStatus();
      const std::string& newest = state.metadata.back().key;
      const size_t name = newest.rfind('/') + 1;
      return storage_->Put(StrCat(newest.substr(0, name), kVersionHint),
                           newest.substr(name, newest.size() - name - kMetadataSuffix.size()));
    }();
    if (!s.ok()) {
      LogWarn("could not update the Iceberg version hint; the next commit writes it again",
              {{"table_id", std::to_string(table_id)}, {"error", std::string(s.message())}});
    }
  }
  hints_.clear();
  // Then the catalogs of Iceberg tables, with what an earlier publish could not deliver.
  for (size_t i = 0; i < publishers_.size(); ++i) {
    std::map<std::string, IcebergTablePointer>& due = unpublished_[i];
    for (const IcebergTablePointer& p : pending_) due[p.table] = p;
    if (due.empty()) continue;
    std::vector<IcebergTablePointer> batch;
    for (auto& [name, p] : due) batch.push_back(p);
    Status s = publishers_[i]->Publish(batch);
    if (s.ok()) {
      due.clear();
    } else {
      LogWarn(StrCat("could not update the ", publishers_[i]->Name(),
                     " catalog; the next commit tries again, `watershed iceberg register` "
                     "repairs it"),
              {{"snapshot", std::to_string(snapshot_id)}, {"error", std::string(s.message())}});
    }
  }
  pending_.clear();
}

Status IcebergExporter::ExportTable(Catalog& catalog, const std::string& table, int64_t snapshot,
                                    const CommitRequest& request) {
  auto loaded = catalog.GetTableState(table, snapshot);
  if (!loaded.ok()) {
    if (loaded.status().code() == absl::StatusCode::kNotFound) return absl::OkStatus();
    return loaded.status();
  }
  const TableState& ts = *loaded;
  State state;
  WS_ASSIGN_OR_RETURN(auto saved, catalog.ExportState(ts.info.table_id, kIcebergFormat));
  if (saved) {
    WS_ASSIGN_OR_RETURN(state, State::FromJson(*saved));
  } else {
    state.uuid = NewUuid();
  }
  const std::vector<ColumnSpec> columns = IcebergColumns(ts.info, ts.schema.columns);
  std::vector<std::string> names;
  for (const ColumnSpec& c : columns) names.push_back(c.name);
  WS_ASSIGN_OR_RETURN(auto ids, catalog.FieldIds(table, names));
  const iceberg::Schema schema = IcebergSchema(columns, ids, ts.schema.version);
  const iceberg::PartitionSpec spec = SpecOf(ts.info, schema);

  // Every file must hold each column in a type Iceberg reads as the schema's (a widened
  // column's older files are rewritten by the load that widens it, load/session.cc).
  for (const DataFile& f : ts.files) {
    for (const ColumnSpec& c : f.columns) {
      auto it = std::find_if(ts.schema.columns.begin(), ts.schema.columns.end(),
                             [&](const ColumnSpec& s) { return s.name == c.name; });
      if (it == ts.schema.columns.end() || IcebergCanRead(c.type, it->type)) continue;
      const std::string what =
          StrCat("file ", f.key, " holds column ", c.name, " as ", ColumnTypeName(c.type),
                 " but the table's schema has ", ColumnTypeName(it->type));
      if (f.added_snapshot == snapshot) {
        return absl::AbortedError(StrCat(what, " (widened by a concurrent load); retry"));
      }
      LogWarn("Iceberg readers cannot read a file of this table until it is rewritten",
              {{"table", table}, {"problem", what}});
    }
  }

  const std::string dir = MetadataDir(table);
  const std::string commit_uuid = NewUuid();
  std::vector<std::string> written;
  auto put = [&](const std::string& key, std::string_view bytes) -> Status {
    WS_RETURN_IF_ERROR(storage_->PutNew(key, bytes));
    written.push_back(key);
    return absl::OkStatus();
  };
  auto current = [](const auto& item) { return !item.to.has_value(); };

  // Data manifests: one more for the files this commit added, or all live files rewritten into
  // one when files were removed (compaction) or the list grew too long.
  std::vector<const DataFile*> added;
  int64_t live_before = 0;
  int data_manifests = 0;
  for (const State::Manifest& m : state.manifests) {
    if (current(m) && m.content == 0) {
      live_before += m.added_files + m.existing_files;
      ++data_manifests;
    }
  }
  for (const DataFile& f : ts.files) {
    if (f.added_snapshot == snapshot) added.push_back(&f);
  }
  const bool removed = live_before != static_cast<int64_t>(ts.files.size() - added.size());
  const bool rewrite = removed || data_manifests + 1 > kMaxDataManifests || !saved;
  auto entry_of = [&](const DataFile& f) {
    iceberg::ManifestEntry e;
    const bool is_new = f.added_snapshot == snapshot;
    e.status = is_new ? iceberg::EntryStatus::kAdded : iceberg::EntryStatus::kExisting;
    e.snapshot_id = f.added_snapshot;
    e.sequence_number = f.added_snapshot;
    e.file_sequence_number = f.added_snapshot;
    e.file = {iceberg::Content::kData, storage_->Uri(f.key), f.row_count, f.size_bytes,
              PartitionValues(spec, f.partition)};
    return e;
  };
  auto write_manifest = [&](const std::vector<iceberg::ManifestEntry>& entries, int content,
                            int index) -> Status {
    WS_ASSIGN_OR_RETURN(
        std::string bytes,
        iceberg::EncodeManifest(schema, spec, static_cast<iceberg::Content>(content), entries));
    State::Manifest m;
    m.key = StrCat(dir, commit_uuid, "-m", index, ".avro");
    m.length = static_cast<int64_t>(bytes.size());
    m.content = content;
    m.seq = snapshot;
    m.min_seq = snapshot;
    m.snapshot = snapshot;
    m.from = snapshot;
    for (const iceberg::ManifestEntry& e : entries) {
      m.min_seq = std::min(m.min_seq, e.sequence_number);
      if (e.status == iceberg::EntryStatus::kAdded) {
        ++m.added_files;
        m.added_rows += e.file.record_count;
      } else {
        ++m.existing_files;
        m.existing_rows += e.file.record_count;
      }
    }
    WS_RETURN_IF_ERROR(put(m.key, bytes));
    state.manifests.push_back(std::move(m));
    return absl::OkStatus();
  };
  if (rewrite) {
    for (State::Manifest& m : state.manifests) {
      if (current(m) && m.content == 0) m.to = snapshot;
    }
    std::vector<iceberg::ManifestEntry> entries;
    for (const DataFile& f : ts.files) entries.push_back(entry_of(f));
    if (!entries.empty()) WS_RETURN_IF_ERROR(write_manifest(entries, 0, 0));
  } else if (!added.empty()) {
    std::vector<iceberg::ManifestEntry> entries;
    for (const DataFile* f : added) entries.push_back(entry_of(*f));
    WS_RETURN_IF_ERROR(write_manifest(entries, 0, 0));
  }

  // Position deletes: the rows a keyed merge hides, one file per partition; a partition whose
  // hidden rows did not change keeps its file.
  bool deletes_changed = false;
  int64_t hidden_rows = 0;
  WS_ASSIGN_OR_RETURN(bool keyed, Keyed(catalog, ts.info));
  if (keyed || std::any_of(state.deletes.begin(), state.deletes.end(), current)) {
    struct Part {
      int64_t rows = 0;
      std::string hash;
    };
    std::map<std::string, Part> parts;
    WS_ASSIGN_OR_RETURN(warehouse::Connection * conn, Duck());
    if (keyed && !ts.files.empty()) {
      WS_ASSIGN_OR_RETURN(std::string parent, ParentView(catalog, *storage_, ts.info, snapshot));
      WS_ASSIGN_OR_RETURN(std::string every,
                          TableScanSql(ts, *storage_, parent, {.row_ids = true, .merge = false}));
      WS_ASSIGN_OR_RETURN(std::string visible,
                          TableScanSql(ts, *storage_, parent, {.row_ids = true, .merge = true}));
      std::string paths;
      for (const DataFile& f : ts.files) {
        WS_ASSIGN_OR_RETURN(std::string path, storage_->PathForRead(f.key));
        paths += StrCat(paths.empty() ? "" : ", ", "(", QuoteLiteral(path), ", ",
                        QuoteLiteral(storage_->Uri(f.key)), ", ", QuoteLiteral(f.partition), ")");
      }
      WS_RETURN_IF_ERROR(
          conn->Execute(StrCat("CREATE OR REPLACE TEMP TABLE ws_paths AS SELECT * FROM (VALUES ",
                               paths, ") AS t(path, uri, part)")));
      WS_RETURN_IF_ERROR(conn->Execute(StrCat(
          "CREATE OR REPLACE TEMP TABLE ws_hidden AS SELECT p.uri AS file_path, "
          "h.file_row_number AS pos, p.part AS part FROM (SELECT _ws_file, file_row_number FROM (",
          every, ") EXCEPT ALL SELECT _ws_file, file_row_number FROM (", visible,
          ")) h JOIN ws_paths p ON p.path = h._ws_file")));
      WS_ASSIGN_OR_RETURN(
          auto r, conn->Query("SELECT part, count(*), md5(string_agg(file_path || ':' || pos, ',' "
                              "ORDER BY file_path, pos)) FROM ws_hidden GROUP BY part"));
      for (size_t i = 0; i < r.row_count(); ++i) {
        parts[r.GetString(0, i)] = {r.GetInt64(1, i), r.GetString(2, i)};
      }
    }
    // Retire delete files whose partition's hidden rows changed (or has none now).
    std::set<std::string> kept;
    for (State::Delete& d : state.deletes) {
      if (!current(d)) continue;
      auto it = parts.find(d.partition);
      if (it != parts.end() && it->second.hash == d.hash) {
        kept.insert(d.partition);
        continue;
      }
      d.to = snapshot;
      deletes_changed = true;
    }
    int index = 0;
    for (const auto& [partition, part] : parts) {
      if (kept.contains(partition)) continue;
      deletes_changed = true;
      State::Delete d;
      d.key = StrCat(dir, "delete-", snapshot, "-", index++, "-", commit_uuid, ".parquet");
      d.partition = partition;
      d.rows = part.rows;
      d.hash = part.hash;
      d.seq = snapshot;
      d.from = snapshot;
      WS_ASSIGN_OR_RETURN(std::string path, storage_->PathForWrite(d.key));
      WS_RETURN_IF_ERROR(conn->Execute(StrCat(
          "COPY (SELECT file_path, pos FROM ws_hidden WHERE part = ", QuoteLiteral(partition),
          " ORDER BY file_path, pos) TO ", QuoteLiteral(path),
          " (FORMAT parquet, FIELD_IDS {file_path: 2147483546, pos: 2147483545})")));
      std::error_code ec;
      d.size = static_cast<int64_t>(std::filesystem::file_size(path, ec));
      WS_RETURN_IF_ERROR(storage_->Publish(d.key));
      written.push_back(d.key);
      state.deletes.push_back(std::move(d));
    }
    if (deletes_changed) {
      for (State::Manifest& m : state.manifests) {
        if (current(m) && m.content == 1) m.to = snapshot;
      }
      std::vector<iceberg::ManifestEntry> entries;
      for (const State::Delete& d : state.deletes) {
        if (!current(d)) continue;
        iceberg::ManifestEntry e;
        e.status =
            d.from == snapshot ? iceberg::EntryStatus::kAdded : iceberg::EntryStatus::kExisting;
        e.snapshot_id = d.from;
        e.sequence_number = d.seq;
        e.file_sequence_number = d.seq;
        e.file = {iceberg::Content::kPositionDeletes, storage_->Uri(d.key), d.rows, d.size,
                  PartitionValues(spec, d.partition)};
        entries.push_back(std::move(e));
      }
      if (!entries.empty()) WS_RETURN_IF_ERROR(write_manifest(entries, 1, 1));
    }
    for (const State::Delete& d : state.deletes) {
      if (current(d)) hidden_rows += d.rows;
    }
  }

  // The snapshot and its manifest list.
  State::Snap snap;
  snap.id = snapshot;
  if (!state.snapshots.empty()) snap.parent = state.snapshots.back().id;
  snap.ms = NowMs();
  snap.schema = ts.schema.version;
  std::string operation = "append";
  if (removed) {
    operation = request.operation == "compact" ? "replace" : "overwrite";
  } else if (deletes_changed) {
    operation = added.empty() ? "delete" : "overwrite";
  }
  int64_t added_rows = 0;
  for (const DataFile* f : added) added_rows += f->row_count;
  int delete_files = 0;
  for (const State::Delete& d : state.deletes) delete_files += current(d) ? 1 : 0;
  snap.summary = {{"operation", operation},
                  {"added-data-files", StrCat(added.size())},
                  {"added-records", StrCat(added_rows)},
                  {"total-data-files", StrCat(ts.files.size())},
                  {"total-records", StrCat(ts.row_count)},
                  {"total-delete-files", StrCat(delete_files)},
                  {"total-position-deletes", StrCat(hidden_rows)},
                  {"total-equality-deletes", "0"},
                  {"watershed.operation", request.operation},
                  {"watershed.snapshot", StrCat(snapshot)}};
  if (request.load_id != 0) snap.summary["watershed.load-id"] = StrCat(request.load_id);
  snap.list = StrCat(dir, "snap-", snapshot, "-", commit_uuid, ".avro");
  std::vector<iceberg::ManifestFile> list;
  for (const State::Manifest& m : state.manifests) {
    if (!current(m)) continue;
    iceberg::ManifestFile f;
    f.path = storage_->Uri(m.key);
    f.length = m.length;
    f.spec_id = 0;
    f.content = static_cast<iceberg::Content>(m.content);
    f.sequence_number = m.seq;
    f.min_sequence_number = m.min_seq;
    f.added_snapshot_id = m.snapshot;
    f.added_files = m.added_files;
    f.existing_files = m.existing_files;
    f.added_rows = m.added_rows;
    f.existing_rows = m.existing_rows;
    list.push_back(std::move(f));
  }
  iceberg::Snapshot isnap;
  isnap.snapshot_id = snapshot;
  isnap.parent_id = snap.parent;
  isnap.sequence_number = snapshot;
  isnap.timestamp_ms = snap.ms;
  WS_RETURN_IF_ERROR(put(snap.list, iceberg::EncodeManifestList(isnap, list)));
  state.snapshots.push_back(std::move(snap));

  std::vector<std::string> retired;
  WS_RETURN_IF_ERROR(WriteMetadata(catalog, ts, state, written, retired));
  return catalog.SetExportState(ts.info.table_id, kIcebergFormat, state.ToJson(), written, retired);
}

Status IcebergExporter::WriteMetadata(Catalog& catalog, const TableState& ts, State& state,
                                      std::vector<std::string>& written,
                                      std::vector<std::string>& retired) {
  // As Iceberg's write.metadata.previous-versions-max with delete-after-commit: the oldest
  // versions leave the log, and gc removes their files.
  while (state.metadata.size() >= static_cast<size_t>(kMaxMetadataVersions)) {
    retired.push_back(state.metadata.front().key);
    state.metadata.erase(state.metadata.begin());
  }
  const std::string& table = ts.info.name;
  const std::string dir = MetadataDir(table);
  WS_ASSIGN_OR_RETURN(auto history, catalog.SchemaHistory(table));
  const std::vector<ColumnSpec> columns = IcebergColumns(ts.info, ts.schema.columns);
  std::vector<std::string> names;
  for (const ColumnSpec& c : columns) names.push_back(c.name);
  WS_ASSIGN_OR_RETURN(auto ids, catalog.FieldIds(table, names));

  iceberg::TableMetadata m;
  m.table_uuid = state.uuid;
  m.location = storage_->Uri(TableRoot(table));
  for (const SchemaVersion& v : history) {
    if (v.version > ts.schema.version) continue;
    m.schemas.push_back(IcebergSchema(IcebergColumns(ts.info, v.columns), ids, v.version));
  }
  m.current_schema_id = ts.schema.version;
  m.spec = SpecOf(ts.info, IcebergSchema(columns, ids, ts.schema.version));
  for (const State::Snap& s : state.snapshots) {
    iceberg::Snapshot x;
    x.snapshot_id = s.id;
    x.parent_id = s.parent;
    x.sequence_number = s.id;
    x.timestamp_ms = s.ms;
    x.manifest_list = storage_->Uri(s.list);
    x.summary = s.summary;
    x.schema_id = s.schema;
    m.snapshots.push_back(std::move(x));
    m.last_sequence_number = std::max(m.last_sequence_number, s.id);
  }
  if (!state.snapshots.empty()) m.current_snapshot_id = state.snapshots.back().id;
  m.last_updated_ms = NowMs();
  for (const State::Metadata& old : state.metadata)
    m.metadata_log.push_back({old.ms, storage_->Uri(old.key)});
  json mapping = json::array();
  for (const ColumnSpec& c : columns)
    mapping.push_back({{"field-id", ids[c.name]}, {"names", {c.name}}});
  m.properties = {{"write.format.default", "parquet"},
                  {"write.parquet.compression-codec", "zstd"},
                  {"schema.name-mapping.default", mapping.dump()},
                  {"watershed.table", table}};

  ++state.version;
  State::Metadata meta;
  meta.version = state.version;
  meta.key = StrCat(dir, fmt::format("{:05d}", state.version), "-", NewUuid(), kMetadataSuffix);
  meta.ms = m.last_updated_ms;
  meta.snapshot = m.current_snapshot_id.value_or(0);
  WS_RETURN_IF_ERROR(storage_->PutNew(meta.key, iceberg::EncodeMetadata(m)));
  written.push_back(meta.key);
  written.push_back(StrCat(dir, kVersionHint));  // written by Published, after the commit
  hints_.push_back(ts.info.table_id);
  state.metadata.push_back(std::move(meta));
  if (!publishers_.empty()) {
    pending_.push_back(
        PointerOf(*storage_, table, state, IcebergSchema(columns, ids, ts.schema.version)));
  }
  return absl::OkStatus();
}

StatusOr<std::vector<std::string>> IcebergExporter::Expire(Catalog& catalog, int64_t keep_from) {
  hints_.clear();
  pending_.clear();
  std::vector<std::string> doomed;
  WS_ASSIGN_OR_RETURN(auto tables, catalog.ListTables(0));
  for (const TableInfo& t : tables) {
    WS_ASSIGN_OR_RETURN(auto saved, catalog.ExportState(t.table_id, kIcebergFormat));
    if (!saved) continue;
    WS_ASSIGN_OR_RETURN(State state, State::FromJson(*saved));
    // Kept: the snapshots from keep_from on, and the one a reader at keep_from reads.
    size_t first = 0;
    for (size_t i = 0; i < state.snapshots.size(); ++i) {
      if (state.snapshots[i].id <= keep_from) first = i;
    }
    if (first == 0) continue;
    const int64_t oldest = state.snapshots[first].id;
    std::vector<std::string> removed;
    for (size_t i = 0; i < first; ++i) removed.push_back(state.snapshots[i].list);
    state.snapshots.erase(state.snapshots.begin(), state.snapshots.begin() + first);
    auto needed = [&](const std::optional<int64_t>& to) { return !to || *to > oldest; };
    std::erase_if(state.manifests, [&](const State::Manifest& m) {
      if (needed(m.to)) return false;
      removed.push_back(m.key);
      return true;
    });
    std::erase_if(state.deletes, [&](const State::Delete& d) {
      if (needed(d.to)) return false;
      removed.push_back(d.key);
      return true;
    });
    std::erase_if(state.metadata, [&](const State::Metadata& m) {
      if (m.snapshot >= oldest) return false;
      removed.push_back(m.key);
      return true;
    });
    WS_ASSIGN_OR_RETURN(TableState ts, catalog.GetTableState(t.name, 0));
    std::vector<std::string> written;
    WS_RETURN_IF_ERROR(WriteMetadata(catalog, ts, state, written, removed));
    WS_RETURN_IF_ERROR(
        catalog.SetExportState(t.table_id, kIcebergFormat, state.ToJson(), written, removed));
    doomed.insert(doomed.end(), removed.begin(), removed.end());
  }
  return doomed;
}

StatusOr<IcebergTableSummary> DescribeIcebergTable(Catalog& catalog, Storage& storage,
                                                   const std::string& table, int64_t snapshot) {
  WS_ASSIGN_OR_RETURN(auto info, catalog.GetTable(table));
  if (!info) {
    return absl::NotFoundError(
        StrCat("no table ", table, " in the lake (run `watershed tables` to list tables)"));
  }
  WS_ASSIGN_OR_RETURN(auto saved, catalog.ExportState(info->table_id, kIcebergFormat));
  if (!saved) {
    return absl::NotFoundError(StrCat("table ", table,
                                      " has no Iceberg metadata yet: it was last written before "
                                      "the export existed; its next load writes them"));
  }
  WS_ASSIGN_OR_RETURN(const IcebergExporter::State state, IcebergExporter::State::FromJson(*saved));
  if (state.metadata.empty()) {
    return absl::NotFoundError(StrCat("table ", table, " has no Iceberg metadata"));
  }
  IcebergTableSummary out;
  out.table = table;
  out.location = storage.Uri(TableRoot(table));
  out.metadata_location = storage.Uri(state.metadata.back().key);
  out.metadata_key = state.metadata.back().key;
  out.metadata_version = state.metadata.back().version;
  out.snapshots = static_cast<int>(state.snapshots.size());
  const IcebergExporter::State::Snap* chosen = nullptr;
  for (const auto& s : state.snapshots) {
    if (snapshot == 0 || s.id <= snapshot) chosen = &s;
  }
  if (chosen == nullptr) {
    return absl::NotFoundError(StrCat("table ", table, " has no Iceberg snapshot at or before ",
                                      snapshot, " (`watershed iceberg show ", table,
                                      "` lists the latest)"));
  }
  out.snapshot_id = chosen->id;
  out.sequence_number = chosen->id;
  out.timestamp_ms = chosen->ms;
  out.manifest_list = storage.Uri(chosen->list);
  out.schema_id = chosen->schema;
  out.summary = chosen->summary;
  for (const auto& m : state.manifests) {
    if (m.from > out.snapshot_id || (m.to && *m.to <= out.snapshot_id)) continue;
    (m.content == 0 ? out.data_manifests : out.delete_manifests)++;
  }
  return out;
}

StatusOr<std::vector<IcebergTablePointer>> IcebergPointers(Catalog& catalog, Storage& storage,
                                                           const std::vector<std::string>& tables) {
  WS_ASSIGN_OR_RETURN(auto all, catalog.ListTables(0));
  std::vector<IcebergTablePointer> out;
  for (const TableInfo& info : all) {
    const bool named = std::find(tables.begin(), tables.end(), info.name) != tables.end();
    if (!tables.empty() && !named) continue;
    WS_ASSIGN_OR_RETURN(auto saved, catalog.ExportState(info.table_id, kIcebergFormat));
    std::optional<IcebergExporter::State> state;
    if (saved) {
      WS_ASSIGN_OR_RETURN(state, IcebergExporter::State::FromJson(*saved));
    }
    if (!state || state->metadata.empty()) {
      if (!named) continue;
      return absl::NotFoundError(StrCat("table ", info.name,
                                        " has no Iceberg metadata yet: it was last written before "
                                        "the export existed; its next load writes them"));
    }
    WS_ASSIGN_OR_RETURN(auto history, catalog.SchemaHistory(info.name));
    if (history.empty()) continue;
    const std::vector<ColumnSpec> columns = IcebergColumns(info, history.back().columns);
    std::vector<std::string> names;
    for (const ColumnSpec& c : columns) names.push_back(c.name);
    WS_ASSIGN_OR_RETURN(auto ids, catalog.FieldIds(info.name, names));
    out.push_back(
        PointerOf(storage, info.name, *state, IcebergSchema(columns, ids, history.back().version)));
  }
  for (const std::string& t : tables) {
    if (std::none_of(out.begin(), out.end(), [&](const auto& p) { return p.table == t; })) {
      return absl::NotFoundError(
          StrCat("no table ", t, " in the lake (run `watershed tables` to list tables)"));
    }
  }
  return out;
}

}  // namespace watershed::lake
