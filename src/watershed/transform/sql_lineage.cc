// transform/sql_lineage.cc — see sql_lineage.h; the analyzer's walk of query nodes, FROM items
// and `*` (expressions: sql_lineage_expr.cc; the shared types: sql_lineage_internal.h).
#include "watershed/transform/sql_lineage.h"

#include <algorithm>
#include <mutex>

#include "watershed/transform/sql_lineage_internal.h"

namespace watershed::transform {
namespace sql_lineage_internal {

const char* DirectName(int d) {
  switch (d) {
    case kIdentity:
      return "IDENTITY";
    case kTransformation:
      return "TRANSFORMATION";
    default:
      return "AGGREGATION";
  }
}

const json& Field(const json& o, const char* key) {
  static const json kNull;
  if (!o.is_object()) return kNull;
  auto it = o.find(key);
  return it == o.end() ? kNull : *it;
}

std::string Str(const json& o, const char* key) {
  const json& v = Field(o, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

bool EqualsNoCase(const std::string& a, const std::string& b) { return ToLower(a) == ToLower(b); }

std::string DatasetName(const std::string& catalog, const std::string& schema,
                        const std::string& table, bool* lake) {
  *lake = false;
  if (catalog == "memory" && !schema.empty() && schema != "main") {
    *lake = true;
    return StrCat(schema, ".", table);
  }
  if (!catalog.empty()) {
    return schema.empty() || schema == "main" ? StrCat(catalog, ".", table)
                                              : StrCat(catalog, ".", schema, ".", table);
  }
  return schema.empty() ? table : StrCat(schema, ".", table);
}

Relation Analyzer::Node(const json& node, const Scope* outer, const CteEnv* env, Deps& sink) {
  const std::string type = Str(node, "type");
  if (type == "SELECT_NODE") return Select(node, outer, env, sink);
  if (type == "SET_OPERATION_NODE") {
    CteEnv local{env, {}};
    Ctes(node, outer, local, sink);
    Relation left = Node(Field(node, "left"), outer, &local, sink);
    Relation right = Node(Field(node, "right"), outer, &local, sink);
    const std::string op = Str(node, "setop_type");
    Relation out = left;
    if (op == "EXCEPT" || op == "INTERSECT") {
      for (const Column& c : right.columns)
        AddAll(sink, c.deps, Ctx{nullptr, nullptr, 0, "FILTER"});
    } else if (op == "UNION_BY_NAME") {
      for (const Column& c : right.columns) {
        auto it = std::find_if(out.columns.begin(), out.columns.end(),
                               [&](const Column& o) { return EqualsNoCase(o.name, c.name); });
        if (it == out.columns.end()) {
          out.columns.push_back(c);
        } else {
          AddAll(it->deps, c.deps, Ctx{});
        }
      }
    } else {
      for (size_t i = 0; i < out.columns.size() && i < right.columns.size(); ++i) {
        AddAll(out.columns[i].deps, right.columns[i].deps, Ctx{});
      }
    }
    Modifiers(node, Scope{outer, {}, &out.columns}, &local, out, sink);
    return out;
  }
  if (type == "RECURSIVE_CTE_NODE") {  // outside a CTE definition: the anchor and the step
    Relation left = Node(Field(node, "left"), outer, env, sink);
    Relation right = Node(Field(node, "right"), outer, env, sink);
    for (size_t i = 0; i < left.columns.size() && i < right.columns.size(); ++i) {
      AddAll(left.columns[i].deps, right.columns[i].deps, Ctx{});
    }
    return left;
  }
  Fail(StrCat("query node ", type.empty() ? "?" : type, " is not supported"));
  return Relation{};
}

void Analyzer::Fail(const std::string& why) {
  if (failure.empty()) failure = why;
}

// out[k] gains d[k], as a direct input (subtype raised to ctx.floor) or, in an indirect
// context, as an indirect one.
void Analyzer::AddAll(Deps& out, const Deps& d, const Ctx& ctx) {
  for (const auto& [k, dep] : d) {
    Dep& o = out[k];
    if (ctx.indirect.empty()) {
      if (dep.direct != kNoDirect) o.direct = std::max({o.direct, dep.direct, ctx.floor});
    } else {
      o.indirect.insert(ctx.indirect);
    }
    o.indirect.insert(dep.indirect.begin(), dep.indirect.end());
  }
}

void Analyzer::ApplyAliases(Relation& rel, const json& aliases) {
  if (!aliases.is_array()) return;
  for (size_t i = 0; i < aliases.size() && i < rel.columns.size(); ++i) {
    if (aliases[i].is_string()) rel.columns[i].name = aliases[i].get<std::string>();
  }
}

void Analyzer::Ctes(const json& node, const Scope* outer, CteEnv& env, Deps& sink) {
  const json& map = Field(Field(node, "cte_map"), "map");
  if (!map.is_array()) return;
  for (const json& entry : map) {
    const std::string name = Str(entry, "key");
    const json& value = Field(entry, "value");
    const json& q = Field(Field(value, "query"), "node");
    Relation rel;
    if (Str(q, "type") == "RECURSIVE_CTE_NODE") {
      // The anchor first; then the recursive step sees the CTE as the union so far, until the
      // inputs stop growing.
      rel = Node(Field(q, "left"), outer, &env, sink);
      ApplyAliases(rel, Field(value, "aliases"));
      for (int round = 0; round < 5; ++round) {
        CteEnv self{&env, {}};
        self.map[ToLower(name)] = rel;
        Relation step = Node(Field(q, "right"), outer, &self, sink);
        Relation merged = rel;
        for (size_t i = 0; i < merged.columns.size() && i < step.columns.size(); ++i) {
          AddAll(merged.columns[i].deps, step.columns[i].deps, Ctx{});
        }
        bool same = true;
        for (size_t i = 0; i < merged.columns.size(); ++i) {
          if (merged.columns[i].deps.size() != rel.columns[i].deps.size()) same = false;
        }
        rel = std::move(merged);
        if (same) break;
      }
    } else {
      rel = Node(q, outer, &env, sink);
      ApplyAliases(rel, Field(value, "aliases"));
    }
    env.map[ToLower(name)] = std::move(rel);
  }
}

Relation Analyzer::Select(const json& node, const Scope* outer, const CteEnv* parent_env,
                          Deps& sink) {
  CteEnv env{parent_env, {}};
  Ctes(node, outer, env, sink);
  Scope scope{outer, {}, nullptr};
  From(Field(node, "from_table"), scope, &env, sink);

  Relation out;
  const json& list = Field(node, "select_list");
  if (list.is_array()) {
    for (const json& e : list) {
      if (Str(e, "class") == "STAR") {
        const json& columns = Field(e, "columns");
        if (columns.is_boolean() && columns.get<bool>()) {
          Fail("COLUMNS(...) in the select list is not supported");
          continue;
        }
        ExpandStar(e, scope, &env, out);
        continue;
      }
      Column c;
      c.name = OutputName(e, out.columns.size());
      Expr(e, Ctx{&scope, &env, kIdentity, ""}, c.deps, sink);
      out.columns.push_back(std::move(c));
    }
  }
  scope.select_list = &out.columns;
  const Ctx filter{&scope, &env, kIdentity, "FILTER"};
  Expr(Field(node, "where_clause"), filter, sink, sink);
  Expr(Field(node, "having"), filter, sink, sink);
  Expr(Field(node, "qualify"), filter, sink, sink);
  const json& groups = Field(node, "group_expressions");
  if (groups.is_array()) {
    for (const json& g : groups) Positional(g, Ctx{&scope, &env, kIdentity, "GROUP_BY"}, out, sink);
  }
  Modifiers(node, scope, &env, out, sink);
  return out;
}

// ORDER BY (and DISTINCT ON) of a node: indirect inputs of every row.
void Analyzer::Modifiers(const json& node, const Scope& scope, const CteEnv* env,
                         const Relation& out, Deps& sink) {
  const json& mods = Field(node, "modifiers");
  if (!mods.is_array()) return;
  for (const json& m : mods) {
    const std::string type = Str(m, "type");
    if (type == "ORDER_MODIFIER") {
      for (const json& o : Field(m, "orders")) {
        Positional(Field(o, "expression"), Ctx{&scope, env, kIdentity, "SORT"}, out, sink);
      }
    } else if (type == "DISTINCT_MODIFIER") {
      for (const json& d : Field(m, "distinct_on_targets")) {
        Positional(d, Ctx{&scope, env, kIdentity, "GROUP_BY"}, out, sink);
      }
    }
  }
}

// GROUP BY 1 / ORDER BY 2 name select-list items by position; other expressions as usual.
void Analyzer::Positional(const json& e, const Ctx& ctx, const Relation& out, Deps& sink) {
  if (Str(e, "class") == "CONSTANT") {
    const json& v = Field(Field(e, "value"), "value");
    if (v.is_number_integer()) {
      const int64_t i = v.get<int64_t>();
      if (i >= 1 && static_cast<size_t>(i) <= out.columns.size()) {
        AddAll(sink, out.columns[i - 1].deps, ctx);
      }
    }
    return;
  }
  Expr(e, ctx, sink, sink);
}

void Analyzer::From(const json& t, Scope& scope, const CteEnv* env, Deps& sink) {
  if (!t.is_object()) return;
  const std::string type = Str(t, "type");
  if (type == "EMPTY" || type.empty()) return;
  if (type == "BASE_TABLE") {
    const std::string catalog = Str(t, "catalog_name"), schema = Str(t, "schema_name"),
                      table = Str(t, "table_name");
    Binding b;
    b.alias = Str(t, "alias").empty() ? table : Str(t, "alias");
    const Relation* cte = catalog.empty() && schema.empty() ? env->Find(table) : nullptr;
    if (cte != nullptr) {
      b.rel = *cte;
    } else {
      bool lake = false;
      const std::string dataset = DatasetName(catalog, schema, table, &lake);
      datasets[dataset] = lake ? "lake" : "model";
      std::vector<std::string> parts;
      for (const std::string* p : {&catalog, &schema, &table}) {
        if (!p->empty()) parts.push_back(*p);
      }
      auto cols = schemas_ ? schemas_(parts) : std::nullopt;
      if (!cols) {
        Fail(StrCat("the columns of ", dataset, " are unknown"));
        b.rel.open = true;
      } else {
        for (const std::string& c : *cols) {
          Column col{c, {}};
          col.deps[{dataset, c}].direct = kIdentity;
          b.rel.columns.push_back(std::move(col));
        }
      }
    }
    ApplyAliases(b.rel, Field(t, "column_name_alias"));
    scope.bindings.push_back(std::move(b));
    return;
  }
  if (type == "JOIN") {
    From(Field(t, "left"), scope, env, sink);
    const size_t left_end = scope.bindings.size();
    From(Field(t, "right"), scope, env, sink);
    const Ctx join{&scope, env, kIdentity, "JOIN"};
    Expr(Field(t, "condition"), join, sink, sink);
    std::vector<std::string> using_cols;
    for (const json& u : Field(t, "using_columns")) {
      if (u.is_string()) using_cols.push_back(u.get<std::string>());
    }
    if (Str(t, "ref_type") == "NATURAL") {  // the names both sides have
      for (size_t i = 0; i < left_end; ++i) {
        for (const Column& c : scope.bindings[i].rel.columns) {
          for (size_t j = left_end; j < scope.bindings.size(); ++j) {
            for (const Column& d : scope.bindings[j].rel.columns) {
              if (EqualsNoCase(c.name, d.name)) using_cols.push_back(c.name);
            }
          }
        }
      }
    }
    for (const std::string& u : using_cols) {
      for (const Binding& b : scope.bindings) {
        for (const Column& c : b.rel.columns) {
          if (EqualsNoCase(c.name, u)) AddAll(sink, c.deps, join);
        }
      }
    }
    return;
  }
  if (type == "SUBQUERY") {
    Binding b;
    b.alias = Str(t, "alias");
    b.rel = Node(Field(Field(t, "subquery"), "node"), scope.parent, env, sink);
    ApplyAliases(b.rel, Field(t, "column_name_alias"));
    scope.bindings.push_back(std::move(b));
    return;
  }
  if (type == "TABLE_FUNCTION") {
    Binding b;
    b.alias = Str(t, "alias");
    b.rel.open = true;
    Deps args;
    Expr(Field(t, "function"), Ctx{&scope, env, kTransformation, ""}, args, sink);
    // A table function's columns cannot be told apart: each reads all its arguments.
    const json& names = Field(t, "column_name_alias");
    if (names.is_array() && !names.empty()) {
      b.rel.open = false;
      for (const json& n : names) {
        if (n.is_string()) b.rel.columns.push_back({n.get<std::string>(), args});
      }
    }
    scope.bindings.push_back(std::move(b));
    return;
  }
  Fail(StrCat("FROM item ", type, " is not supported"));
}

std::string Analyzer::OutputName(const json& e, size_t index) {
  if (!Str(e, "alias").empty()) return Str(e, "alias");
  const std::string cls = Str(e, "class");
  if (cls == "COLUMN_REF") {
    const json& names = Field(e, "column_names");
    if (names.is_array() && !names.empty() && names.back().is_string()) {
      return names.back().get<std::string>();
    }
  }
  if (cls == "FUNCTION" || cls == "WINDOW") return Str(e, "function_name");
  return StrCat("col", index);
}

void Analyzer::ExpandStar(const json& e, const Scope& scope, const CteEnv* env, Relation& out) {
  const std::string qualifier = Str(e, "relation_name");
  std::set<std::string> excluded;
  for (const json& x : Field(e, "exclude_list")) {
    if (x.is_string()) excluded.insert(ToLower(x.get<std::string>()));
  }
  for (const json& x : Field(e, "qualified_exclude_list")) {
    const json& names = Field(x, "column_names");
    if (names.is_array() && !names.empty() && names.back().is_string()) {
      excluded.insert(ToLower(names.back().get<std::string>()));
    } else if (x.is_string()) {
      excluded.insert(ToLower(x.get<std::string>()));
    }
  }
  std::map<std::string, const json*> replaced;
  for (const json& r : Field(e, "replace_list")) {
    const std::string k = Str(r, "key");
    if (!k.empty()) replaced[ToLower(k)] = &Field(r, "value");
  }
  std::map<std::string, std::string> renamed;
  for (const json& r : Field(e, "rename_list")) {
    const json& key = Field(r, "key");
    const json& names = Field(key, "column_names");
    std::string from = key.is_string() ? key.get<std::string>()
                       : (names.is_array() && !names.empty() && names.back().is_string())
                           ? names.back().get<std::string>()
                           : std::string();
    if (!from.empty() && Field(r, "value").is_string()) {
      renamed[ToLower(from)] = Field(r, "value").get<std::string>();
    }
  }
  bool matched = false;
  for (const Binding& b : scope.bindings) {
    if (!qualifier.empty() && !EqualsNoCase(b.alias, qualifier)) continue;
    matched = true;
    if (b.rel.open) {
      Fail(StrCat("* over ", b.alias.empty() ? "a table function" : b.alias,
                  " whose columns are unknown"));
      continue;
    }
    for (const Column& c : b.rel.columns) {
      const std::string low = ToLower(c.name);
      if (excluded.contains(low)) continue;
      Column o{renamed.contains(low) ? renamed[low] : c.name, {}};
      if (replaced.contains(low)) {
        Deps unused;
        Expr(*replaced[low], Ctx{&scope, env, kIdentity, ""}, o.deps, unused);
      } else {
        AddAll(o.deps, c.deps, Ctx{});
      }
      out.columns.push_back(std::move(o));
    }
  }
  if (!matched) Fail(StrCat("* of ", qualifier.empty() ? "nothing" : qualifier));
}

}  // namespace sql_lineage_internal

using namespace sql_lineage_internal;  // NOLINT(build/namespaces): this file implements them
using observe::InputField;
using observe::ModelLineage;
using observe::OutputColumn;

namespace {

// DuckDB's aggregate function names, asked once per process.
StatusOr<std::set<std::string>> AggregateNames(warehouse::Connection& conn) {
  static std::mutex mu;
  static std::set<std::string>* cached = nullptr;
  std::lock_guard<std::mutex> lock(mu);
  if (cached != nullptr) return *cached;
  WS_ASSIGN_OR_RETURN(auto r, conn.Query("SELECT DISTINCT lower(function_name) FROM "
                                         "duckdb_functions() WHERE function_type = 'aggregate'"));
  auto* names = new std::set<std::string>();
  for (size_t i = 0; i < r.row_count(); ++i) names->insert(r.GetString(0, i));
  cached = names;
  return *cached;
}

std::vector<InputField> ToInputs(const Deps& deps, bool direct_allowed) {
  std::vector<InputField> out;
  for (const auto& [k, dep] : deps) {
    if (direct_allowed && dep.direct != kNoDirect) {
      out.push_back({k.first, k.second, "DIRECT", DirectName(dep.direct)});
    }
    for (const std::string& s : dep.indirect) out.push_back({k.first, k.second, "INDIRECT", s});
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Storage: the lineage_* tables in the catalog database
// ---------------------------------------------------------------------------------------------

}  // namespace

StatusOr<ModelLineage> AnalyzeModelSql(warehouse::Connection& conn, const std::string& model,
                                       const std::string& sql, const SchemaLookup& schemas) {
  ModelLineage out;
  out.model = model;
  WS_ASSIGN_OR_RETURN(auto stmt, conn.Prepare("SELECT json_serialize_sql(?::VARCHAR)"));
  WS_RETURN_IF_ERROR(stmt->Bind(1, std::string_view(sql)));
  WS_ASSIGN_OR_RETURN(auto r, stmt->Execute());
  const json ast = json::parse(r.GetString(0, 0), nullptr, false);
  const json& statements = Field(ast, "statements");
  if (ast.is_discarded() || (Field(ast, "error").is_boolean() && Field(ast, "error").get<bool>()) ||
      !statements.is_array() || statements.size() != 1) {
    out.column_level = false;
    out.note =
        StrCat("DuckDB could not parse the SQL for lineage: ",
               ast.is_discarded()                   ? "no AST"
               : !Str(ast, "error_message").empty() ? Str(ast, "error_message")
                                                    : "expected exactly one SELECT statement");
  }
  WS_ASSIGN_OR_RETURN(std::set<std::string> aggregates, AggregateNames(conn));
  Analyzer a(schemas, aggregates);
  Deps sink;
  Relation rel;
  if (out.column_level) {
    rel = a.Node(Field(statements[0], "node"), nullptr, nullptr, sink);
  }
  out.input_datasets = a.datasets;
  if (!a.failure.empty() && out.column_level) {
    out.column_level = false;
    out.note = StrCat("column lineage unavailable: ", a.failure);
  }
  // DuckDB's own output names and types, when it can bind the query.
  auto described = DescribeColumns(conn, StrCat(sql, "\n"));
  if (!out.column_level) {
    if (described) {
      for (const auto& [name, type] : *described) out.columns.push_back({name, type, {}});
    }
    return out;
  }
  const bool names_match = described && described->size() == rel.columns.size();
  if (described && !names_match) {
    out.note = StrCat("DuckDB describes ", described->size(), " columns, the parse gives ",
                      rel.columns.size());
  }
  for (size_t i = 0; i < rel.columns.size(); ++i) {
    OutputColumn c;
    c.name = names_match ? (*described)[i].first : rel.columns[i].name;
    c.data_type = names_match ? (*described)[i].second : "";
    c.inputs = ToInputs(rel.columns[i].deps, true);
    out.columns.push_back(std::move(c));
  }
  out.dataset_inputs = ToInputs(sink, false);
  if (!a.unresolved.empty()) {
    std::string names;
    for (const std::string& n : a.unresolved) names += (names.empty() ? "" : ", ") + n;
    out.note += StrCat(out.note.empty() ? "" : "; ", "unresolved column references: ", names);
  }
  return out;
}

std::string LineageDatasetOf(const std::vector<std::string>& parts) {
  bool lake = false;
  return DatasetName(parts.size() == 3 ? parts[0] : "",
                     parts.size() >= 2 ? parts[parts.size() - 2] : "", parts.back(), &lake);
}

std::optional<std::vector<std::pair<std::string, std::string>>> DescribeColumns(
    warehouse::Connection& conn, const std::string& what) {
  auto r = conn.Query(StrCat("DESCRIBE ", what));
  if (!r.ok()) return std::nullopt;
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = 0; i < r->row_count(); ++i)
    out.emplace_back(r->GetString(0, i), r->GetString(1, i));
  return out;
}

}  // namespace watershed::transform
