// lake/maintenance.cc — see maintenance.h.
#include "watershed/lake/maintenance.h"

#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "watershed/base/log.h"
#include "watershed/base/strings.h"
#include "watershed/lake/writer.h"

namespace watershed::lake {

StatusOr<CompactResult> CompactTable(Catalog& catalog, Storage& storage, const std::string& table,
                                     const CompactOptions& options) {
  CompactResult result;
  WS_ASSIGN_OR_RETURN(TableState state, catalog.GetTableState(table));
  if (!state.info.key_column.empty()) return result;
  std::map<std::string, std::vector<DataFile>> small;  // partition -> files
  for (const DataFile& f : state.files) {
    if (f.size_bytes < options.small_file_bytes) small[f.partition].push_back(f);
  }
  std::unique_ptr<LakeWriter> writer;
  for (auto& [partition, files] : small) {
    if (static_cast<int>(files.size()) < std::max(2, options.min_files)) continue;
    if (static_cast<int>(files.size()) > options.max_files) files.resize(options.max_files);
    if (!writer) {
      WS_ASSIGN_OR_RETURN(writer, LakeWriter::Create(&storage, &catalog, 1));
    }
    WS_ASSIGN_OR_RETURN(int64_t load_id,
                        catalog.BeginLoad(StrCat("compact ", table, " ", partition)));
    auto finish = [&](const Status& s) {
      catalog.FinishLoad(load_id, s.ok() ? "committed" : "failed", std::string(s.message()))
          .IgnoreError();
    };
    auto out = writer->Rewrite(table, files, state.schema.columns,
                               fmt::format("load-{:06d}-compact", load_id));
    if (!out.ok()) {
      finish(out.status());
      return out.status();
    }
    CommitRequest req;
    req.operation = "compact";
    req.load_id = load_id;
    req.summary = nlohmann::json{{"table", table}, {"partition", partition},
                                 {"files_in", files.size()}, {"rows", out->row_count}}.dump();
    req.tables.push_back({table, state.info.parent, state.schema.columns, state.info.partition_by,
                          state.info.key_column, state.info.key_mode});
    for (const DataFile& f : files) req.removed_keys.push_back(f.key);
    req.added.push_back(*out);
    auto snap = catalog.Commit(req);
    if (!snap.ok()) {
      storage.Delete(out->key).IgnoreError();
      finish(snap.status());
      if (snap.status().code() == absl::StatusCode::kAborted) continue;  // lost a race: fine
      return snap.status();
    }
    finish(absl::OkStatus());
    result.partitions++;
    result.files_in += static_cast<int>(files.size());
    result.files_out++;
    result.rows += out->row_count;
    result.snapshot = *snap;
  }
  return result;
}

StatusOr<ExpireResult> ExpireSnapshots(Catalog& catalog, Storage& storage,
                                       const ExpireOptions& options) {
  ExpireResult result;
  WS_ASSIGN_OR_RETURN(std::vector<Snapshot> snapshots, catalog.Snapshots());
  WS_ASSIGN_OR_RETURN(result.kept_from, catalog.OldestSnapshot());
  if (snapshots.empty()) return result;
  // Snapshots come oldest first; keep the newest keep_last and any younger than max_age.
  const std::string cutoff = IsoUtc(NowMicros() - absl::ToInt64Microseconds(options.max_age));
  int64_t keep_from = result.kept_from;
  const int64_t n = static_cast<int64_t>(snapshots.size());
  for (int64_t i = 0; i < n - std::max(1, options.keep_last); ++i) {
    if (snapshots[i].committed_at >= cutoff) break;
    keep_from = snapshots[i + 1].snapshot_id;
  }
  if (keep_from <= result.kept_from) return result;
  for (const Snapshot& s : snapshots) {
    if (s.snapshot_id < keep_from) result.snapshots_expired++;
  }
  WS_ASSIGN_OR_RETURN(std::vector<std::string> keys, catalog.ExpireSnapshotsBefore(keep_from));
  result.kept_from = keep_from;
  for (const std::string& key : keys) {
    auto path = storage.PathForRead(key);
    std::error_code ec;
    // A file already gone has no size (file_size gives uintmax_t(-1) and sets ec).
    const uintmax_t size = path.ok() ? std::filesystem::file_size(*path, ec) : 0;
    if (path.ok() && !ec) result.bytes_deleted += static_cast<int64_t>(size);
    Status s = storage.Delete(key);
    if (!s.ok() && s.code() != absl::StatusCode::kNotFound) {
      LogWarn(StrCat("expire: could not delete ", key, ": ", s.ToString(), " (gc removes it later)"));
      continue;
    }
    result.files_deleted++;
  }
  return result;
}

}  // namespace watershed::lake
