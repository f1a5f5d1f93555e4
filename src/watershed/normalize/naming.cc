// normalize/naming.cc — see naming.h.
#include "watershed/normalize/naming.h"

#include <algorithm>
#include <cctype>

#include "watershed/base/ids.h"
#include "watershed/base/strings.h"

namespace watershed::normalize {
namespace {

std::vector<std::string> SplitParts(const std::string& s) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(kPathSeparator, start);
    if (pos == std::string::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, pos - start));
    start = pos + kPathSeparator.size();
  }
}

std::string PathOf(const std::string& flattened) {
  std::string out;
  for (const std::string& p : SplitParts(flattened)) out += JsonPathSegment(p);
  return out;
}

const TableSchema* FindTable(const std::vector<TableSchema>& tables, const std::string& name) {
  for (const TableSchema& t : tables) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

// The JSON path of a table's rows: "$" for a root, "$.categories[*]" for a child.
std::string TablePath(const std::vector<TableSchema>& tables, const std::string& name,
                      int depth = 0) {
  const TableSchema* t = FindTable(tables, name);
  if (t == nullptr || t->parent.empty() || depth > 64) return "$";
  const std::string prefix = StrCat(t->parent, kPathSeparator);
  const std::string rel = name.starts_with(prefix) ? name.substr(prefix.size()) : name;
  return StrCat(TablePath(tables, t->parent, depth + 1), PathOf(rel), "[*]");
}

}  // namespace

