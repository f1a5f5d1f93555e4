// load/session.h — a load session: records for one or more lake tables, normalized in bounded
// batches, written as Parquet, and committed (with source cursors) in one or more snapshots.
//
// Owns: one load's lifecycle in the catalog (`loads` row: running -> committed/failed), one
// Normalizer per root table (seeded with the catalog's schemas), the quarantine table
// `watershed.quarantine`, flushing when buffered data passes a bound, and Commit(): everything
// added since the previous commit plus the cursors in one catalog transaction. A session
// destroyed without Finish() deletes its uncommitted files and marks the load failed; a process
// killed mid-way leaves orphans for `watershed gc`. Used by file loads (loader.h) and API
// sources (sources/crunchbase). Thread safety: one thread per session.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "watershed/base/status.h"
#include "watershed/lake/catalog.h"
#include "watershed/lake/writer.h"
#include "watershed/normalize/normalizer.h"
#include "watershed/project/project.h"

namespace watershed::load {

inline constexpr std::string_view kQuarantineTable = "watershed.quarantine";

struct SessionOptions {
  int threads = 0;                              // DuckDB threads writing Parquet (0 = all cores)
  size_t batch_bytes = size_t{48} << 20;        // normalized bytes buffered before a flush
  std::optional<normalize::Contract> contract;  // overrides watershed.yml for every table
  size_t max_columns = 1000;  // per table: data columns plus child tables (limits.max_columns)
  size_t max_depth = 32;      // nesting of a JSON record (limits.max_depth)
};

struct BadRecord {
  std::string input;  // file name, URL or "<stdin>"
  uint64_t line = 0;
  uint64_t byte_offset = 0;
  std::string error;
  std::string_view raw;
};

class LoadSession {
 public:
  // Registers a running load named `name` (shown in the catalog's `loads`).
  static StatusOr<std::unique_ptr<LoadSession>> Begin(project::Project& project,
                                                      const std::string& name,
                                                      const SessionOptions& options);
  ~LoadSession();
  LoadSession(const LoadSession&) = delete;
  LoadSession& operator=(const LoadSession&) = delete;

  int64_t load_id() const { return load_id_; }

  // One record of root table `table` ("ns.name"). Malformed JSON (kInvalidArgument) and contract
  // violations (kFailedPrecondition) come back with nothing of the record kept.
  Status AddJson(const std::string& table, std::string_view json, bool padded,
                 std::span<const normalize::SystemValue> system = {});
  Status AddElement(const std::string& table, simdjson::dom::element value);
  Status AddCsvRow(const std::string& table, const std::vector<std::string>& header,
                   const std::vector<std::string_view>& fields, const std::vector<bool>& quoted);
  void Quarantine(const std::string& table, const BadRecord& record);
  // Declares how rows of root table `table` replace each other when read (lake/catalog.h,
  // TableInfo::key_column); recorded in the catalog with the table's next commit.
  Status SetTableKey(const std::string& table, const std::string& column, const std::string& mode);
  // The contract in force for `table`.
  normalize::Contract ContractFor(const std::string& table) const;

  // Writes Parquet files when the buffered data passed the bound.
  Status MaybeFlush();
  // Writes everything buffered and commits it with `cursors` as one snapshot. Returns the
  // snapshot id, or 0 when there was nothing to commit (no rows and no cursors).
  StatusOr<int64_t> Commit(const std::vector<lake::Cursor>& cursors, nlohmann::json summary);
  // Ends the session: the load is marked committed (if anything was) or empty.
  void Finish();
  // Ends the session after an error: uncommitted files are deleted, the load marked failed.
  void Abort(const Status& why);

  uint64_t records(const std::string& table) const;
  // Rows committed so far, per table (including child tables and the quarantine).
  const std::map<std::string, int64_t>& committed_rows() const { return committed_rows_; }
  size_t buffered_bytes() const;

 private:
  // Iceberg cannot read a bigint file column as double, decimal or timestamp: before committing,
  // every file (committed or pending) holding a column narrower than the merged schema is
  // rewritten with the cast, the committed ones replaced in the same commit.
  Status RewriteNarrowFiles(lake::CommitRequest& commit);
  LoadSession(project::Project& project, lake::Catalog& catalog, SessionOptions options)
      : project_(project), catalog_(catalog), options_(std::move(options)) {}
  StatusOr<normalize::Normalizer*> NormalizerFor(const std::string& table);
  Status Flush();
  Status WriteBatch(const TableBatch& batch, const std::string& partition_by);

  struct Root {
    std::unique_ptr<normalize::Normalizer> normalizer;
    std::string partition_by;
    normalize::Contract contract;
    std::string key_column, key_mode;
  };
  struct PendingBad {
    std::string table;
    std::string input;
    uint64_t line, offset;
    std::string error, raw;
  };

  project::Project& project_;
  lake::Catalog& catalog_;
  SessionOptions options_;
  int64_t load_id_ = 0;
  bool finished_ = false;
  bool committed_any_ = false;
  std::string ingest_date_;
  std::unique_ptr<lake::LakeWriter> writer_;
  std::map<std::string, Root> roots_;
  std::vector<PendingBad> bad_;
  size_t bad_bytes_ = 0;
  std::vector<lake::DataFile> pending_files_;
  std::map<std::string, int64_t> pending_rows_;
  std::map<std::string, int64_t> committed_rows_;
  int flushes_ = 0;
};

}  // namespace watershed::load
