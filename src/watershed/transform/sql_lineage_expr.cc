// transform/sql_lineage_expr.cc — the SQL analyzer's expressions: column references resolved
// through the scope chain, and every expression class reduced to the base columns it reads.
#include <algorithm>

#include "watershed/transform/sql_lineage_internal.h"

namespace watershed::transform::sql_lineage_internal {

// The dependencies of a column reference, searching the scope chain (correlated subqueries
// read outer scopes; WHERE and GROUP BY may name select-list aliases).
std::optional<Deps> Analyzer::Resolve(const json& names_json, const Scope* scope) {
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
void Analyzer::Expr(const json& e, const Ctx& ctx, Deps& out, Deps& sink) {
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

}  // namespace watershed::transform::sql_lineage_internal
