// lake/maintenance.h — keeping a lake fast and small: compaction and snapshot expiry.
//
// Owns: CompactTable — a partition's small files rewritten as one file and swapped in by one
// catalog commit (removing the small files, adding the new one). It runs beside writers without
// blocking them: appends only add files, and a commit that finds one of its inputs already gone
// (another compaction won) is aborted and its output deleted. Keyed tables are not compacted
// (their merge order follows files). ExpireSnapshots — forgets snapshots older than a policy
// allows and deletes the files only those snapshots could see. Does not own: orphan files of
// failed loads (gc.h). Thread safety: one call at a time per table.
#pragma once

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "watershed/base/status.h"
#include "watershed/lake/catalog.h"
#include "watershed/lake/storage.h"

namespace watershed::lake {

struct CompactOptions {
  int min_files = 16;                          // compact a partition once it has this many small files
  int64_t small_file_bytes = int64_t{32} << 20;  // files at least this big are left alone
  int max_files = 1000;                        // inputs per rewrite
};

struct CompactResult {
  int partitions = 0;   // partitions rewritten
  int files_in = 0;     // small files retired
  int files_out = 0;    // files written
  int64_t rows = 0;
  int64_t snapshot = 0; // the last compaction commit
};

StatusOr<CompactResult> CompactTable(Catalog& catalog, Storage& storage, const std::string& table,
                                     const CompactOptions& options);

struct ExpireOptions {
  absl::Duration max_age = absl::Hours(24 * 7);  // snapshots older than this expire...
  int keep_last = 100;                           // ...but at least this many newest ones stay
};

struct ExpireResult {
  int64_t kept_from = 0;       // oldest snapshot still readable
  int64_t snapshots_expired = 0;
  int64_t files_deleted = 0;
  int64_t bytes_deleted = 0;
};

StatusOr<ExpireResult> ExpireSnapshots(Catalog& catalog, Storage& storage, const ExpireOptions& options);

}  // namespace watershed::lake
