// load/loader.cc — see loader.h.
#include "watershed/load/loader.h"

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "watershed/lake/writer.h"
#include "watershed/normalize/normalizer.h"

namespace watershed::load {
namespace {

using Clock = std::chrono::steady_clock;

std::string TodayUtc() {
  auto now = std::chrono::system_clock::now();
  int64_t days =
      std::chrono::duration_cast<std::chrono::hours>(now.time_since_epoch()).count() / 24;
  return FormatDate(days);
}

// Bad records waiting to be written to watershed.quarantine.
class Quarantine {
 public:
  Quarantine(int64_t load_id, std::string target, std::string input)
      : load_id_(load_id), target_(std::move(target)), input_(std::move(input)) {}

  void Add(uint64_t line, uint64_t offset, std::string_view error, std::string_view raw) {
    rows_.push_back({line, offset, std::string(error), std::string(raw)});
    bytes_ += raw.size() + error.size();
  }
  size_t bytes() const { return bytes_; }
  bool empty() const { return rows_.empty(); }

  TableBatch TakeBatch() {
    TableBatch b;
    b.table = std::string(kQuarantineTable);
    b.arena = std::make_shared<StringArena>();
    b.columns = {{"_ws_load_id", ColumnType::kBigint}, {"target_table", ColumnType::kVarchar},
                 {"input", ColumnType::kVarchar},      {"line", ColumnType::kBigint},
                 {"byte_offset", ColumnType::kBigint}, {"error", ColumnType::kVarchar},
                 {"record", ColumnType::kVarchar}};
    b.data.resize(b.columns.size());
    b.num_rows = rows_.size();
    for (const Row& r : rows_) {
      auto slot = [&](int c, uint64_t v) {
        b.data[c].slots.push_back(v);
        b.data[c].valid.push_back(1);
      };
      auto text = [&](int c, std::string_view v) {
        b.data[c].strings.push_back(b.arena->Copy(v));
        b.data[c].valid.push_back(1);
      };
      slot(0, static_cast<uint64_t>(load_id_));
      text(1, target_);
      text(2, input_);
      slot(3, r.line);
      slot(4, r.offset);
      text(5, r.error);
      text(6, r.raw);
    }
    rows_.clear();
    bytes_ = 0;
    return b;
  }

