// observe/lineage.cc — see lineage.h.
//
// The SQL analysis walks the AST DuckDB's parser gives (json_serialize_sql) with scopes: a
// query node's FROM clause binds aliases to relations (a base table's real columns, a CTE's or a
// subquery's analysed columns), and every expression is reduced to the base-table columns it
// reads, each with the strongest direct subtype on its path (IDENTITY < TRANSFORMATION <
// AGGREGATION) and the indirect subtypes it picked up.
#include "watershed/observe/lineage.h"


#include <algorithm>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "watershed/base/log.h"
#include "watershed/store/store.h"
#include "watershed/base/strings.h"
#include "watershed/observe/openlineage.h"

namespace watershed::observe {
namespace {

using json = nlohmann::json;
using warehouse::QuoteIdent;

// ---------------------------------------------------------------------------------------------
// SQL analysis
// ---------------------------------------------------------------------------------------------

enum DirectKind { kNoDirect = -1, kIdentity = 0, kTransformation = 1, kAggregation = 2 };

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

struct Dep {
  int direct = kNoDirect;
  std::set<std::string> indirect;
};
using Key = std::pair<std::string, std::string>;  // dataset, column
using Deps = std::map<Key, Dep>;

struct Column {
  std::string name;
  Deps deps;
};

struct Relation {
  std::vector<Column> columns;
  bool open = false;  // columns unknown (a table function): any name resolves, to nothing
};

struct Binding {
  std::string alias;
  Relation rel;
};

struct CteEnv {
  const CteEnv* parent = nullptr;
  std::map<std::string, Relation> map;  // lower-case name
  const Relation* Find(const std::string& name) const {
    for (const CteEnv* e = this; e != nullptr; e = e->parent) {
      auto it = e->map.find(ToLower(name));
      if (it != e->map.end()) return &it->second;
    }
    return nullptr;
  }
};

struct Scope {
  const Scope* parent = nullptr;
  std::vector<Binding> bindings;
  const std::vector<Column>* select_list = nullptr;  // aliases usable in WHERE/GROUP BY/ORDER BY
};

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

// How a parsed table name becomes a lineage dataset: lake views ("memory"."ns"."t") -> "ns.t",
// marts ("mart"."model", or "mart"."main"."model") -> "mart.model".
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

// The context an expression is reduced in.
struct Ctx {
  const Scope* scope = nullptr;
  const CteEnv* env = nullptr;
  int floor = kIdentity;  // the weakest direct subtype a column found here gets
  std::string indirect;   // non-empty: everything found is an INDIRECT input of this subtype
};

class Analyzer {
 public:
  Analyzer(const SchemaLookup& schemas, const std::set<std::string>& aggregates)
      : schemas_(schemas), aggregates_(aggregates) {}

  std::map<std::string, std::string> datasets;  // dataset -> lake/model
  std::set<std::string> unresolved;
  std::string failure;  // set: column-level lineage impossible

