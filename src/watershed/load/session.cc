// load/session.cc — see session.h.
#include "watershed/load/session.h"

#include <chrono>
#include <unordered_map>

#include "absl/strings/escaping.h"
#include "watershed/base/log.h"
#include "watershed/base/strings.h"
#include "watershed/audit/audit_log.h"
#include "watershed/observe/lineage.h"
#include "watershed/observe/metrics.h"

namespace watershed::load {
namespace {

// watershed_records_read_total{table}, looked up once per table and thread (it is bumped for
// every record).
metrics::Counter& RecordsRead(const std::string& table) {
  thread_local std::unordered_map<std::string, metrics::Counter*> cache;
  auto it = cache.find(table);
  if (it == cache.end()) {
    it = cache
             .emplace(table, &metrics::GetCounter("watershed_records_read_total",
                                                        {{"table", table}}))
             .first;
  }
  return *it->second;
}

void FlushMetricsOrWarn(project::Project& project, int64_t load_id) {
  Status s = observe::FlushMetrics(project);
  if (!s.ok()) {
    LogWarn("metrics not stored",
            {{"load_id", std::to_string(load_id)}, {"error", std::string(MessageOf(s))}});
  }
}

const std::vector<ColumnSpec>& QuarantineColumns() {
  static const std::vector<ColumnSpec>& kColumns = *new std::vector<ColumnSpec>{
      {std::string(normalize::kLoadIdColumn), ColumnType::kBigint},
      {"target_table", ColumnType::kVarchar},
      {"input", ColumnType::kVarchar},      {"line", ColumnType::kBigint},
      {"byte_offset", ColumnType::kBigint}, {"error", ColumnType::kVarchar},
      {"record", ColumnType::kVarchar},     {"record_base64", ColumnType::kVarchar}};
  return kColumns;
}

}  // namespace

StatusOr<std::unique_ptr<LoadSession>> LoadSession::Begin(project::Project& project,
                                                          const std::string& name,
                                                          const SessionOptions& options) {
  WS_ASSIGN_OR_RETURN(lake::Catalog * catalog, project.catalog());
  std::unique_ptr<LoadSession> s(new LoadSession(project, *catalog, options));
  WS_ASSIGN_OR_RETURN(s->load_id_, catalog->BeginLoad(name));
  s->ingest_date_ = TodayUtc();
  auto writer = lake::LakeWriter::Create(&project.storage(), catalog, options.threads);
  if (!writer.ok()) {
    s->Abort(writer.status());
    return writer.status();
  }
  s->writer_ = std::move(*writer);
  return s;
}

LoadSession::~LoadSession() {
  if (!finished_) Abort(absl::AbortedError("load session ended without finishing"));
}

normalize::Contract LoadSession::ContractFor(const std::string& table) const {
  return options_.contract.value_or(project_.TableConfigFor(table).contract);
}

StatusOr<normalize::Normalizer*> LoadSession::NormalizerFor(const std::string& table) {
  auto it = roots_.find(table);
  if (it != roots_.end()) return it->second.normalizer.get();
  WS_ASSIGN_OR_RETURN(auto names, lake::SplitTableName(table));
  (void)names;
  if (table == kQuarantineTable) {
    return absl::InvalidArgumentError(StrCat(kQuarantineTable, " is written by Watershed only"));
  }
  // Schemas already committed for this table and its child tables.
  std::vector<normalize::TableSchema> known;
  WS_ASSIGN_OR_RETURN(auto tables, catalog_.ListTables());
  for (const lake::TableInfo& t : tables) {
    if (t.name == table || t.name.starts_with(table + "__")) {
      WS_ASSIGN_OR_RETURN(auto state, catalog_.GetTableState(t.name));
      known.push_back({t.name, t.parent, state.schema.columns});
    }
  }
  Root root;
  root.contract = ContractFor(table);
  root.partition_by = project_.TableConfigFor(table).partition_by;
  root.normalizer = std::make_unique<normalize::Normalizer>(
      normalize::NormalizerOptions{table, load_id_, root.contract, options_.max_columns,
                                   options_.max_depth},
      known);
  normalize::Normalizer* raw = root.normalizer.get();
  roots_.emplace(table, std::move(root));
  return raw;
}

Status LoadSession::AddJson(const std::string& table, std::string_view json, bool padded,
                            std::span<const normalize::SystemValue> system) {
  WS_ASSIGN_OR_RETURN(normalize::Normalizer * n, NormalizerFor(table));
  RecordsRead(table).Inc();
  return n->AddJson(json, padded, system);
}

Status LoadSession::AddElement(const std::string& table, simdjson::dom::element value) {
  WS_ASSIGN_OR_RETURN(normalize::Normalizer * n, NormalizerFor(table));
  RecordsRead(table).Inc();
  return n->AddElement(value);
}

Status LoadSession::AddCsvRow(const std::string& table, const std::vector<std::string>& header,
                              const std::vector<std::string_view>& fields,
                              const std::vector<bool>& quoted) {
  WS_ASSIGN_OR_RETURN(normalize::Normalizer * n, NormalizerFor(table));
  RecordsRead(table).Inc();
  return n->AddCsvRow(header, fields, quoted);
}

void LoadSession::Quarantine(const std::string& table, const BadRecord& r) {
  metrics::GetCounter("watershed_records_quarantined_total", {{"table", table}}).Inc();
  bad_.push_back({table, r.input, r.line, r.byte_offset, r.error, std::string(r.raw)});
  bad_bytes_ += r.raw.size() + r.error.size() + 64;
}

Status LoadSession::SetTableKey(const std::string& table, const std::string& column,
                                const std::string& mode) {
  WS_RETURN_IF_ERROR(NormalizerFor(table).status());
  Root& root = roots_.at(table);
  root.key_column = column;
  root.key_mode = mode;
  return absl::OkStatus();
}

uint64_t LoadSession::records(const std::string& table) const {
  auto it = roots_.find(table);
  return it == roots_.end() ? 0 : it->second.normalizer->records();
}

size_t LoadSession::buffered_bytes() const {
  size_t n = bad_bytes_;
  for (const auto& [name, root] : roots_) n += root.normalizer->buffered_bytes();
  return n;
}

Status LoadSession::MaybeFlush() {
  if (buffered_bytes() > options_.batch_bytes) return Flush();
  return absl::OkStatus();
}

Status LoadSession::WriteBatch(const TableBatch& batch, const std::string& partition_by) {
  std::string stem = fmt::format("load-{:06d}-{:05d}", load_id_, flushes_);
  WS_ASSIGN_OR_RETURN(auto files, writer_->Write(batch, partition_by, ingest_date_, stem));
  pending_rows_[batch.table] += static_cast<int64_t>(batch.num_rows);
  for (auto& f : files) pending_files_.push_back(std::move(f));
  return absl::OkStatus();
}

Status LoadSession::Flush() {
  ++flushes_;
  for (auto& [table, root] : roots_) {
    for (const TableBatch& b : root.normalizer->Flush()) {
      WS_RETURN_IF_ERROR(WriteBatch(
          b, b.table == table ? root.partition_by : std::string(lake::kIngestDatePartition)));
    }
  }
  if (!bad_.empty()) {
    TableBatch b;
    b.table = std::string(kQuarantineTable);
    b.arena = std::make_shared<StringArena>();
    b.columns = QuarantineColumns();
    b.data.resize(b.columns.size());
    b.num_rows = bad_.size();
    for (const PendingBad& r : bad_) {
      auto slot = [&](int c, uint64_t v) {
        b.data[c].slots.push_back(v);
        b.data[c].valid.push_back(1);
      };
      // Every text column is valid UTF-8, so the table always reads; `record` is the record
      // whole when it was valid text, and otherwise `record_base64` keeps its exact bytes.
      auto text = [&](int c, std::string_view v) {
        b.data[c].strings.push_back(IsValidUtf8(v) ? b.arena->Copy(v)
                                                   : b.arena->Copy(ToValidUtf8(v)));
        b.data[c].valid.push_back(1);
      };
      slot(0, static_cast<uint64_t>(load_id_));
      text(1, r.table);
      text(2, r.input);
      slot(3, r.line);
      slot(4, r.offset);
      text(5, r.error);
      text(6, r.raw);
      if (IsValidUtf8(r.raw)) {
        b.data[7].strings.emplace_back();
        b.data[7].valid.push_back(0);
      } else {
        text(7, absl::Base64Escape(absl::string_view(r.raw.data(), r.raw.size())));
      }
    }
    bad_.clear();
    bad_bytes_ = 0;
    WS_RETURN_IF_ERROR(WriteBatch(b, std::string(lake::kIngestDatePartition)));
  }
  return absl::OkStatus();
}

StatusOr<int64_t> LoadSession::Commit(const std::vector<lake::Cursor>& cursors,
                                      nlohmann::json summary) {
  const auto started = std::chrono::steady_clock::now();
  WS_RETURN_IF_ERROR(Flush());
  if (pending_files_.empty() && cursors.empty()) return 0;
  lake::CommitRequest commit;
  commit.operation = "load";
  commit.load_id = load_id_;
  for (const auto& [table, rows] : pending_rows_) summary["rows"][table] = rows;
  commit.summary = summary.dump();
  for (auto& [table, root] : roots_) {
    for (const normalize::TableSchema& s : root.normalizer->Schemas()) {
      if (!pending_rows_.contains(s.name)) continue;
      const bool is_root = s.name == table;
      commit.tables.push_back(
          {s.name, s.parent, s.columns,
           is_root ? root.partition_by : std::string(lake::kIngestDatePartition),
           is_root ? root.key_column : "", is_root ? root.key_mode : ""});
    }
  }
  if (pending_rows_.contains(std::string(kQuarantineTable))) {
    commit.tables.push_back({std::string(kQuarantineTable), "", QuarantineColumns(),
                             std::string(lake::kIngestDatePartition)});
  }
  if (project_.config().iceberg) WS_RETURN_IF_ERROR(RewriteNarrowFiles(commit));
  commit.added = pending_files_;
  commit.cursors = cursors;
  StatusOr<int64_t> committed = catalog_.Commit(commit);
  // Every commit attempt is a data change in the audit log (audit/audit_log.h); never fails it.
  if (Status s = audit::AuditDataChange(project_.root(), load_id_, committed.value_or(0),
                                          pending_rows_, committed.status());
      !s.ok()) {
    LogWarn("audit log: data change not recorded",
            {{"load_id", std::to_string(load_id_)}, {"error", std::string(MessageOf(s))}});
  }
  if (!committed.ok()) return committed.status();
  const int64_t snapshot = *committed;
  // Column lineage (lake column <- JSON path) of the tables this commit wrote; never fails it.
  std::vector<normalize::TableSchema> written;
  for (const lake::TableUpdate& t : commit.tables) written.push_back({t.name, t.parent, t.columns});
  if (Status s = observe::RecordLoadLineage(project_, load_id_, snapshot, written); !s.ok()) {
    LogWarn("lineage: not recorded", {{"load_id", std::to_string(load_id_)},
                                      {"error", std::string(MessageOf(s))}});
  }
  std::map<std::string, int64_t> bytes;
  for (const lake::DataFile& f : pending_files_) bytes[f.table] += f.size_bytes;
  for (const auto& [table, rows] : pending_rows_) {
    metrics::GetCounter("watershed_records_written_total",
                              {{"layer", "lake"}, {"table", table}})
        .Inc(static_cast<double>(rows));
  }
  for (const auto& [table, n] : bytes) {
    metrics::GetCounter("watershed_written_bytes_total",
                              {{"layer", "lake"}, {"table", table}})
        .Inc(static_cast<double>(n));
  }
  metrics::GetHistogram("watershed_load_commit_duration_seconds")
      .Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  pending_files_.clear();
  for (const auto& [table, rows] : pending_rows_) committed_rows_[table] += rows;
  pending_rows_.clear();
  committed_any_ = true;
  FlushMetricsOrWarn(project_, load_id_);
  return snapshot;
}

Status LoadSession::RewriteNarrowFiles(lake::CommitRequest& commit) {
  for (const lake::TableUpdate& t : commit.tables) {
    std::vector<ColumnSpec> base;
    std::vector<lake::DataFile> live;
    auto state = catalog_.GetTableState(t.name);
    if (state.ok()) {
      base = state->schema.columns;
      live = std::move(state->files);
    } else if (state.status().code() != absl::StatusCode::kNotFound) {
      return state.status();
    }
    WS_ASSIGN_OR_RETURN(auto merged, lake::MergeColumns(base, t.columns));
    auto narrow = [&](const lake::DataFile& f) {
      return std::any_of(f.columns.begin(), f.columns.end(), [&](const ColumnSpec& c) {
        auto it = std::find_if(merged.begin(), merged.end(),
                               [&](const ColumnSpec& m) { return m.name == c.name; });
        return it != merged.end() && it->type != c.type;
      });
    };
    std::vector<lake::DataFile*> todo;
    for (lake::DataFile& f : live) {
      if (narrow(f)) todo.push_back(&f);
    }
    for (lake::DataFile& f : pending_files_) {
      if (f.table == t.name && narrow(f)) todo.push_back(&f);
    }
    if (todo.empty()) continue;
    LogInfo("rewriting files whose column types the load widened",
            {{"table", t.name}, {"files", std::to_string(todo.size())}});
    ++flushes_;
    int n = 0;
    std::vector<lake::DataFile>
        replacements;  // of committed files (todo points into pending_files_)
    for (lake::DataFile* f : todo) {
      const bool committed = f->added_snapshot != 0;
      WS_ASSIGN_OR_RETURN(
          lake::DataFile out,
          writer_->Rewrite(t.name, {*f}, merged,
                           fmt::format("load-{:06d}-{:05d}-p{}", load_id_, flushes_, n++)));
      if (committed) {
        commit.removed_keys.push_back(f->key);
        replacements.push_back(std::move(out));
      } else {
        project_.storage().Delete(f->key).IgnoreError();  // never committed: nobody reads it
        *f = std::move(out);
      }
    }
    for (lake::DataFile& f : replacements) pending_files_.push_back(std::move(f));
  }
  return absl::OkStatus();
}

void LoadSession::Finish() {
  if (finished_) return;
  finished_ = true;
  if (!committed_any_) catalog_.FinishLoad(load_id_, "empty", "nothing to commit").IgnoreError();
  metrics::GetCounter("watershed_load_sessions_total",
                            {{"status", committed_any_ ? "committed" : "empty"}})
      .Inc();
  FlushMetricsOrWarn(project_, load_id_);
}

void LoadSession::Abort(const Status& why) {
  if (finished_) return;
  finished_ = true;
  for (const lake::DataFile& f : pending_files_) project_.storage().Delete(f.key).IgnoreError();
  pending_files_.clear();
  catalog_.FinishLoad(load_id_, committed_any_ ? "committed" : "failed",
                      std::string(MessageOf(why)))
      .IgnoreError();
  // Counted as failed even after earlier commits: the session ended in an error.
  metrics::GetCounter("watershed_load_sessions_total", {{"status", "failed"}}).Inc();
  FlushMetricsOrWarn(project_, load_id_);
}

}  // namespace watershed::load