 private:
  struct Row {
    uint64_t line, offset;
    std::string error, raw;
  };
  int64_t load_id_;
  std::string target_, input_;
  std::vector<Row> rows_;
  size_t bytes_ = 0;
};

// The file's identity for the "already loaded" check: size and modification time.
std::string FileIdentity(const std::string& path) {
  struct stat st;
  if (path == "-" || ::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return "";
  return StrCat("size=", st.st_size, ";mtime_ns=",
                static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec);
}

class Load {
 public:
  Load(project::Project& project, const LoadOptions& options, lake::Catalog& catalog)
      : project_(project), options_(options), catalog_(catalog) {}

  StatusOr<LoadSummary> Run();

 private:
  Status Flush();
  Status WriteBatch(const TableBatch& batch);
  void DeleteWrittenFiles();
  Status Fail(Status status);

  project::Project& project_;
  const LoadOptions& options_;
  lake::Catalog& catalog_;
  LoadSummary summary_;
  std::unique_ptr<lake::LakeWriter> writer_;
  std::unique_ptr<normalize::Normalizer> normalizer_;
  std::unique_ptr<Quarantine> quarantine_;
  std::vector<lake::DataFile> files_;
  std::map<std::string, int64_t> rows_;
  std::string ingest_date_;
  std::string partition_by_;
  int flushes_ = 0;
};

Status Load::WriteBatch(const TableBatch& batch) {
  const std::string& partition =
      batch.table == options_.table ? partition_by_ : std::string(lake::kIngestDatePartition);
  std::string stem = StrCat("load-", fmt::format("{:06d}-{:05d}", summary_.load_id, flushes_));
  WS_ASSIGN_OR_RETURN(auto files, writer_->Write(batch, partition, ingest_date_, stem));
  rows_[batch.table] += static_cast<int64_t>(batch.num_rows);
  for (auto& f : files) files_.push_back(std::move(f));
  return absl::OkStatus();
}

Status Load::Flush() {
  ++flushes_;
  for (const TableBatch& b : normalizer_->Flush()) WS_RETURN_IF_ERROR(WriteBatch(b));
  if (!quarantine_->empty()) WS_RETURN_IF_ERROR(WriteBatch(quarantine_->TakeBatch()));
  return absl::OkStatus();
}

void Load::DeleteWrittenFiles() {
  for (const lake::DataFile& f : files_) project_.storage().Delete(f.key).IgnoreError();
  files_.clear();
}

Status Load::Fail(Status status) {
  DeleteWrittenFiles();
  catalog_.FinishLoad(summary_.load_id, "failed", std::string(MessageOf(status))).IgnoreError();
  return status;
}

StatusOr<LoadSummary> Load::Run() {
  const auto start = Clock::now();
  WS_ASSIGN_OR_RETURN(auto names, lake::SplitTableName(options_.table));
  (void)names;
  if (options_.table == kQuarantineTable) {
    return absl::InvalidArgumentError(StrCat(kQuarantineTable, " is written by Watershed only"));
  }
  project::TableConfig tc = project_.TableConfigFor(options_.table);
  partition_by_ = tc.partition_by;
  const normalize::Contract contract = options_.contract.value_or(tc.contract);

  // A file already committed to this table (same size and mtime) is not loaded twice.
  const std::string identity = FileIdentity(options_.input);
  std::string cursor_key;
  if (!identity.empty()) {
    std::error_code ec;
    cursor_key = StrCat(options_.table, "|",
                        std::filesystem::weakly_canonical(options_.input, ec).string());
    WS_ASSIGN_OR_RETURN(auto cursor, catalog_.GetCursor("file", cursor_key));
    if (cursor && *cursor == identity && !options_.force) {
      summary_.skipped = true;
      summary_.input_name = options_.input;
      summary_.skip_reason = StrCat(options_.input, " was already loaded into ", options_.table,
                                    " (same size and modification time); use --force to load "
                                    "it again");
      return summary_;
    }
  }

  WS_ASSIGN_OR_RETURN(auto reader, sources::RecordReader::Open(options_.input, options_.format));
  summary_.input_name = reader->name();
  uint64_t total_bytes = 0;
  if (options_.input != "-") {
    std::error_code ec;
    total_bytes = std::filesystem::file_size(options_.input, ec);
  }

  // Schemas already committed for this table and its child tables.
  std::vector<normalize::TableSchema> known;
  WS_ASSIGN_OR_RETURN(auto tables, catalog_.ListTables());
  for (const lake::TableInfo& t : tables) {
    if (t.name == options_.table || t.name.starts_with(options_.table + "__")) {
      WS_ASSIGN_OR_RETURN(auto state, catalog_.GetTableState(t.name));
      known.push_back({t.name, t.parent, state.schema.columns});
    }
  }

  WS_ASSIGN_OR_RETURN(summary_.load_id,
                      catalog_.BeginLoad(StrCat("load ", reader->name(), " -> ", options_.table)));
  ingest_date_ = TodayUtc();
  auto writer = lake::LakeWriter::Create(&project_.storage(), options_.threads);
  if (!writer.ok()) return Fail(writer.status());
  writer_ = std::move(*writer);
  normalizer_ = std::make_unique<normalize::Normalizer>(
      normalize::NormalizerOptions{options_.table, summary_.load_id, contract}, known);
  quarantine_ = std::make_unique<Quarantine>(summary_.load_id, options_.table, reader->name());

  sources::Record rec;
  uint64_t bad = 0;
  auto last_progress = Clock::now();
  auto report_bad = [&](const sources::Record& r, std::string_view message) {
    if (summary_.first_errors.size() < 5) {
      summary_.first_errors.push_back(
          StrCat("line ", r.line, " (byte ", r.byte_offset, "): ", message));
    }
    quarantine_->Add(r.line, r.byte_offset, message, r.raw);
  };
  const bool csv = reader->format() == sources::FileFormat::kCsv;
  for (uint64_t n = 0;; ++n) {
    auto more = reader->Next(&rec);
    if (!more.ok()) return Fail(Annotate(more.status(), StrCat("reading ", reader->name())));
    if (!*more) break;
    summary_.data_bytes = rec.byte_offset + rec.raw.size();
    Status s;
    if (!rec.error.empty()) {
      s = absl::InvalidArgumentError(rec.error);
    } else if (csv) {
      s = normalizer_->AddCsvRow(reader->csv_header(), rec.fields, rec.quoted);
    } else {
      s = normalizer_->AddJson(rec.json, true);
    }
    if (!s.ok()) {
      if (contract == normalize::Contract::kDiscardRow &&
          s.code() == absl::StatusCode::kFailedPrecondition) {
        ++summary_.discarded;
        quarantine_->Add(rec.line, rec.byte_offset, MessageOf(s), rec.raw);
      } else {
        ++bad;
        report_bad(rec, MessageOf(s));
        if (static_cast<int64_t>(bad) > options_.max_bad) {
          return Fail(absl::InvalidArgumentError(StrCat(
              "more than ", options_.max_bad, " bad record", options_.max_bad == 1 ? "" : "s",
              " in ", reader->name(), " (--max-bad ", options_.max_bad,
              "); nothing was committed. First: ", summary_.first_errors.front(),
              ". Fix the input, or raise --max-bad to land the good records and quarantine the "
              "bad ones in ", kQuarantineTable)));
        }
      }
    }
    if ((n & 1023) == 0) {
      if (normalizer_->buffered_bytes() + quarantine_->bytes() > options_.batch_bytes) {
        if (Status f = Flush(); !f.ok()) return Fail(f);
      }
      if (options_.on_progress && Clock::now() - last_progress > std::chrono::milliseconds(250)) {
        last_progress = Clock::now();
        options_.on_progress({normalizer_->records(), bad, reader->bytes_read(), total_bytes,
                              std::chrono::duration<double>(Clock::now() - start).count()});
      }
    }
  }
  if (Status f = Flush(); !f.ok()) return Fail(f);
  summary_.records = normalizer_->records();
  summary_.quarantined = bad + summary_.discarded;
  summary_.input_bytes = reader->bytes_read();

  if (files_.empty()) {
    catalog_.FinishLoad(summary_.load_id, "empty", "no records").IgnoreError();
    summary_.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return summary_;
  }

  lake::CommitRequest commit;
  commit.operation = "load";
  commit.load_id = summary_.load_id;
  nlohmann::json js;
  js["input"] = reader->name();
  js["table"] = options_.table;
  js["records"] = summary_.records;
  js["quarantined"] = summary_.quarantined;
  for (const auto& [table, rows] : rows_) js["rows"][table] = rows;
  commit.summary = js.dump();
  for (const normalize::TableSchema& s : normalizer_->Schemas()) {
    if (!rows_.contains(s.name)) continue;
    commit.tables.push_back({s.name, s.parent, s.columns,
                             s.name == options_.table ? partition_by_
                                                      : std::string(lake::kIngestDatePartition)});
  }
  if (rows_.contains(std::string(kQuarantineTable))) {
    TableBatch q = Quarantine(0, "", "").TakeBatch();
    commit.tables.push_back({std::string(kQuarantineTable), "", q.columns,
                             std::string(lake::kIngestDatePartition)});
  }
  commit.added = files_;
  if (!cursor_key.empty()) commit.cursors.push_back({"file", cursor_key, identity});
  auto snapshot = catalog_.Commit(commit);
  if (!snapshot.ok()) return Fail(Annotate(snapshot.status(), "committing the load"));
  summary_.snapshot_id = *snapshot;
  for (const auto& [table, rows] : rows_) summary_.rows_per_table.push_back({table, rows});
  summary_.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return summary_;
}

}  // namespace

StatusOr<LoadSummary> LoadFile(project::Project& project, const LoadOptions& options) {
  WS_ASSIGN_OR_RETURN(lake::Catalog * catalog, project.catalog());
  Load load(project, options, *catalog);
  return load.Run();
}

}  // namespace watershed::load
