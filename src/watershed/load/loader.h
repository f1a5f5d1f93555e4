// load/loader.h — LOAD: a file's records into the lake, committed once.
//
// Owns: `watershed load`: reading records (sources/files) into a LoadSession (session.h),
// counting bad records against --max-bad, and one commit that adds every file together with
// the file's cursor (so a rerun of a committed load is skipped, and a load killed before its
// commit leaves only orphan files for `watershed gc`), and the input limits in force (defaults <
// watershed.yml `limits:` < flags; sources/files/limits.h). Does not own: the file formats
// (sources/), flattening rules (normalize/) or the catalog (lake/).
// Thread safety: one load per call; loads of different tables may run in parallel processes.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/load/session.h"
#include "watershed/project/project.h"
#include "watershed/sources/files/limits.h"
#include "watershed/sources/files/record_reader.h"

namespace watershed::load {

struct LoadProgress {
  uint64_t records = 0;
  uint64_t bad = 0;
  uint64_t bytes_read = 0;
  uint64_t total_bytes = 0;  // 0 when unknown (stdin)
  double seconds = 0;
};

struct LoadOptions {
  std::string input;  // a path, or "-" for stdin
  std::string table;  // "namespace.name"
  sources::FileFormat format = sources::FileFormat::kAuto;
  int64_t max_bad = 0;  // bad records tolerated; more fails the load and commits nothing
  int threads = 0;      // DuckDB threads for writing Parquet (0 = all cores)
  bool force = false;   // load again even when the same file was already committed
  std::optional<normalize::Contract> contract;  // overrides watershed.yml
  size_t batch_bytes = size_t{48} << 20;        // normalized bytes buffered before a flush
  sources::LimitOverrides limits;               // flags; override watershed.yml `limits:`
  std::function<void(const LoadProgress&)> on_progress;
};

struct LoadSummary {
  int64_t load_id = 0;
  int64_t snapshot_id = 0;  // 0 when nothing was committed
  bool skipped = false;
  std::string skip_reason;
  std::string input_name;
  uint64_t records = 0;  // records landed in the root table
  uint64_t quarantined = 0;
  uint64_t discarded = 0;    // rejected by a discard_row contract (also in the quarantine)
  uint64_t input_bytes = 0;  // as read (compressed, when the input is)
  uint64_t data_bytes = 0;   // decompressed
  double seconds = 0;
  std::vector<std::pair<std::string, int64_t>> rows_per_table;
  std::vector<std::string> first_errors;  // "line 3 (byte 120): malformed JSON: ..."
};

// The limits a load of `project` runs with: InputLimits{} < watershed.yml `limits:` < overrides.
StatusOr<sources::InputLimits> ResolveLimits(const project::Project& project,
                                             const sources::LimitOverrides& overrides);

StatusOr<LoadSummary> LoadFile(project::Project& project, const LoadOptions& options);

}  // namespace watershed::load
