// cli/common.cc — helpers shared by the command files. See common.h.
#include "watershed/cli/common.h"

#include <fmt/format.h>

#include "watershed/base/strings.h"

namespace watershed::cli {

std::string Bytes(double b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) {
    b /= 1000;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} {}", b, units[u]) : fmt::format("{:.1f} {}", b, units[u]);
}

std::string Thousands(uint64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(i, ",");
  return s;
}

StatusOr<int64_t> ResolveSnapshot(lake::Catalog& catalog, const ReadAt& at) {
  if (at.snapshot != 0 && !at.as_of.empty()) {
    return absl::InvalidArgumentError("use either --snapshot or --as-of, not both");
  }
  if (!at.as_of.empty()) return catalog.SnapshotAsOf(at.as_of);
  WS_ASSIGN_OR_RETURN(int64_t latest, catalog.LatestSnapshot());
  if (at.snapshot == 0) return latest;
  if (at.snapshot < 0 || at.snapshot > latest) {
    return absl::NotFoundError(
        StrCat("snapshot ", at.snapshot, " does not exist (latest is ", latest, ")"));
  }
  return at.snapshot;
}

std::vector<std::string> SplitList(const std::string& s) {
  std::string no_spaces;
  for (char c : s) {
    if (c != ' ') no_spaces.push_back(c);
  }
  return Split(no_spaces, ',', /*trim=*/false, /*skip_empty=*/true);
}

}  // namespace watershed::cli
