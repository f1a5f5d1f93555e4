// cli/output.h — printing query results as an aligned table, CSV or JSON.
//
// Owns: the three --format renderings shared by every command that prints rows.
// Does not own: running queries. Thread safety: stateless.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/warehouse/duckdb/database.h"

namespace watershed::cli {

enum class OutputFormat { kTable, kCsv, kJson };
StatusOr<OutputFormat> ParseOutputFormat(std::string_view name);

// A result already turned into text cells (for commands that build rows themselves).
struct TextTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<bool> numeric;  // per column: right-aligned in tables, unquoted in JSON
  std::vector<std::vector<bool>> nulls;  // optional, same shape as rows
};

TextTable ToTextTable(warehouse::Result& result, size_t max_rows, bool* truncated);
void Print(const TextTable& table, OutputFormat format, std::ostream& out);

}  // namespace watershed::cli
