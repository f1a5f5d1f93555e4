// transform/jinja.h — a small Jinja subset for SQL model templates (dbt projects).
//
// Owns: parsing a template (lexer -> tree, jinja.cc) and rendering it (jinja_render.cc; values
// in jinja_value.cc, filters and methods in jinja_filters.cc) with
// `{{ expr }}`, `{# comments #}`, `{% set x = ... %}`, `{% set x %}...{% endset %}`,
// `{% for x in xs %}` (with `loop.index/index0/first/last/length/revindex`, `{% else %}`),
// `{% if %}/{% elif %}/{% else %}`, `{% macro name(a, b='x') %}`, `{% do expr %}`, whitespace
// control (`{%-`, `-%}`, also on `{{ }}` and `{# #}`); expressions: string, number, list and dict
// literals, names, `.attr`, `[index]`, calls with keyword arguments, `== != < > <= >= in, not
// in`, `and or not`, `~ + - * / // %`, `x if c else y`, `is [not] defined/none/string/number`,
// filters (upper lower title capitalize trim replace join default/d length/count string int
// float first last reverse sort list abs round unique) and a few string/list/dict methods.
// Errors name the file, the line and the construct: `models/x.sql:12: unknown tag 'foo'`.
// Does not own: what names a template sees (ref, var, ... are given by transform/model.cc).
// Thread safety: a parsed Template is immutable and can be rendered from many threads; one
// Render call uses one thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "watershed/base/status.h"

namespace watershed::transform::jinja {

class Value;
using List = std::vector<Value>;
using Dict = std::vector<std::pair<std::string, Value>>;  // insertion-ordered, like Python's
struct Args {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> named;
};
// A callable: returns a value or an error (its message gets the file and line added).
using Function = std::function<StatusOr<Value>(const Args&)>;

class Value {
 public:
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kFunction };
  Value() = default;  // undefined
  static Value Undefined(std::string name);
  static Value None();
  Value(bool b);                                    // NOLINT: literals read naturally
  Value(int64_t i);                                 // NOLINT
  Value(int i) : Value(static_cast<int64_t>(i)) {}  // NOLINT
  Value(double f);                                  // NOLINT
  Value(std::string s);                             // NOLINT
  Value(const char* s) : Value(std::string(s)) {}   // NOLINT
  Value(List l);                                    // NOLINT
  Value(Dict d);                                    // NOLINT
  Value(Function f);                                // NOLINT

  Kind kind() const { return kind_; }
  bool defined() const { return kind_ != Kind::kUndefined; }
  bool is_number() const { return kind_ == Kind::kInt || kind_ == Kind::kFloat; }
  bool b() const { return b_; }
  int64_t i() const { return i_; }
  double f() const { return kind_ == Kind::kInt ? static_cast<double>(i_) : f_; }
  const std::string& s() const { return s_; }  // a string; an undefined value's name
  List& list() const { return *list_; }        // shared: `do xs.append(x)` changes it
  Dict& dict() const { return *dict_; }
  const Function& fn() const { return *fn_; }
  // The entry `key` of a dict, or nullptr.
  const Value* Find(const std::string& key) const;

  bool Truthy() const;
  // How `{{ v }}` prints it: strings as they are, numbers, True/False/None, lists and dicts as
  // Python prints them (['a', 'b']).
  std::string Str() const;
  std::string Repr() const;  // strings quoted
  bool operator==(const Value& o) const;

 private:
  Kind kind_ = Kind::kUndefined;
  bool b_ = false;
  int64_t i_ = 0;
  double f_ = 0;
  std::string s_;
  std::shared_ptr<List> list_;
  std::shared_ptr<Dict> dict_;
  std::shared_ptr<Function> fn_;
};

struct Node;  // the tree (jinja_internal.h)

// A parsed template. `file` is used in every error message.
class Template {
 public:
  static StatusOr<std::shared_ptr<const Template>> Parse(const std::string& source,
                                                         const std::string& file);
  ~Template();
  const std::string& file() const { return file_; }
  const std::vector<std::unique_ptr<Node>>& nodes() const { return nodes_; }

 private:
  Template() = default;
  std::string file_;
  std::vector<std::unique_ptr<Node>> nodes_;
};

// Renders `tpl` with `globals` visible to it and to every macro. `libraries` are templates whose
// macros are defined first (a dbt project's macros/*.sql; their text output is dropped), so the
// template and the macros can call them.
StatusOr<std::string> Render(const Template& tpl, const std::map<std::string, Value>& globals,
                             const std::vector<std::shared_ptr<const Template>>& libraries = {});

}  // namespace watershed::transform::jinja
