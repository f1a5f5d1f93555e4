// lake/gc.h — removing orphan files: files the lake wrote that no catalog snapshot references.
//
// Owns: deciding which stored files are orphans. A file is an orphan when
//   1. its key has the lake's own naming (below) — anything else under the lake is not ours:
//      a user's notes.txt or foo.parquet is never removed, only listed as foreign;
//   2. no snapshot references it (files of snapshots still reachable by time travel are never
//      orphans);
//   3. the load that wrote it (its id is in the name) is not running any more (its process is
//      gone, or it finished);
//   4. it is older than the grace period: a commit in flight on another machine may be about
//      to reference a file it has just uploaded (an S3 lake shared by several machines).
// Uploads started and never finished (S3 multipart uploads of a killed process) older than the
// grace period are aborted, which frees their parts.
// The lake's naming (lake/writer.h, load/session.cc, lake/maintenance.cc, quality/checks.cc):
//   structured/<namespace>/<table>/<key>=<value>/<name>   with <name> one of
//     load-<load id>-<flush>[-p<n>].parquet    a load's flush (-p<n>: one partition value of it)
//     load-<load id>-compact.parquet           a compaction's output
//     quality-<load id>[-p<n>].parquet         failing-row samples of a check run
//   each optionally prefixed `tmp_` (DuckDB's temporary copy while a COPY overwrites a file);
//   ids and counters are decimal digits (zero-padded, any width);
//   structured/<namespace>/<table>/metadata/<name>   the Iceberg export's files (iceberg_export.h)
//     NNNNN-<uuid>.metadata.json, snap-<id>-<uuid>.avro, <uuid>-m<n>.avro and
//     delete-<id>-<n>-<uuid>.parquet (other engines' files there are not ours): an orphan once
//     no export state needs it and older than kExportFileGrace, whatever the grace period (they
//     are written inside a commit, not by a load gc could see running).
// Does not own: snapshot expiry (maintenance.h), the raw zone (raw/, packages/).
// Thread safety: one call at a time per lake.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "watershed/base/status.h"
#include "watershed/lake/catalog.h"
#include "watershed/lake/storage.h"

namespace watershed::lake {

struct GcResult {
  std::vector<std::string> removed;  // keys (or, in a dry run, keys that would be removed)
  uint64_t bytes = 0;                // of `removed`
  std::vector<std::string> kept_running;  // unreferenced files of loads still running
  std::vector<std::string> kept_recent;   // unreferenced, but younger than the grace period
  std::vector<std::string> aborted_uploads;  // keys of incomplete uploads aborted
  // Unreferenced files that do not have the lake's naming: never removed (not written by the
  // lake; someone put them there), listed so the user can decide.
  std::vector<std::string> foreign;
  uint64_t foreign_bytes = 0;
};

inline constexpr absl::Duration kExportFileGrace = absl::Minutes(10);

// `grace`: files (and incomplete uploads) modified less than this long before `now` are kept.
StatusOr<GcResult> CollectGarbage(Catalog& catalog, Storage& storage, bool dry_run,
                                  absl::Duration grace = absl::ZeroDuration(),
                                  absl::Time now = absl::Now());

// True when `key` has the lake's own naming (see above).
bool IsLakeFileKey(std::string_view key);

// The load id in a file name written by the lake ("load-000042-00001.parquet" -> 42,
// "quality-000007.parquet" -> 7), or 0.
int64_t LoadIdOfKey(std::string_view key);

}  // namespace watershed::lake
