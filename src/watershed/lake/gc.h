// lake/gc.h — removing orphan files: files in the lake that no catalog snapshot references.
//
// Owns: deciding which stored files are orphans. A file is an orphan when no snapshot ever
// committed it and the load that wrote it (named in the file: `load-<id>-...`) is not running
// any more (its process is gone, or it finished). Files of snapshots that are still reachable
// by time travel are never orphans. Does not own: snapshot expiry (a later policy).
// Thread safety: one call at a time per lake.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/lake/catalog.h"
#include "watershed/lake/storage.h"

namespace watershed::lake {

struct GcResult {
  std::vector<std::string> removed;  // keys (or, in a dry run, keys that would be removed)
  uint64_t bytes = 0;
  std::vector<std::string> kept_running;  // unreferenced files of loads still running
};

StatusOr<GcResult> CollectGarbage(Catalog& catalog, Storage& storage, bool dry_run);

// The load id in a file name written by a load ("load-000042-00001.parquet" -> 42), or 0.
int64_t LoadIdOfKey(std::string_view key);

}  // namespace watershed::lake
