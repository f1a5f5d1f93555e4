// cli/common.h — small helpers the command files share: human sizes and counts, and which
// snapshot a read sees.
//
// Owns: nothing but these conversions. Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/cli/commands.h"
#include "watershed/lake/catalog.h"

namespace watershed::cli {

// 1234567 -> "1.2 MB".
std::string Bytes(double bytes);
// 1234567 -> "1,234,567".
std::string Thousands(uint64_t v);
// "a, b,,c" -> {"a", "b", "c"}: a comma-separated flag value, spaces removed.
std::vector<std::string> SplitList(const std::string& s);
// The --as-of help: the forms lake::ParseAsOf accepts.
inline constexpr const char* kAsOfHelp =
    "Time travel: read the snapshot current at this time: ISO 8601 (2026-11-24T10:00:00Z, "
    "an offset such as +01:00, no zone = UTC), a date (2026-11-24 = its 00:00 UTC) or epoch "
    "seconds";

// The snapshot `at` names (--snapshot N or --as-of TIME; the latest when neither).
StatusOr<int64_t> ResolveSnapshot(lake::Catalog& catalog, const ReadAt& at);

}  // namespace watershed::cli