std::string NormalizeKey(std::string_view key) {
  auto upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  std::string out;
  out.reserve(key.size() + 4);
  auto underscore = [&] {
    if (!out.empty() && out.back() == '_') return;  // runs collapse to one
    out.push_back('_');
  };
  for (size_t i = 0; i < key.size(); ++i) {
    const char c = key[i];
    if (upper(c)) {
      const bool after_lower = i > 0 && lower_or_digit(key[i - 1]);
      const bool acronym_end =
          i > 0 && upper(key[i - 1]) && i + 1 < key.size() && key[i + 1] >= 'a' && key[i + 1] <= 'z';
      if ((after_lower || acronym_end) && !out.empty()) underscore();
      out.push_back(static_cast<char>(c - 'A' + 'a'));
    } else if (lower_or_digit(c)) {
      out.push_back(c);
    } else {
      underscore();
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  if (out.empty()) return StrCat("k_", HashSuffix(key));
  if (out[0] >= '0' && out[0] <= '9') out.insert(out.begin(), '_');
  if (out.starts_with(kSystemPrefix)) out.erase(0, 1);
  return out;
}

std::string HashSuffix(std::string_view identity) {
  static constexpr char kHex[] = "0123456789abcdef";
  const uint64_t h = Fingerprint64(identity);
  std::string out(8, '0');
  for (int i = 0; i < 8; ++i) out[i] = kHex[(h >> (60 - 4 * i)) & 0xF];
  return out;
}

namespace {

// `name` cut to `keep` characters, less trailing `_`, so a suffix joins with one `_`.
std::string_view Cut(std::string_view name, size_t keep) {
  name = name.substr(0, std::min(keep, name.size()));
  while (!name.empty() && name.back() == '_') name.remove_suffix(1);
  return name;
}

constexpr size_t kCutLength = kMaxNameLength - 9;  // room for `_` + 8 hex

}  // namespace

std::string BoundName(std::string_view name, std::string_view identity) {
  if (name.size() <= kMaxNameLength) return std::string(name);
  return StrCat(Cut(name, kCutLength), "_", HashSuffix(identity));
}

std::string DisambiguatedName(std::string_view name, std::string_view identity) {
  return StrCat(Cut(name, kCutLength), "_", HashSuffix(identity));
}

std::string BoundTableName(std::string_view name, std::string_view identity) {
  const size_t dot = name.find('.');
  if (dot == std::string_view::npos) return BoundName(name, identity);
  return StrCat(name.substr(0, dot + 1), BoundName(name.substr(dot + 1), identity));
}

bool IsSystemName(std::string_view name) { return name.starts_with(kSystemPrefix); }

bool IsStructuralColumn(std::string_view c) {
  return c == kIdColumn || c == kLoadIdColumn || c == kParentIdColumn || c == kIndexColumn;
}

std::string JoinPath(std::string_view parent, std::string_view segment) {
  return parent.empty() ? std::string(segment) : StrCat(parent, kPathSeparator, segment);
}

std::string ChildTableName(std::string_view table, std::string_view path) {
  return StrCat(table, kPathSeparator, path);
}

std::string VariantColumnName(std::string_view column, ColumnType type) {
  return StrCat(column, kPathSeparator, "v_", ColumnTypeName(type));
}

std::string JsonPathSegment(std::string_view key) {
  bool plain = !key.empty();
  for (char c : key) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) plain = false;
  }
  if (plain) return StrCat(".", key);
  static constexpr char kHex[] = "0123456789abcdef";
  const bool utf8 = IsValidUtf8(key);
  std::string quoted;
  for (char c : key) {
    const auto u = static_cast<unsigned char>(c);
    // Control bytes, and every non-ASCII byte of a key that is not valid UTF-8 (a CSV header
    // can be anything): escaped, so the path is always valid text.
    if (u < 0x20 || u == 0x7F || (u >= 0x80 && !utf8)) {
      quoted += "\\x";
      quoted += kHex[u >> 4];
      quoted += kHex[u & 0xF];
      continue;
    }
    if (c == '\'' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return StrCat("['", quoted, "']");
}

std::optional<std::string> JsonPathOf(const std::vector<TableSchema>& tables,
                                      const std::string& table, const std::string& column) {
  if (IsStructuralColumn(column)) return std::nullopt;
  const TableSchema* t = FindTable(tables, table);
  if (t != nullptr) {
    for (const ColumnSpec& c : t->columns) {
      if (c.name == column && !c.source.empty()) return c.source;
    }
  }
  auto has = [&](const std::string& name) {
    if (t == nullptr) return false;
    for (const ColumnSpec& c : t->columns) {
      if (ToLower(c.name) == ToLower(name)) return true;
    }
    return false;
  };
  std::string base = column;
  // A variant column `<col>__v_<type>` holds the values of <col>'s path of another type.
  for (ColumnType type :
       {ColumnType::kBoolean, ColumnType::kBigint, ColumnType::kDouble, ColumnType::kDecimal,
        ColumnType::kDate, ColumnType::kTimestamp, ColumnType::kVarchar}) {
    const std::string suffix = StrCat(kPathSeparator, "v_", ColumnTypeName(type));
    if (base.size() > suffix.size() && base.ends_with(suffix)) {
      base = base.substr(0, base.size() - suffix.size());
      break;
    }
  }
  // A renamed column `<name>__<k>` (k >= 2): a data field named like a system or partition
  // column, or differing from another column only in letter case.
  const size_t pos = base.rfind(kPathSeparator);
  if (pos != std::string::npos && pos + 2 < base.size()) {
    const std::string k = base.substr(pos + 2);
    const std::string stem = base.substr(0, pos);
    const bool digits = k.size() < 9 && std::all_of(k.begin(), k.end(), [](char c) {
                          return std::isdigit(static_cast<unsigned char>(c));
                        });
    if (digits && std::stoi(k) >= 2 &&
        (IsStructuralColumn(stem) || stem == kIngestDateColumn || has(stem))) {
      base = stem;
    }
  }
  const std::string prefix = TablePath(tables, table);
  if (t != nullptr && !t->parent.empty() && base == kValueColumn) {
    // Scalar array elements go to `value`; an object element's own "value" key too. Only a
    // child table with other data columns has objects as elements.
    bool other = false;
    const std::string value_prefix = StrCat(kValueColumn, kPathSeparator);
    for (const ColumnSpec& c : t->columns) {
      if (!IsStructuralColumn(c.name) && c.name != kValueColumn &&
          !c.name.starts_with(value_prefix)) {
        other = true;
      }
    }
    if (!other) return prefix;
  }
  return StrCat(prefix, PathOf(base));
}

std::string RootTableOf(const std::vector<TableSchema>& tables, const std::string& table) {
  std::string name = table;
  for (int i = 0; i < 64; ++i) {
    const TableSchema* t = FindTable(tables, name);
    if (t == nullptr || t->parent.empty()) return name;
    name = t->parent;
  }
  return name;
}

}  // namespace watershed::normalize
