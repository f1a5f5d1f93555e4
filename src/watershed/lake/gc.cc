// lake/gc.cc — see gc.h.
#include "watershed/lake/gc.h"

#include <cstdint>
#include <unordered_set>

#include "watershed/base/ids.h"

namespace watershed::lake {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Consumes one or more decimal digits at the front of `s`; false when there are none.
bool TakeDigits(std::string_view& s, int64_t* value = nullptr) {
  size_t n = 0;
  int64_t v = 0;
  while (n < s.size() && IsDigit(s[n])) {
    if (v < (INT64_MAX - 9) / 10) v = v * 10 + (s[n] - '0');
    ++n;
  }
  if (n == 0) return false;
  if (value != nullptr) *value = v;
  s.remove_prefix(n);
  return true;
}

bool Take(std::string_view& s, std::string_view prefix) {
  if (!s.starts_with(prefix)) return false;
  s.remove_prefix(prefix.size());
  return true;
}

// The load id of a lake-written file name (without its folder), or 0 when the name is not one
// the lake writes.
int64_t LoadIdOfName(std::string_view name) {
  constexpr std::string_view kParquet = ".parquet";
  Take(name, "tmp_");
  if (!name.ends_with(kParquet)) return 0;
  name.remove_suffix(kParquet.size());
  int64_t id = 0;
  if (Take(name, "load-")) {
    if (!TakeDigits(name, &id) || !Take(name, "-")) return 0;
    if (Take(name, "compact")) return name.empty() && id > 0 ? id : 0;
    if (!TakeDigits(name)) return 0;
  } else if (Take(name, "quality-")) {
    if (!TakeDigits(name, &id)) return 0;
  } else {
    return 0;
  }
  if (Take(name, "-p") && !TakeDigits(name)) return 0;
  return name.empty() && id > 0 ? id : 0;
}

// Consumes a UUID in its 36-character text form at the front of `s`.
bool TakeUuid(std::string_view& s) {
  if (s.size() < 36) return false;
  for (size_t i = 0; i < 36; ++i) {
    const char c = s[i];
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-' : !(IsDigit(c) || (c >= 'a' && c <= 'f'))) return false;
  }
  s.remove_prefix(36);
  return true;
}

// The Iceberg export's files (lake/iceberg_export.h) in a table's metadata/ folder:
// NNNNN-<uuid>.metadata.json, snap-<id>-<uuid>.avro, <uuid>-m<n>.avro,
// delete-<id>-<n>-<uuid>.parquet. Anything else there (another engine's) is not ours.
bool IsExportFileName(std::string_view folder, std::string_view name) {
  if (folder != "metadata") return false;
  std::string_view s = name;
  if (TakeDigits(s) && Take(s, "-") && TakeUuid(s) && s == ".metadata.json") return true;
  s = name;
  if (Take(s, "snap-") && TakeDigits(s) && Take(s, "-") && TakeUuid(s) && s == ".avro") return true;
  s = name;
  if (TakeUuid(s) && Take(s, "-m") && TakeDigits(s) && s == ".avro") return true;
  s = name;
  return Take(s, "delete-") && TakeDigits(s) && Take(s, "-") && TakeDigits(s) && Take(s, "-") &&
         TakeUuid(s) && s == ".parquet";
}

}  // namespace

bool IsLakeFileKey(std::string_view key) {
  // structured/<namespace>/<table>/<key>=<value>/<name>
  std::string_view parts[5];
  for (int i = 0; i < 5; ++i) {
    const size_t slash = key.find('/');
    if ((slash == std::string_view::npos) != (i == 4)) return false;
    parts[i] = key.substr(0, slash);
    if (parts[i].empty()) return false;
    if (i < 4) key.remove_prefix(slash + 1);
  }
  if (parts[0] != "structured") return false;
  if (IsExportFileName(parts[3], parts[4])) return true;
  const size_t eq = parts[3].find('=');
  if (eq == 0 || eq == std::string_view::npos) return false;
  return LoadIdOfName(parts[4]) > 0;
}

int64_t LoadIdOfKey(std::string_view key) {
  const size_t slash = key.rfind('/');
  return LoadIdOfName(slash == std::string_view::npos ? key : key.substr(slash + 1));
}

StatusOr<GcResult> CollectGarbage(Catalog& catalog, Storage& storage, bool dry_run,
                                  absl::Duration grace, absl::Time now) {
  const int64_t cutoff = absl::ToUnixSeconds(now - grace);
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
  std::vector<std::string> doomed;
  for (const StoredFile& f : files) {
    if (referenced.contains(f.key)) continue;
    if (!IsLakeFileKey(f.key)) {
      result.foreign.push_back(f.key);
      result.foreign_bytes += f.size;
      continue;
    }
    if (running.contains(LoadIdOfKey(f.key))) {
      result.kept_running.push_back(f.key);
      continue;
    }
    // Metadata of a commit in flight is written before its catalog transaction commits.
    const bool export_file = LoadIdOfKey(f.key) == 0;
    if ((grace > absl::ZeroDuration() && f.modified_unix > cutoff) ||
        (export_file && f.modified_unix > absl::ToUnixSeconds(now - kExportFileGrace))) {
      result.kept_recent.push_back(f.key);
      continue;
    }
    doomed.push_back(f.key);
    result.removed.push_back(f.key);
    result.bytes += f.size;
  }
  if (!dry_run) WS_RETURN_IF_ERROR(storage.DeleteMany(doomed));
  WS_ASSIGN_OR_RETURN(auto uploads, storage.IncompleteUploads());
  for (const StoredUpload& u : uploads) {
    if (u.started_unix > cutoff) continue;
    if (!dry_run) WS_RETURN_IF_ERROR(storage.AbortUpload(u));
    result.aborted_uploads.push_back(u.key);
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
