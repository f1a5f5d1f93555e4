// cli/output.cc — table, CSV and JSON rendering. See output.h.
#include "watershed/cli/output.h"

#include <algorithm>

#include "watershed/base/log.h"
#include "watershed/base/strings.h"

namespace watershed::cli {

StatusOr<OutputFormat> ParseOutputFormat(std::string_view name) {
  if (name == "table") return OutputFormat::kTable;
  if (name == "csv") return OutputFormat::kCsv;
  if (name == "json") return OutputFormat::kJson;
  return absl::InvalidArgumentError(
      StrCat("unknown --format '", name, "' (expected ", Join(kOutputFormatNames, ", "), ")"));
}

namespace {

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
        } else if (c < t.numeric.size() && t.numeric[c] && !v.empty() && v != "nan" && v != "inf" &&
                   v != "-inf") {
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
  auto whole = [&](size_t c) { return c < t.whole.size() && t.whole[c]; };
  auto fit = [&](const std::string& s, size_t c) {
    return whole(c) ? OneLine(s) : Clip(OneLine(s), kMaxCell);
  };
  std::vector<size_t> widths;
  for (size_t c = 0; c < t.header.size(); ++c) widths.push_back(Width(fit(t.header[c], c)));
  std::vector<std::vector<std::string>> cells;
  for (size_t r = 0; r < t.rows.size(); ++r) {
    std::vector<std::string> row;
    for (size_t c = 0; c < t.rows[r].size() && c < widths.size(); ++c) {
      std::string s = is_null(r, c) ? "NULL" : fit(t.rows[r][c], c);
      widths[c] = std::max(widths[c], Width(s));
      row.push_back(std::move(s));
    }
    cells.push_back(std::move(row));
  }
  auto line = [&](const std::vector<std::string>& row, bool header) {
    for (size_t c = 0; c < row.size() && c < widths.size(); ++c) {
      std::string s = header ? fit(row[c], c) : row[c];
      size_t pad = widths[c] - std::min(widths[c], Width(s));
      // Numbers and their headers are right-aligned; the last column has no trailing spaces.
      const bool right = c < t.numeric.size() && t.numeric[c];
      const bool last = c + 1 == row.size() || c + 1 == widths.size();
      out << (c ? " │ " : " ");
      if (right) {
        out << std::string(pad, ' ') << s;
      } else {
        out << s << (last ? "" : std::string(pad, ' '));
      }
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
