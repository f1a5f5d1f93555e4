// lake/prune.cc — see prune.h.
#include "watershed/lake/prune.h"

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "watershed/base/strings.h"

namespace watershed::lake {
namespace {

using Json = nlohmann::json;

// The constant of `e` (a CONSTANT, or a CAST of one) as a bound with operator `op`.
std::optional<PartitionBound> Constant(const Json& e, const std::string& op) {
  const Json* node = &e;
  if (node->value("class", "") == "CAST" && node->contains("child")) node = &(*node)["child"];
  if (node->value("class", "") != "CONSTANT" || !node->contains("value")) return std::nullopt;
  const Json& v = (*node)["value"];
  if (v.value("is_null", true) || !v.contains("value")) return std::nullopt;
  const Json& x = v["value"];
  if (x.is_string()) return PartitionBound{op, x.get<std::string>(), false};
  if (x.is_number_integer()) return PartitionBound{op, std::to_string(x.get<int64_t>()), true};
  return std::nullopt;
}

// Whether `e` is a reference to the partition column (bare, or qualified by the table's
// name or alias).
bool IsColumn(const Json& e, const std::string& column,
              const std::vector<std::string>& qualifiers) {
  if (e.value("class", "") != "COLUMN_REF" || !e.contains("column_names")) return false;
  const Json& names = e["column_names"];
  if (!names.is_array() || names.empty() || !names.back().is_string()) return false;
  if (ToLower(names.back().get<std::string>()) != ToLower(column)) return false;
  if (names.size() == 1) return true;
  if (names.size() != 2 || !names[0].is_string()) return false;
  const std::string q = ToLower(names[0].get<std::string>());
  for (const std::string& ok : qualifiers) {
    if (q == ok) return true;
  }
  return false;
}

std::string Flip(const std::string& op) {
  if (op == "<") return ">";
  if (op == "<=") return ">=";
  if (op == ">") return "<";
  if (op == ">=") return "<=";
  return op;
}

void Collect(const Json& e, const std::string& column, const std::vector<std::string>& qualifiers,
             std::vector<PartitionBound>& out) {
  const std::string cls = e.value("class", "");
  const std::string type = e.value("type", "");
  if (cls == "CONJUNCTION" && type == "CONJUNCTION_AND" && e.contains("children")) {
    for (const Json& c : e["children"]) Collect(c, column, qualifiers, out);
    return;
  }
  if (cls == "BETWEEN" && e.contains("input") && IsColumn(e["input"], column, qualifiers)) {
    auto lo = Constant(e.value("lower", Json()), ">="),
         hi = Constant(e.value("upper", Json()), "<=");
    if (lo) out.push_back(*lo);
    if (hi) out.push_back(*hi);
    return;
  }
  if (cls != "COMPARISON" || !e.contains("left") || !e.contains("right")) return;
  std::string op;
  if (type == "COMPARE_EQUAL")
    op = "=";
  else if (type == "COMPARE_LESSTHAN")
    op = "<";
  else if (type == "COMPARE_LESSTHANOREQUALTO")
    op = "<=";
  else if (type == "COMPARE_GREATERTHAN")
    op = ">";
  else if (type == "COMPARE_GREATERTHANOREQUALTO")
    op = ">=";
  else
    return;
  if (IsColumn(e["left"], column, qualifiers)) {
    if (auto b = Constant(e["right"], op)) out.push_back(*b);
  } else if (IsColumn(e["right"], column, qualifiers)) {
    if (auto b = Constant(e["left"], Flip(op))) out.push_back(*b);
  }
}

// -1, 0, 1; nullopt when the two do not compare as `type`.
std::optional<int> Compare(const std::string& a, const std::string& b, ColumnType type) {
  if (type == ColumnType::kBigint) {
    char* end_a = nullptr;
    char* end_b = nullptr;
    const long long x = std::strtoll(a.c_str(), &end_a, 10);
    const long long y = std::strtoll(b.c_str(), &end_b, 10);
    if (a.empty() || b.empty() || *end_a != '\0' || *end_b != '\0') return std::nullopt;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (type == ColumnType::kDate) {
    auto iso_date = [](const std::string& s) {
      if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
      for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
        if (s[i] < '0' || s[i] > '9') return false;
      }
      return true;
    };
    if (!iso_date(a) || !iso_date(b)) return std::nullopt;
  }
  // Text that Hive-style paths had to escape is not compared.
  if (type == ColumnType::kVarchar && a.find('%') != std::string::npos) return std::nullopt;
  if (type == ColumnType::kDate || type == ColumnType::kVarchar) {
    const int c = a.compare(b);
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  return std::nullopt;
}

}  // namespace

std::vector<PartitionBound> PartitionBounds(std::string_view ast_json, const std::string& table,
                                            const std::string& partition_column) {
  // The view of a table serves every reference to it in the query: with a subquery anywhere
  // (which could read the table again, unfiltered) or a second table, nothing is pruned.
  if (ast_json.find("\"SUBQUERY\"") != std::string_view::npos) return {};
  const size_t first = ast_json.find("\"BASE_TABLE\"");
  if (first == std::string_view::npos ||
      ast_json.find("\"BASE_TABLE\"", first + 1) != std::string_view::npos) {
    return {};
  }
  const Json ast = Json::parse(ast_json, nullptr, false);
  if (ast.is_discarded() || ast.value("error", true) || !ast.contains("statements")) return {};
  const Json& statements = ast["statements"];
  if (!statements.is_array() || statements.size() != 1) return {};
  const Json& node = statements[0].value("node", Json());
  if (node.value("type", "") != "SELECT_NODE") return {};
  if (node.contains("cte_map") && !node["cte_map"].value("map", Json::array()).empty()) return {};
  const Json& from = node.value("from_table", Json());
  if (from.value("type", "") != "BASE_TABLE") return {};
  const size_t dot = table.find('.');
  if (dot == std::string::npos) return {};
  const std::string ns = ToLower(table.substr(0, dot)), name = ToLower(table.substr(dot + 1));
  if (ToLower(from.value("schema_name", "")) != ns ||
      ToLower(from.value("table_name", "")) != name) {
    return {};
  }
  std::vector<std::string> qualifiers = {name};
  if (!from.value("alias", "").empty()) qualifiers = {ToLower(from.value("alias", ""))};
  const Json& where = node.value("where_clause", Json());
  if (!where.is_object()) return {};
  std::vector<PartitionBound> out;
  Collect(where, partition_column, qualifiers, out);
  return out;
}

bool PartitionMayMatch(const std::string& partition, ColumnType type,
                       const std::vector<PartitionBound>& bounds) {
  const size_t eq = partition.find('=');
  if (eq == std::string::npos) return true;
  const std::string value = partition.substr(eq + 1);
  for (const PartitionBound& b : bounds) {
    if (b.number && type == ColumnType::kVarchar) continue;
    const std::optional<int> c = Compare(value, b.value, type);
    if (!c) continue;  // not comparable: this bound prunes nothing
    const bool ok = (b.op == "=" && *c == 0) || (b.op == "<" && *c < 0) ||
                    (b.op == "<=" && *c <= 0) || (b.op == ">" && *c > 0) ||
                    (b.op == ">=" && *c >= 0);
    if (!ok) return false;
  }
  return true;
}

bool StatsMayMatch(const ColumnStats& stats, ColumnType type,
                   const std::vector<PartitionBound>& bounds) {
  if (!stats.min || !stats.max) return true;
  const bool max_is_exact = !(type == ColumnType::kVarchar && stats.max->size() >= 64);
  for (const PartitionBound& b : bounds) {
    if (b.number && type == ColumnType::kVarchar) continue;
    const std::optional<int> lo = Compare(*stats.min, b.value, type);  // min vs the constant
    const std::optional<int> hi = Compare(*stats.max, b.value, type);  // max vs the constant
    if (!lo || !hi) continue;  // not comparable: this bound prunes nothing
    const bool needs_max = b.op == "=" || b.op == ">" || b.op == ">=";  // max must reach v
    const bool needs_min = b.op == "=" || b.op == "<" || b.op == "<=";  // min must reach v
    if (needs_min && ((b.op == "<" && *lo >= 0) || (b.op != "<" && *lo > 0))) return false;
    if (needs_max && max_is_exact && ((b.op == ">" && *hi <= 0) || (b.op != ">" && *hi < 0))) {
      return false;
    }
  }
  return true;
}

}  // namespace watershed::lake
