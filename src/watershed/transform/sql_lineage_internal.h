// transform/sql_lineage_internal.h — the SQL analyzer's internals, shared by its two files
// (sql_lineage.cc: query nodes, FROM items, `*`; sql_lineage_expr.cc: expressions and column
// references). Not a public header: include sql_lineage.h.
//
// The analysis walks the AST DuckDB's parser gives (json_serialize_sql) with scopes: a query
// node's FROM clause binds aliases to relations (a base table's real columns, a CTE's or a
// subquery's analysed columns), and every expression is reduced to the base-table columns it
// reads, each with the strongest direct subtype on its path (IDENTITY < TRANSFORMATION <
// AGGREGATION) and the indirect subtypes it picked up.
// Thread safety: an Analyzer is used by one thread.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "watershed/base/strings.h"
#include "watershed/transform/sql_lineage.h"

namespace watershed::transform::sql_lineage_internal {

using json = nlohmann::json;

enum DirectKind { kNoDirect = -1, kIdentity = 0, kTransformation = 1, kAggregation = 2 };
const char* DirectName(int d);

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

// The context an expression is reduced in.
struct Ctx {
  const Scope* scope = nullptr;
  const CteEnv* env = nullptr;
  int floor = kIdentity;  // the weakest direct subtype a column found here gets
  std::string indirect;   // non-empty: everything found is an INDIRECT input of this subtype
};

// `o[key]`, or null when `o` is not an object or has no such key.
const json& Field(const json& o, const char* key);
// `o[key]` when it is a string, else "".
std::string Str(const json& o, const char* key);
bool EqualsNoCase(const std::string& a, const std::string& b);

// How a parsed table name becomes a lineage dataset: lake views ("memory"."ns"."t") -> "ns.t",
// marts ("mart"."model", or "mart"."main"."model") -> "mart.model".
std::string DatasetName(const std::string& catalog, const std::string& schema,
                        const std::string& table, bool* lake);

class Analyzer {
 public:
  Analyzer(const SchemaLookup& schemas, const std::set<std::string>& aggregates)
      : schemas_(schemas), aggregates_(aggregates) {}

  std::map<std::string, std::string> datasets;  // dataset -> lake/model
  std::set<std::string> unresolved;
  std::string failure;  // set: column-level lineage impossible

  // The relation a query node produces; `sink` takes the inputs of every row (filters, joins).
  Relation Node(const json& node, const Scope* outer, const CteEnv* env, Deps& sink);

 private:
  void Fail(const std::string& why);

  // out[k] gains d[k], as a direct input (subtype raised to ctx.floor) or, in an indirect
  // context, as an indirect one.
  static void AddAll(Deps& out, const Deps& d, const Ctx& ctx);

  static void ApplyAliases(Relation& rel, const json& aliases);

  void Ctes(const json& node, const Scope* outer, CteEnv& env, Deps& sink);

  Relation Select(const json& node, const Scope* outer, const CteEnv* parent_env, Deps& sink);

  // ORDER BY (and DISTINCT ON) of a node: indirect inputs of every row.
  void Modifiers(const json& node, const Scope& scope, const CteEnv* env, const Relation& out,
                 Deps& sink);

  // GROUP BY 1 / ORDER BY 2 name select-list items by position; other expressions as usual.
  void Positional(const json& e, const Ctx& ctx, const Relation& out, Deps& sink);

  void From(const json& t, Scope& scope, const CteEnv* env, Deps& sink);

  static std::string OutputName(const json& e, size_t index);

  void ExpandStar(const json& e, const Scope& scope, const CteEnv* env, Relation& out);

  // The dependencies of a column reference, searching the scope chain (correlated subqueries
  // read outer scopes; WHERE and GROUP BY may name select-list aliases).
  std::optional<Deps> Resolve(const json& names_json, const Scope* scope);

  // Reduces expression `e` to the base columns it reads, into `out`; `sink` takes inputs of
  // every row found inside it (EXISTS subqueries and their filters).
  void Expr(const json& e, const Ctx& ctx, Deps& out, Deps& sink);

  const SchemaLookup& schemas_;
  const std::set<std::string>& aggregates_;
};

}  // namespace watershed::transform::sql_lineage_internal
