// cli/output.h — everything the `watershed` command renders: rows as an aligned table, CSV or
// JSON, and the "did you mean" suggestion for a mistyped name.
//
// Owns: the three --format renderings shared by every command that prints rows (tables keep
// cells on one line and clip wide ones to kMaxCell columns with "…", except in columns marked
// `whole` — paths, ids — which are never cut; CSV and JSON never clip), and the closest-name
// suggestion. Does not own: running queries or building the rows (the commands and the modules
// do). Thread safety: stateless.
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "watershed/base/status.h"

namespace watershed::cli {

enum class OutputFormat { kTable, kCsv, kJson };
// The names --format accepts for row output, in the order help lists them.
inline const std::vector<std::string> kOutputFormatNames = {"table", "csv", "json"};
StatusOr<OutputFormat> ParseOutputFormat(std::string_view name);

// A table cell wider than this (in terminal columns) is clipped in table format.
inline constexpr size_t kMaxCell = 48;

// Rows as text cells: what commands build from the structs the modules return.
struct TextTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<bool> numeric;             // per column: right-aligned in tables, unquoted in JSON
  std::vector<std::vector<bool>> nulls;  // optional, same shape as rows
  std::vector<bool> whole;  // optional, per column: never clipped in tables (paths, ids)
};

void Print(const TextTable& table, OutputFormat format, std::ostream& out);

// ClosestMatch (the "did you mean" suggestion) is in base/strings.h.

}  // namespace watershed::cli
