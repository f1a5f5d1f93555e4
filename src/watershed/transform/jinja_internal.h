// transform/jinja_internal.h — the tree of a parsed template, shared by the parser (jinja.cc)
// and the renderer (jinja_render.cc). Not for other files. Thread safety: immutable once parsed.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "watershed/transform/jinja.h"

namespace watershed::transform::jinja {

struct Expr {
  enum class Kind {
    kLiteral,  // value
    kName,     // name
    kList,     // kids
    kDict,     // keys[i] -> kids[i]
    kAttr,     // kids[0].name
    kIndex,    // kids[0][kids[1]]
    kCall,     // kids[0](kids[1..]); the last keys.size() of them are named keys[]
    kFilter,   // kids[0] | name(kids[1..]), named keys[] as for calls
    kTest,     // kids[0] is [not] name(kids[1..]); negate
    kNot,      // not kids[0]
    kNeg,      // -kids[0]
    kBinary,   // kids[0] op kids[1]: == != < > <= >= in notin and or ~ + - * / // % **
    kCond,     // kids[1] if kids[0] else kids[2] (kids[2] may be absent)
  };
  Kind kind = Kind::kLiteral;
  int line = 0;
  Value value;
  std::string name;  // kName, kAttr, kCall callee text, kFilter, kTest, kBinary operator
  bool negate = false;
  std::vector<std::string> keys;
  std::vector<std::unique_ptr<Expr>> kids;
};

struct Node {
  enum class Kind { kText, kOutput, kIf, kFor, kSet, kSetBlock, kMacro, kDo };
  Kind kind = Kind::kText;
  int line = 0;
  std::string source;              // the tag as written, for messages: "{% for m in methods %}"
  std::string text;                // kText
  std::unique_ptr<Expr> expr;      // kOutput, kDo, kSet (the value), kFor (the iterable)
  std::vector<std::string> names;  // kFor targets, kSet/kSetBlock name, kMacro name + params
  std::vector<std::unique_ptr<Expr>> defaults;  // kMacro: one per param (null: required)
  // kIf: conditions[i] guards bodies[i]; bodies.size() == conditions.size() + 1 with an else.
  std::vector<std::unique_ptr<Expr>> conditions;
  std::vector<std::vector<std::unique_ptr<Node>>> bodies;  // kFor: [body, else], kMacro: [body]
};

// Shared by the renderer and the filters (jinja_filters.cc).
std::string KindName(const Value& v);   // "a string", "a list", ...
Status Bad(const std::string& what);    // InvalidArgument
Status UndefinedError(const Value& v);  // "'x' is undefined"
// The positional argument `index`, or the named one `name`, or `fallback`.
const Value& Arg(const Args& a, size_t index, const char* name, const Value& fallback);
StatusOr<List> Items(const Value& v);  // what `for` iterates: a list, a dict's keys, chars
StatusOr<bool> Less(const Value& a, const Value& b);
StatusOr<Value> Filter(const std::string& name, const Value& v, const Args& a);
// `v.name` as a bound method (strings, lists, dicts), or an undefined value.
Value Method(const Value& v, const std::string& name);

}  // namespace watershed::transform::jinja
