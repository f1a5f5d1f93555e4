// lake/gc.cc — see gc.h.
#include "watershed/lake/gc.h"

#include "watershed/base/ids.h"

#include <unordered_set>

namespace watershed::lake {

int64_t LoadIdOfKey(std::string_view key) {
  size_t slash = key.rfind('/');
  std::string_view name = slash == std::string_view::npos ? key : key.substr(slash + 1);
  if (!name.starts_with("load-")) return 0;
  int64_t id = 0;
  for (size_t i = 5; i < name.size() && name[i] >= '0' && name[i] <= '9'; ++i) {
    id = id * 10 + (name[i] - '0');
  }
  return id;
}

StatusOr<GcResult> CollectGarbage(Catalog& catalog, Storage& storage, bool dry_run) {
  WS_ASSIGN_OR_RETURN(auto keys, catalog.AllFileKeys());
  std::unordered_set<std::string> referenced(keys.begin(), keys.end());
  WS_ASSIGN_OR_RETURN(auto loads, catalog.Loads());
  const std::string host = ThisHost();
  std::unordered_set<int64_t> running;
  for (const LoadRecord& l : loads) {
    // A load on another host cannot be checked here: it counts as running until it finishes.
    if (l.status == "running" && (l.host != host || ProcessAlive(l.pid))) running.insert(l.load_id);
  }
  WS_ASSIGN_OR_RETURN(auto files, storage.List("structured"));
  GcResult result;
  for (const StoredFile& f : files) {
    if (referenced.contains(f.key)) continue;
    if (running.contains(LoadIdOfKey(f.key))) {
      result.kept_running.push_back(f.key);
      continue;
    }
    if (!dry_run) WS_RETURN_IF_ERROR(storage.Delete(f.key));
    result.removed.push_back(f.key);
    result.bytes += f.size;
  }
  if (!dry_run) {
    for (const LoadRecord& l : loads) {
      if (l.status == "running" && !running.contains(l.load_id)) {
        WS_RETURN_IF_ERROR(
            catalog.FinishLoad(l.load_id, "abandoned", "process ended before committing"));
      }
    }
  }
  return result;
}

}  // namespace watershed::lake
