// cli/output.cc — see output.h.
#include "watershed/cli/output.h"

#include <algorithm>

#include "watershed/base/log.h"

namespace watershed::cli {

StatusOr<OutputFormat> ParseOutputFormat(std::string_view name) {
  if (name == "table") return OutputFormat::kTable;
  if (name == "csv") return OutputFormat::kCsv;
  if (name == "json") return OutputFormat::kJson;
  return absl::InvalidArgumentError(
      StrCat("unknown --format '", name, "' (expected table, csv or json)"));
}

namespace {

bool IsNumeric(duckdb_type t) {
  switch (t) {
    case DUCKDB_TYPE_TINYINT: case DUCKDB_TYPE_SMALLINT: case DUCKDB_TYPE_INTEGER:
    case DUCKDB_TYPE_BIGINT: case DUCKDB_TYPE_UTINYINT: case DUCKDB_TYPE_USMALLINT:
    case DUCKDB_TYPE_UINTEGER: case DUCKDB_TYPE_UBIGINT: case DUCKDB_TYPE_FLOAT:
    case DUCKDB_TYPE_DOUBLE: case DUCKDB_TYPE_DECIMAL: case DUCKDB_TYPE_HUGEINT:
    case DUCKDB_TYPE_UHUGEINT:
      return true;
    default:
      return false;
  }
}

// Display width in terminal columns (UTF-8 code points; good enough for alignment).
size_t Width(std::string_view s) {
  size_t w = 0;
  for (unsigned char c : s) w += (c & 0xC0) != 0x80;
  return w;
}

std::string Clip(const std::string& s, size_t max) {
  if (Width(s) <= max) return s;
  std::string out;
  size_t w = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) != 0x80) {
      if (w == max - 1) break;
      ++w;
    }
    out.push_back(s[i]);
  }
  return out + "…";
}

std::string OneLine(const std::string& s) {
  std::string out = s;
  std::replace(out.begin(), out.end(), '\n', ' ');
  std::replace(out.begin(), out.end(), '\t', ' ');
  return out;
}

}  // namespace

TextTable ToTextTable(warehouse::Result& result, size_t max_rows, bool* truncated) {
  TextTable t;
  const size_t cols = result.column_count();
  for (size_t c = 0; c < cols; ++c) {
    t.header.push_back(result.column_name(c));
    t.numeric.push_back(IsNumeric(result.column_type(c)) ||
                        result.column_type(c) == DUCKDB_TYPE_BOOLEAN);
  }
  const size_t rows = result.row_count();
  *truncated = max_rows > 0 && rows > max_rows;
  const size_t n = *truncated ? max_rows : rows;
  for (size_t r = 0; r < n; ++r) {
    std::vector<std::string> row;
    std::vector<bool> nulls;
    for (size_t c = 0; c < cols; ++c) {
      bool null = result.IsNull(c, r);
      nulls.push_back(null);
      row.push_back(null ? "" : result.GetString(c, r));
    }
    t.rows.push_back(std::move(row));
    t.nulls.push_back(std::move(nulls));
  }
  return t;
}

void Print(const TextTable& t, OutputFormat format, std::ostream& out) {
  auto is_null = [&](size_t r, size_t c) {
    return r < t.nulls.size() && c < t.nulls[r].size() && t.nulls[r][c];
  };
  if (format == OutputFormat::kCsv) {
    auto field = [](const std::string& s) {
      if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
      std::string q = "\"";
      for (char c : s) {
        q.push_back(c);
        if (c == '"') q.push_back('"');
      }
      return q + "\"";
    };
    for (size_t c = 0; c < t.header.size(); ++c) out << (c ? "," : "") << field(t.header[c]);
    out << "\n";
    for (const auto& row : t.rows) {
      for (size_t c = 0; c < row.size(); ++c) out << (c ? "," : "") << field(row[c]);
      out << "\n";
    }
    return;
  }
  if (format == OutputFormat::kJson) {
    out << "[";
    for (size_t r = 0; r < t.rows.size(); ++r) {
      out << (r ? ",\n " : "\n ") << "{";
      for (size_t c = 0; c < t.header.size(); ++c) {
        out << (c ? ", " : "") << "\"" << JsonEscape(t.header[c]) << "\": ";
        const std::string& v = t.rows[r][c];
        if (is_null(r, c)) {
          out << "null";
        } else if (c < t.numeric.size() && t.numeric[c] && !v.empty() && v != "nan" &&
                   v != "inf" && v != "-inf") {
          out << v;
        } else {
          out << "\"" << JsonEscape(v) << "\"";
        }
      }
      out << "}";
    }
    out << (t.rows.empty() ? "]\n" : "\n]\n");
    return;
  }
  constexpr size_t kMaxCell = 48;
  std::vector<size_t> widths;
  for (const auto& h : t.header) widths.push_back(std::min(Width(h), kMaxCell));
  std::vector<std::vector<std::string>> cells;
  for (size_t r = 0; r < t.rows.size(); ++r) {
    std::vector<std::string> row;
    for (size_t c = 0; c < t.rows[r].size(); ++c) {
      std::string s = is_null(r, c) ? "NULL" : Clip(OneLine(t.rows[r][c]), kMaxCell);
      widths[c] = std::max(widths[c], Width(s));
      row.push_back(std::move(s));
    }
    cells.push_back(std::move(row));
  }
  auto line = [&](const std::vector<std::string>& row, bool header) {
    for (size_t c = 0; c < row.size(); ++c) {
      std::string s = header ? Clip(row[c], kMaxCell) : row[c];
      size_t pad = widths[c] - std::min(widths[c], Width(s));
      bool right = !header && c < t.numeric.size() && t.numeric[c];
      out << (c ? " │ " : " ");
      if (right) out << std::string(pad, ' ') << s;
      else out << s << std::string(pad, ' ');
    }
    out << "\n";
  };
  line(t.header, true);
  for (size_t c = 0; c < widths.size(); ++c) {
    out << (c ? "─┼─" : "─");
    for (size_t i = 0; i < widths[c]; ++i) out << "─";
  }
  out << "\n";
  for (const auto& row : cells) line(row, false);
}

}  // namespace watershed::cli