  Relation Node(const json& node, const Scope* outer, const CteEnv* env, Deps& sink) {
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

 private:
  void Fail(const std::string& why) {
    if (failure.empty()) failure = why;
  }

  // out[k] gains d[k], as a direct input (subtype raised to ctx.floor) or, in an indirect
  // context, as an indirect one.
  static void AddAll(Deps& out, const Deps& d, const Ctx& ctx) {
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

  static void ApplyAliases(Relation& rel, const json& aliases) {
    if (!aliases.is_array()) return;
    for (size_t i = 0; i < aliases.size() && i < rel.columns.size(); ++i) {
      if (aliases[i].is_string()) rel.columns[i].name = aliases[i].get<std::string>();
    }
  }

  void Ctes(const json& node, const Scope* outer, CteEnv& env, Deps& sink) {
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

  Relation Select(const json& node, const Scope* outer, const CteEnv* parent_env, Deps& sink) {
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
      for (const json& g : groups)
        Positional(g, Ctx{&scope, &env, kIdentity, "GROUP_BY"}, out, sink);
    }
    Modifiers(node, scope, &env, out, sink);
    return out;
  }

  // ORDER BY (and DISTINCT ON) of a node: indirect inputs of every row.
  void Modifiers(const json& node, const Scope& scope, const CteEnv* env, const Relation& out,
                 Deps& sink) {
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
  void Positional(const json& e, const Ctx& ctx, const Relation& out, Deps& sink) {
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

  void From(const json& t, Scope& scope, const CteEnv* env, Deps& sink) {
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

  static std::string OutputName(const json& e, size_t index) {
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

  void ExpandStar(const json& e, const Scope& scope, const CteEnv* env, Relation& out) {
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

  // The dependencies of a column reference, searching the scope chain (correlated subqueries
  // read outer scopes; WHERE and GROUP BY may name select-list aliases).
  std::optional<Deps> Resolve(const json& names_json, const Scope* scope) {
    std::vector<std::string> names;
    for (const json& n : names_json) {
      if (n.is_string()) names.push_back(n.get<std::string>());
    }
    if (names.empty()) return std::nullopt;
    const std::string col = names.back();
    const std::string qualifier = names.size() >= 2 ? names[names.size() - 2] : "";
    for (const Scope* s = scope; s != nullptr; s = s->parent) {
      if (!qualifier.empty()) {
        for (const Binding& b : s->bindings) {
          if (!EqualsNoCase(b.alias, qualifier)) continue;
          if (b.rel.open) return Deps{};
          for (const Column& c : b.rel.columns) {
            if (EqualsNoCase(c.name, col)) return c.deps;
          }
        }
        // `a.b` may be field b of a struct column a.
        if (names.size() == 2) {
          for (const Binding& b : s->bindings) {
            for (const Column& c : b.rel.columns) {
              if (EqualsNoCase(c.name, qualifier)) {
                Deps d;
                AddAll(d, c.deps, Ctx{nullptr, nullptr, kTransformation, ""});
                return d;
              }
            }
          }
        }
        continue;
      }
      for (const Binding& b : s->bindings) {
        for (const Column& c : b.rel.columns) {
          if (EqualsNoCase(c.name, col)) return c.deps;
        }
      }
      if (s->select_list != nullptr) {
        for (const Column& c : *s->select_list) {
          if (EqualsNoCase(c.name, col)) return c.deps;
        }
      }
      int open = 0;
      for (const Binding& b : s->bindings) open += b.rel.open ? 1 : 0;
      if (open > 0) return Deps{};
    }
    return std::nullopt;
  }

  // Reduces expression `e` to the base columns it reads, into `out`; `sink` takes inputs of
  // every row found inside it (EXISTS subqueries and their filters).
  void Expr(const json& e, const Ctx& ctx, Deps& out, Deps& sink) {
    if (e.is_array()) {
      for (const json& x : e) Expr(x, ctx, out, sink);
      return;
    }
    if (!e.is_object()) return;
    const std::string cls = Str(e, "class");
    Ctx inner = ctx;
    inner.floor = std::max(ctx.floor, static_cast<int>(kTransformation));
    if (cls == "COLUMN_REF") {
      auto deps = Resolve(Field(e, "column_names"), ctx.scope);
      if (!deps) {
        std::string name;
        for (const json& n : Field(e, "column_names")) {
          if (n.is_string()) name += (name.empty() ? "" : ".") + n.get<std::string>();
        }
        unresolved.insert(name);
        return;
      }
      AddAll(out, *deps, ctx);
      return;
    }
    if (cls == "CONSTANT" || cls == "PARAMETER" || cls == "DEFAULT" ||
        cls == "POSITIONAL_REFERENCE") {
      return;
    }
    if (cls == "FUNCTION") {
      Ctx args = inner;
      if (aggregates_.contains(ToLower(Str(e, "function_name")))) args.floor = kAggregation;
      Expr(Field(e, "children"), args, out, sink);
      Ctx filter = ctx;
      filter.indirect = "FILTER";
      Expr(Field(e, "filter"), filter, out, sink);
      Ctx sort = ctx;
      sort.indirect = "SORT";
      for (const json& o : Field(Field(e, "order_bys"), "orders")) {
        Expr(Field(o, "expression"), sort, out, sink);
      }
      return;
    }
    if (cls == "WINDOW") {
      Ctx args = inner;
      if (Str(e, "type") == "WINDOW_AGGREGATE") args.floor = kAggregation;
      Expr(Field(e, "children"), args, out, sink);
      Expr(Field(e, "offset_expr"), inner, out, sink);
      Expr(Field(e, "default_expr"), inner, out, sink);
      Ctx window = ctx;
      window.indirect = "WINDOW";
      Expr(Field(e, "partitions"), window, out, sink);
      for (const json& o : Field(e, "orders")) Expr(Field(o, "expression"), window, out, sink);
      Expr(Field(e, "start_expr"), window, out, sink);
      Expr(Field(e, "end_expr"), window, out, sink);
      Ctx filter = ctx;
      filter.indirect = "FILTER";
      Expr(Field(e, "filter_expr"), filter, out, sink);
      return;
    }
    if (cls == "CASE") {
      Ctx cond = ctx;
      cond.indirect = "CONDITIONAL";
      for (const json& check : Field(e, "case_checks")) {
        Expr(Field(check, "when_expr"), cond, out, sink);
        Expr(Field(check, "then_expr"), inner, out, sink);
      }
      Expr(Field(e, "else_expr"), inner, out, sink);
      return;
    }
    if (cls == "SUBQUERY") {
      Deps inner_sink;
      Relation rel = Node(Field(Field(e, "subquery"), "node"), ctx.scope, ctx.env, inner_sink);
      Ctx filter = ctx;
      filter.indirect = "FILTER";
      if (Str(e, "subquery_type") == "SCALAR" && !rel.columns.empty()) {
        AddAll(out, rel.columns[0].deps, inner);
      } else {
        for (const Column& c : rel.columns) AddAll(out, c.deps, filter);
      }
      AddAll(out, inner_sink, filter);
      Expr(Field(e, "child"), inner, out, sink);
      return;
    }
    if (cls == "STAR") {  // count(*) and friends: every column in scope
      if (ctx.scope != nullptr) {
        for (const Binding& b : ctx.scope->bindings) {
          for (const Column& c : b.rel.columns) AddAll(out, c.deps, inner);
        }
      }
      return;
    }
    if (cls == "LAMBDA") {  // the parameters are not columns
      Expr(Field(e, "expr"), inner, out, sink);
      return;
    }
    // Anything else (CAST, COMPARISON, CONJUNCTION, OPERATOR, BETWEEN, COLLATE, ...): its
    // sub-expressions, transformed.
    for (const auto& [key, value] : e.items()) {
      if (value.is_object() || value.is_array()) Expr(value, inner, out, sink);
    }
  }

  const SchemaLookup& schemas_;
  const std::set<std::string>& aggregates_;
};

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

// The names and types of a query's result, when DuckDB can bind it.
std::optional<std::vector<std::pair<std::string, std::string>>> Describe(
    warehouse::Connection& conn, const std::string& what) {
  auto r = conn.Query(StrCat("DESCRIBE ", what));
  if (!r.ok()) return std::nullopt;
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = 0; i < r->row_count(); ++i)
    out.emplace_back(r->GetString(0, i), r->GetString(1, i));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Storage: the lineage_* tables in the catalog database
// ---------------------------------------------------------------------------------------------

constexpr char kLineageSchemaV1[] = R"sql(
CREATE TABLE IF NOT EXISTS lineage_nodes (
  node TEXT PRIMARY KEY,
  dataset TEXT NOT NULL,
  field TEXT NOT NULL,
  kind TEXT NOT NULL,
  data_type TEXT NOT NULL DEFAULT '',
  owner TEXT NOT NULL,
  recorded_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS lineage_nodes_owner ON lineage_nodes(owner);
CREATE TABLE IF NOT EXISTS lineage_edges (
  from_node TEXT NOT NULL,
  to_node TEXT NOT NULL,
  kind TEXT NOT NULL,
  transformation TEXT NOT NULL,
  subtype TEXT NOT NULL,
  owner TEXT NOT NULL,
  run_id TEXT NOT NULL,
  recorded_at TEXT NOT NULL,
  PRIMARY KEY (from_node, to_node, transformation, subtype)
);
CREATE INDEX IF NOT EXISTS lineage_edges_to ON lineage_edges(to_node);
CREATE INDEX IF NOT EXISTS lineage_edges_owner ON lineage_edges(owner);
CREATE TABLE IF NOT EXISTS lineage_owners (
  owner TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  run_id TEXT NOT NULL,
  recorded_at TEXT NOT NULL,
  column_level INTEGER NOT NULL,
  note TEXT NOT NULL DEFAULT ''
);
)sql";

using store::Stmt;

const store::Schema& LineageSchema() {
  static const store::Schema* schema = new store::Schema{"lineage", {kLineageSchemaV1}};
  return *schema;
}

struct EdgeRow {
  std::string from, to, kind, transformation, subtype, owner;
};
struct NodeRow {
  std::string node, dataset, field, kind, data_type, owner;
};

class Store {
 public:
  static StatusOr<std::unique_ptr<Store>> Open(const std::string& path) {
    auto db = store::Connection::Open(path);
    if (!db.ok()) return Annotate(db.status(), "lineage");
    WS_RETURN_IF_ERROR(Annotate(store::Migrate(**db, LineageSchema()), "lineage"));
    return std::unique_ptr<Store>(new Store(std::move(*db)));
  }

  // Replaces everything `owner` recorded (when `replace`) with `nodes` and `edges`, in one
  // transaction.
  Status Write(const std::string& owner, const std::string& kind, const std::string& run_id,
               bool column_level, const std::string& note, const std::vector<NodeRow>& nodes,
               const std::vector<EdgeRow>& edges, bool replace) {
    const std::string now = IsoUtc(NowMicros());
    store::Transaction txn(*db_);
    WS_RETURN_IF_ERROR(Annotate(txn.Begin(), "lineage"));
    if (replace) {
      Stmt del1(*db_, "DELETE FROM lineage_edges WHERE owner = ?");
      Stmt del2(*db_, "DELETE FROM lineage_nodes WHERE owner = ?");
      WS_RETURN_IF_ERROR(Annotate(del1.Bind(1, owner).Run(), "lineage: delete edges"));
      WS_RETURN_IF_ERROR(Annotate(del2.Bind(1, owner).Run(), "lineage: delete nodes"));
    }
    // A node another owner recorded keeps its owner; its type is filled in when missing.
    Stmt node(*db_,
              "INSERT INTO lineage_nodes (node, dataset, field, kind, data_type, owner, "
              "recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(node) DO UPDATE SET "
              "data_type = CASE WHEN excluded.data_type <> '' AND (lineage_nodes.owner = "
              "excluded.owner OR lineage_nodes.data_type = '') THEN excluded.data_type ELSE "
              "lineage_nodes.data_type END, owner = CASE WHEN lineage_nodes.kind = 'input' THEN "
              "excluded.owner ELSE lineage_nodes.owner END, kind = CASE WHEN lineage_nodes.kind "
              "= 'input' THEN excluded.kind ELSE lineage_nodes.kind END");
    WS_RETURN_IF_ERROR(Annotate(node.status(), "lineage: prepare node"));
    for (const NodeRow& n : nodes) {
      node.Bind(1, n.node).Bind(2, n.dataset).Bind(3, n.field).Bind(4, n.kind);
      node.Bind(5, n.data_type).Bind(6, n.owner).Bind(7, now);
      WS_RETURN_IF_ERROR(Annotate(node.Run(), "lineage: insert node"));
      node.Reset();
    }
    Stmt edge(*db_,
              "INSERT OR REPLACE INTO lineage_edges (from_node, to_node, kind, transformation, "
              "subtype, owner, run_id, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    WS_RETURN_IF_ERROR(Annotate(edge.status(), "lineage: prepare edge"));
    for (const EdgeRow& e : edges) {
      edge.Bind(1, e.from).Bind(2, e.to).Bind(3, e.kind).Bind(4, e.transformation);
      edge.Bind(5, e.subtype).Bind(6, e.owner).Bind(7, run_id).Bind(8, now);
      WS_RETURN_IF_ERROR(Annotate(edge.Run(), "lineage: insert edge"));
      edge.Reset();
    }
    Stmt own(*db_,
             "INSERT OR REPLACE INTO lineage_owners (owner, kind, run_id, recorded_at, "
             "column_level, note) VALUES (?, ?, ?, ?, ?, ?)");
    own.Bind(1, owner).Bind(2, kind).Bind(3, run_id).Bind(4, now);
    own.Bind(5, int64_t{column_level ? 1 : 0}).Bind(6, note);
    WS_RETURN_IF_ERROR(Annotate(own.Run(), "lineage: insert owner"));
    return Annotate(txn.Commit(), "lineage");
  }

  StatusOr<std::optional<NodeRow>> Node(const std::string& node) {
    Stmt q(*db_,
           "SELECT node, dataset, field, kind, data_type, owner FROM lineage_nodes WHERE "
           "node = ?");
    q.Bind(1, node);
    WS_ASSIGN_OR_RETURN(bool row, StepRow(q));
    if (!row) return std::nullopt;
    return NodeRow{q.Text(0), q.Text(1), q.Text(2), q.Text(3), q.Text(4), q.Text(5)};
  }

  // The columns recorded for a dataset, in insertion order. Its caller (a schema lookup that
  // can only say "unknown") cannot take a Status: a failed query gives no columns, as before.
  std::vector<std::string> Fields(const std::string& dataset) {
    std::vector<std::string> out;
    Stmt q(*db_, "SELECT field FROM lineage_nodes WHERE dataset = ? AND field <> '' ORDER BY rowid");
    q.Bind(1, dataset);
    while (true) {
      auto row = q.Step();
      if (!row.ok() || !*row) break;
      out.push_back(q.Text(0));
    }
    return out;
  }

  StatusOr<std::vector<EdgeRow>> Edges(const std::string& node, bool upstream) {
    std::vector<EdgeRow> out;
    Stmt q(*db_, upstream ? "SELECT from_node, to_node, kind, transformation, subtype, owner FROM "
                           "lineage_edges WHERE to_node = ? ORDER BY from_node, transformation, "
                           "subtype"
                         : "SELECT from_node, to_node, kind, transformation, subtype, owner FROM "
                           "lineage_edges WHERE from_node = ? ORDER BY to_node, transformation, "
                           "subtype");
    q.Bind(1, node);
    while (true) {
      WS_ASSIGN_OR_RETURN(bool row, StepRow(q));
      if (!row) break;
      out.push_back({q.Text(0), q.Text(1), q.Text(2), q.Text(3), q.Text(4), q.Text(5)});
    }
    return out;
  }

  StatusOr<std::vector<std::string>> AllNodes() {
    std::vector<std::string> out;
    Stmt q(*db_, "SELECT node FROM lineage_nodes ORDER BY node");
    while (true) {
      WS_ASSIGN_OR_RETURN(bool row, StepRow(q));
      if (!row) break;
      out.push_back(q.Text(0));
    }
    return out;
  }

 private:
  explicit Store(std::unique_ptr<store::Connection> db) : db_(std::move(db)) {}
  // Steps `q`, naming lineage in an error.
  static StatusOr<bool> StepRow(Stmt& q) {
    auto row = q.Step();
    if (!row.ok()) return Annotate(row.status(), "lineage");
    return row;
  }
  std::unique_ptr<store::Connection> db_;
};

// ---------------------------------------------------------------------------------------------
// Load lineage: inverting the normalizer's names
// ---------------------------------------------------------------------------------------------

bool IsSystemColumn(const std::string& c) {
  return c == "_ws_id" || c == "_ws_load_id" || c == "_ws_parent_id" || c == "_ws_idx";
}

std::vector<std::string> SplitParts(const std::string& s) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t pos = s.find("__", start);
    if (pos == std::string::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, pos - start));
    start = pos + 2;
  }
}

std::string PathSegment(const std::string& key) {
  bool plain = !key.empty();
  for (char c : key) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) plain = false;
  }
  if (plain) return StrCat(".", key);
  std::string quoted;
  for (char c : key) {
    if (c == '\'' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return StrCat("['", quoted, "']");
}

std::string PathOf(const std::string& flattened) {
  std::string out;
  for (const std::string& p : SplitParts(flattened)) out += PathSegment(p);
  return out;
}

const LakeTableSchema* FindTable(const std::vector<LakeTableSchema>& tables,
                                 const std::string& name) {
  for (const LakeTableSchema& t : tables) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

// The JSON path of a table's rows: "$" for a root, "$.categories[*]" for a child.
std::string TablePath(const std::vector<LakeTableSchema>& tables, const std::string& name,
                      int depth = 0) {
  const LakeTableSchema* t = FindTable(tables, name);
  if (t == nullptr || t->parent.empty() || depth > 32) return "$";
  const std::string prefix = t->parent + "__";
  const std::string rel = name.starts_with(prefix) ? name.substr(prefix.size()) : name;
  return StrCat(TablePath(tables, t->parent, depth + 1), PathOf(rel), "[*]");
}

std::string NodeOf(const std::string& dataset, const std::string& field) {
  return field.empty() ? dataset : StrCat(dataset, ".", field);
}

std::string JsonDataset(const std::string& root) { return StrCat("json:", root); }
std::string JsonNode(const std::string& root, const std::string& path) {
  return StrCat("json:", root, ":", path);
}

std::string EditDistanceKey(const std::string& a) { return ToLower(a); }

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] =
          std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::optional<std::vector<std::pair<std::string, std::string>>> DescribeParts(
    warehouse::Connection& conn, const std::vector<std::string>& parts) {
  std::string name;
  for (const std::string& p : parts) name += (name.empty() ? "" : ".") + QuoteIdent(p);
  return Describe(conn, name);
}

Status EmitAll(OpenLineageSink* sink, const std::vector<nlohmann::json>& events) {
  if (sink == nullptr) return absl::OkStatus();
  for (const auto& e : events) {
    Status s = sink->Emit(e);
    if (!s.ok()) {
      LogWarn("openlineage: event not delivered",
              {{"target", sink->target()}, {"error", std::string(MessageOf(s))}});
      return s;
    }
  }
  return absl::OkStatus();
}

std::unique_ptr<OpenLineageSink> SinkFor(const project::Project& project) {
  auto sink = OpenLineageSink::FromProject(project);
  if (!sink.ok()) {
    LogWarn("openlineage: sink not configured correctly",
            {{"error", std::string(MessageOf(sink.status()))}});
    return nullptr;
  }
  return std::move(*sink);
}

}  // namespace

// ---------------------------------------------------------------------------------------------

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
  auto described = Describe(conn, StrCat(sql, "\n"));
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

std::optional<std::string> JsonPathOf(const std::vector<LakeTableSchema>& tables,
                                      const std::string& table, const std::string& column) {
  if (IsSystemColumn(column)) return std::nullopt;
  const LakeTableSchema* t = FindTable(tables, table);
  auto has = [&](const std::string& name) {
    if (t == nullptr) return false;
    for (const ColumnSpec& c : t->columns) {
      if (EqualsNoCase(c.name, name)) return true;
    }
    return false;
  };
  std::string base = column;
  // A variant column `<col>__v_<type>` holds the values of <col>'s path of another type.
  static const char* kTypes[] = {"boolean", "bigint",    "double", "decimal",
                                 "date",    "timestamp", "varchar"};
  for (const char* type : kTypes) {
    const std::string suffix = StrCat("__v_", type);
    if (base.size() > suffix.size() && base.ends_with(suffix)) {
      base = base.substr(0, base.size() - suffix.size());
      break;
    }
  }
  // A renamed column `<name>__<k>` (k >= 2): a data field named like a system or partition
  // column, or differing from another column only in letter case.
  const size_t pos = base.rfind("__");
  if (pos != std::string::npos && pos + 2 < base.size()) {
    const std::string k = base.substr(pos + 2);
    const std::string stem = base.substr(0, pos);
    const bool digits = std::all_of(
        k.begin(), k.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    if (digits && std::stoi(k) >= 2 &&
        (IsSystemColumn(stem) || stem == "ingest_date" || has(stem))) {
      base = stem;
    }
  }
  const std::string prefix = TablePath(tables, table);
  if (t != nullptr && !t->parent.empty() && base == "value") {
    // Scalar array elements go to `value`; an object element's own "value" key too. Only a
    // child table with other data columns has objects as elements.
    bool other = false;
    for (const ColumnSpec& c : t->columns) {
      if (!IsSystemColumn(c.name) && c.name != "value" && !c.name.starts_with("value__")) {
        other = true;
      }
    }
    if (!other) return prefix;
  }
  return StrCat(prefix, PathOf(base));
}

std::string RootTableOf(const std::vector<LakeTableSchema>& tables, const std::string& table) {
  std::string name = table;
  for (int i = 0; i < 32; ++i) {
    const LakeTableSchema* t = FindTable(tables, name);
    if (t == nullptr || t->parent.empty()) return name;
    name = t->parent;
  }
  return name;
}

Status RecordModelBuilds(project::Project& project, warehouse::Connection& conn,
                         const std::vector<ModelBuild>& builds) {
  WS_ASSIGN_OR_RETURN(auto store, Store::Open(project.config().catalog_path));
  std::unique_ptr<OpenLineageSink> sink = SinkFor(project);
  const OpenLineageNames names = NamesFor(project);
  Status first_error;
  for (const ModelBuild& b : builds) {
    const std::string run_id = NewUuid();
    const int64_t end = NowMicros();
    const int64_t start = end - static_cast<int64_t>(b.seconds * 1e6);
    if (!b.ok) {
      EmitAll(sink.get(), {ModelRunEvent(names, "START", run_id, start, b, nullptr),
                           ModelRunEvent(names, "FAIL", run_id, end, b, nullptr)})
          .IgnoreError();
      continue;
    }
    SchemaLookup lookup =
        [&](const std::vector<std::string>& parts) -> std::optional<std::vector<std::string>> {
      if (auto d = DescribeParts(conn, parts)) {
        std::vector<std::string> cols;
        for (const auto& [name, type] : *d) cols.push_back(name);
        return cols;
      }
      bool lake = false;
      const std::string dataset =
          DatasetName(parts.size() == 3 ? parts[0] : "",
                      parts.size() >= 2 ? parts[parts.size() - 2] : "", parts.back(), &lake);
      std::vector<std::string> known = store->Fields(dataset);
      if (known.empty()) return std::nullopt;
      return known;
    };
    auto lineage = AnalyzeModelSql(conn, b.model, b.sql, lookup);
    if (!lineage.ok()) {
      LogWarn("lineage: model not analysed",
              {{"model", b.model}, {"error", std::string(MessageOf(lineage.status()))}});
      continue;
    }
    if (!lineage->column_level) {
      LogWarn("lineage: table-level only", {{"model", b.model}, {"why", lineage->note}});
    }
    // Columns the materialization adds (snapshots: valid_from, valid_to, ...) are nodes too.
    const size_t dot = b.model.find('.');
    if (dot != std::string::npos) {
      if (auto target = DescribeParts(conn, {b.model.substr(0, dot), b.model.substr(dot + 1)})) {
        for (const auto& [name, type] : *target) {
          bool known = false;
          for (OutputColumn& c : lineage->columns) {
            if (EqualsNoCase(c.name, name)) {
              known = true;
              if (c.data_type.empty()) c.data_type = type;
            }
          }
          if (!known) lineage->columns.push_back({name, type, {}});
        }
      }
    }
    std::vector<NodeRow> nodes;
    std::vector<EdgeRow> edges;
    nodes.push_back({b.model, b.model, "", "dataset", "", b.model});
    for (const OutputColumn& c : lineage->columns) {
      const std::string to = NodeOf(b.model, c.name);
      nodes.push_back({to, b.model, c.name, "model", c.data_type, b.model});
      for (const InputField& f : c.inputs) {
        if (f.dataset == b.model) continue;  // {{ this }}: the model reading itself
        nodes.push_back({NodeOf(f.dataset, f.field), f.dataset, f.field, "input", "", f.dataset});
        edges.push_back({NodeOf(f.dataset, f.field), to, "model", f.type, f.subtype, b.model});
      }
    }
    for (const InputField& f : lineage->dataset_inputs) {
      if (f.dataset == b.model) continue;
      nodes.push_back({NodeOf(f.dataset, f.field), f.dataset, f.field, "input", "", f.dataset});
      edges.push_back({NodeOf(f.dataset, f.field), b.model, "model", f.type, f.subtype, b.model});
    }
    for (const auto& [dataset, kind] : lineage->input_datasets) {
      if (dataset == b.model) continue;
      nodes.push_back({dataset, dataset, "", "dataset", "", dataset});
      if (!lineage->column_level) {
        edges.push_back({dataset, b.model, "model", "TABLE", "", b.model});
      }
    }
    Status s = store->Write(b.model, "model", run_id, lineage->column_level, lineage->note, nodes,
                            edges, /*replace=*/true);
    if (!s.ok()) {
      if (first_error.ok()) first_error = s;
      continue;
    }
    EmitAll(sink.get(), {ModelRunEvent(names, "START", run_id, start, b, &*lineage),
                         ModelRunEvent(names, "COMPLETE", run_id, end, b, &*lineage)})
        .IgnoreError();
  }
  return first_error;
}

Status RecordLoadLineage(project::Project& project, int64_t load_id, int64_t snapshot_id,
                         const std::vector<LakeTableSchema>& tables) {
  WS_ASSIGN_OR_RETURN(auto store, Store::Open(project.config().catalog_path));
  std::unique_ptr<OpenLineageSink> sink = SinkFor(project);
  const OpenLineageNames names = NamesFor(project);
  const std::string run_id = NewUuid();
  const int64_t now = NowMicros();
  std::map<std::string, std::vector<LakeTableSchema>> by_root;
  for (const LakeTableSchema& t : tables) {
    if (t.name == "watershed.quarantine") continue;
    const std::string root = RootTableOf(tables, t.name);
    std::vector<NodeRow> nodes;
    std::vector<EdgeRow> edges;
    nodes.push_back({t.name, t.name, "", "dataset", "", t.name});
    for (const ColumnSpec& c : t.columns) {
      const std::string to = NodeOf(t.name, c.name);
      nodes.push_back({to, t.name, c.name, "lake", std::string(ColumnTypeSql(c.type)), t.name});
      if (auto path = JsonPathOf(tables, t.name, c.name)) {
        const std::string from = JsonNode(root, *path);
        nodes.push_back({from, JsonDataset(root), *path, "json", "", t.name});
        edges.push_back({from, to, "load", "DIRECT", "IDENTITY", t.name});
      } else if (c.name == "_ws_parent_id" && !t.parent.empty()) {
        edges.push_back({NodeOf(t.parent, "_ws_id"), to, "load", "DIRECT", "IDENTITY", t.name});
      }
    }
    WS_RETURN_IF_ERROR(store->Write(t.name, "load", StrCat("load_", load_id), true,
                                    StrCat("snapshot ", snapshot_id), nodes, edges,
                                    /*replace=*/false));
    by_root[root].push_back(t);
  }
  std::vector<nlohmann::json> events;
  for (const auto& [root, group] : by_root) {
    // The tables' ancestors are needed for their paths, even when they had no rows this commit.
    std::vector<LakeTableSchema> with_context = group;
    for (const LakeTableSchema& t : tables) {
      if (!FindTable(with_context, t.name)) with_context.push_back(t);
    }
    nlohmann::json complete = LoadRunEvent(names, "COMPLETE", run_id, now, load_id, with_context);
    // Only this root's tables are outputs of this event.
    nlohmann::json outputs = nlohmann::json::array();
    for (const auto& o : complete["outputs"]) {
      if (RootTableOf(tables, o["name"].get<std::string>()) == root) outputs.push_back(o);
    }
    complete["outputs"] = outputs;
    nlohmann::json inputs = nlohmann::json::array();
    for (const auto& i : complete["inputs"]) {
      if (i["name"] == root) inputs.push_back(i);
    }
    complete["inputs"] = inputs;
    complete["job"]["name"] = StrCat("load.", root);
    const std::string root_run = NewUuid();
    complete["run"]["runId"] = root_run;
    nlohmann::json start = complete;
    start["eventType"] = "START";
    for (auto& o : start["outputs"]) o.erase("facets");
    events.push_back(start);
    events.push_back(complete);
  }
  EmitAll(sink.get(), events).IgnoreError();
  return absl::OkStatus();
}

StatusOr<std::vector<std::string>> ListLineageNodes(project::Project& project) {
  WS_ASSIGN_OR_RETURN(auto store, Store::Open(project.config().catalog_path));
  return store->AllNodes();
}

namespace {

Status Trace(Store& store, LineageTree& t, const TraceOptions& o, int level,
             std::set<std::string>& path) {
  const bool up = o.direction == Direction::kUpstream;
  WS_ASSIGN_OR_RETURN(std::vector<EdgeRow> edges, store.Edges(t.node, up));
  WS_ASSIGN_OR_RETURN(std::optional<NodeRow> node, store.Node(t.node));
  if (up && node && !node->field.empty() && node->dataset != t.node) {
    // Inputs of the whole dataset: indirect ones when asked, table-level ones always (a model
    // whose SQL could not be analysed has no column edges).
    WS_ASSIGN_OR_RETURN(std::vector<EdgeRow> dataset_edges, store.Edges(node->dataset, true));
    for (EdgeRow& e : dataset_edges) {
      if (e.transformation == "TABLE" || (o.indirect && e.transformation == "INDIRECT")) {
        edges.push_back(std::move(e));
      }
    }
  }
  edges.erase(std::remove_if(
                  edges.begin(), edges.end(),
                  [&](const EdgeRow& e) { return !o.indirect && e.transformation == "INDIRECT"; }),
              edges.end());
  if (edges.empty()) return absl::OkStatus();
  if (o.depth > 0 && level >= o.depth) {
    t.truncated = true;
    return absl::OkStatus();
  }
  // One child per neighbour; its strongest edge first (DIRECT sorts before INDIRECT), the
  // others listed with it.
  std::vector<std::pair<std::string, std::vector<EdgeRow>>> grouped;
  for (const EdgeRow& e : edges) {
    const std::string& other = up ? e.from : e.to;
    auto it = std::find_if(grouped.begin(), grouped.end(),
                           [&](const auto& g) { return g.first == other; });
    if (it == grouped.end()) {
      grouped.push_back({other, {e}});
    } else {
      it->second.push_back(e);
    }
  }
  for (auto& [other, group] : grouped) {
    std::stable_sort(group.begin(), group.end(), [](const EdgeRow& a, const EdgeRow& b) {
      return a.transformation < b.transformation;
    });
    const EdgeRow& e = group[0];
    LineageTree child;
    for (size_t i = 1; i < group.size(); ++i) {
      child.also.push_back(StrCat(group[i].transformation, " ", group[i].subtype));
    }
    child.node = other;
    WS_ASSIGN_OR_RETURN(std::optional<NodeRow> info, store.Node(child.node));
    child.kind = info ? (info->kind == "input" ? "column" : info->kind) : "column";
    child.data_type = info ? info->data_type : "";
    child.edge_kind = e.kind;
    child.transformation = e.transformation;
    child.subtype = e.subtype;
    child.via = e.owner;
    if (path.contains(child.node)) {
      child.cycle = true;
    } else {
      path.insert(child.node);
      Status s = Trace(store, child, o, level + 1, path);
      path.erase(child.node);
      WS_RETURN_IF_ERROR(s);
    }
    t.children.push_back(std::move(child));
  }
  return absl::OkStatus();
}

void FormatTree(const LineageTree& t, const std::string& prefix, bool last, bool root,
                std::string& out) {
  if (!root) out += prefix + (last ? "└─ " : "├─ ");
  out += t.node;
  if (!t.data_type.empty()) out += StrCat(" (", t.data_type, ")");
  if (!root) {
    out += "  [";
    out += t.transformation == "TABLE" ? "table-level" : t.transformation;
    if (!t.subtype.empty()) out += StrCat(" ", t.subtype);
    for (const std::string& a : t.also) out += StrCat(" + ", a);
    out += StrCat(", ", t.edge_kind, " ", t.via, "]");
  }
  if (t.cycle) out += "  (cycle)";
  if (t.truncated) out += "  ...";
  out += "\n";
  const std::string next = root ? "" : prefix + (last ? "   " : "│  ");
  for (size_t i = 0; i < t.children.size(); ++i) {
    FormatTree(t.children[i], next, i + 1 == t.children.size(), false, out);
  }
}

json TreeJson(const LineageTree& t) {
  json j = {{"node", t.node}, {"kind", t.kind}};
  if (!t.data_type.empty()) j["type"] = t.data_type;
  if (!t.edge_kind.empty()) {
    j["edge"] = {{"kind", t.edge_kind},
                 {"transformation", t.transformation},
                 {"subtype", t.subtype},
                 {"via", t.via},
                 {"also", t.also}};
  }
  if (t.cycle) j["cycle"] = true;
  if (t.truncated) j["truncated"] = true;
  j["children"] = json::array();
  for (const LineageTree& c : t.children) j["children"].push_back(TreeJson(c));
  return j;
}

}  // namespace

StatusOr<LineageTree> TraceLineage(project::Project& project, const std::string& node,
                                   const TraceOptions& options) {
  if (options.depth < 0) {
    return absl::InvalidArgumentError(
        StrCat("--depth must be 0 (no limit) or more, not ", options.depth));
  }
  WS_ASSIGN_OR_RETURN(auto store, Store::Open(project.config().catalog_path));
  WS_ASSIGN_OR_RETURN(std::optional<NodeRow> info, store->Node(node));
  if (!info) {
    std::vector<std::pair<size_t, std::string>> scored;
    const std::string key = EditDistanceKey(node);
    WS_ASSIGN_OR_RETURN(std::vector<std::string> all, store->AllNodes());
    for (const std::string& n : all) {
      scored.emplace_back(EditDistance(key, EditDistanceKey(n)), n);
    }
    std::sort(scored.begin(), scored.end());
    std::string hint;
    for (size_t i = 0; i < scored.size() && i < 3; ++i) {
      if (scored[i].first > std::max<size_t>(3, node.size() / 2)) break;
      hint += (hint.empty() ? "" : ", ") + scored[i].second;
    }
    return absl::NotFoundError(
        StrCat("lineage: no column or table named '", node, "' was recorded",
               hint.empty() ? std::string(" (lineage is recorded by loads and builds)")
                            : StrCat("; did you mean ", hint, "?")));
  }
  LineageTree tree;
  tree.node = node;
  tree.kind = info->kind == "input" ? "column" : info->kind;
  tree.data_type = info->data_type;
  std::set<std::string> path{node};
  WS_RETURN_IF_ERROR(Trace(*store, tree, options, 0, path));
  return tree;
}

std::string FormatLineageTree(const LineageTree& tree) {
  std::string out;
  FormatTree(tree, "", true, true, out);
  return out;
}

std::string FormatLineageJson(const LineageTree& tree) { return TreeJson(tree).dump(2) + "\n"; }

Status LineageCommand(project::Project& project, const std::string& node,
                      const TraceOptions& options, const std::string& format, std::string* out) {
  if (format != "tree" && format != "json") {
    return absl::InvalidArgumentError(StrCat("--format must be tree or json, not '", format, "'"));
  }
  WS_ASSIGN_OR_RETURN(LineageTree tree, TraceLineage(project, node, options));
  *out = format == "json" ? FormatLineageJson(tree) : FormatLineageTree(tree);
  return absl::OkStatus();
}

}  // namespace watershed::observe
