// transform/jinja_render.cc — rendering a parsed template: scopes, statements, expressions,
// macros. Filters and methods are in jinja_filters.cc. See jinja.h.
#include <algorithm>
#include <cmath>

#include "watershed/base/strings.h"
#include "watershed/transform/jinja.h"
#include "watershed/transform/jinja_internal.h"

namespace watershed::transform::jinja {
namespace {

using Nodes = std::vector<std::unique_ptr<Node>>;

struct Frame {
  std::map<std::string, Value> vars;
  Frame* parent = nullptr;
};

class Renderer {
 public:
  Renderer(const std::map<std::string, Value>& globals) {
    globals_.vars = globals;
    globals_.vars["return"] = Value(Function([this](const Args& a) -> StatusOr<Value> {
      returning_ = true;
      returned_ = a.positional.empty() ? Value::None() : a.positional[0];
      return Value(std::string());
    }));
  }

  Status Run(const Nodes& nodes, const std::string& file, Frame& frame, std::string& out) {
    for (const auto& n : nodes) {
      if (returning_) return absl::OkStatus();
      Status s = RunNode(*n, file, frame, out);
      if (!s.ok()) {
        // The innermost error keeps its place; an inner template's message already has one.
        if (MessageOf(s).starts_with("\x01")) return s;
        return absl::InvalidArgumentError(StrCat("\x01", file, ":", line_ ? line_ : n->line, ": ",
                                                 MessageOf(s), " (in '", n->source, "')"));
      }
    }
    return absl::OkStatus();
  }

  Frame& globals() { return globals_; }
  // Runs one node of `file` at the top level (defining a library's macro).
  Status RunOne(const Node& n, const std::string& file, std::string& out) {
    Status s = RunNode(n, file, globals_, out);
    if (s.ok() || MessageOf(s).starts_with("\x01")) return s;
    return absl::InvalidArgumentError(
        StrCat("\x01", file, ":", n.line, ": ", MessageOf(s), " (in '", n.source, "')"));
  }

 private:
  Status RunNode(const Node& n, const std::string& file, Frame& frame, std::string& out) {
    line_ = 0;
    file_ = &file;
    switch (n.kind) {
      case Node::Kind::kText:
        out += n.text;
        return absl::OkStatus();
      case Node::Kind::kOutput: {
        WS_ASSIGN_OR_RETURN(Value v, Eval(*n.expr, frame));
        if (!v.defined()) return UndefinedError(v);
        out += v.Str();
        return absl::OkStatus();
      }
      case Node::Kind::kDo:
        return Eval(*n.expr, frame).status();
      case Node::Kind::kSet: {
        WS_ASSIGN_OR_RETURN(Value v, Eval(*n.expr, frame));
        frame.vars[n.names[0]] = std::move(v);
        return absl::OkStatus();
      }
      case Node::Kind::kSetBlock: {
        std::string captured;
        WS_RETURN_IF_ERROR(Run(n.bodies[0], file, frame, captured));
        frame.vars[n.names[0]] = Value(std::move(captured));
        return absl::OkStatus();
      }
      case Node::Kind::kIf: {
        for (size_t i = 0; i < n.conditions.size(); ++i) {
          line_ = 0;
          WS_ASSIGN_OR_RETURN(Value c, Eval(*n.conditions[i], frame));
          if (c.Truthy()) return Run(n.bodies[i], file, frame, out);
        }
        if (n.bodies.size() > n.conditions.size()) return Run(n.bodies.back(), file, frame, out);
        return absl::OkStatus();
      }
      case Node::Kind::kFor:
        return RunFor(n, file, frame, out);
      case Node::Kind::kMacro:
        DefineMacro(n, file, frame);
        return absl::OkStatus();
    }
    return absl::OkStatus();
  }

  Status RunFor(const Node& n, const std::string& file, Frame& frame, std::string& out) {
    WS_ASSIGN_OR_RETURN(Value iterable, Eval(*n.expr, frame));
    WS_ASSIGN_OR_RETURN(List items, Items(iterable));
    if (items.empty()) {
      if (n.bodies.size() > 1) return Run(n.bodies[1], file, frame, out);
      return absl::OkStatus();
    }
    const int64_t len = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < len; ++i) {
      Frame inner;
      inner.parent = &frame;
      const Value& item = items[static_cast<size_t>(i)];
      if (n.names.size() == 1) {
        inner.vars[n.names[0]] = item;
      } else {
        if (item.kind() != Value::Kind::kList || item.list().size() != n.names.size()) {
          return Bad(StrCat("cannot unpack ", item.Repr(), " into ", n.names.size(), " names"));
        }
        for (size_t k = 0; k < n.names.size(); ++k) inner.vars[n.names[k]] = item.list()[k];
      }
      inner.vars["loop"] = Value(Dict{{"index", Value(i + 1)},
                                      {"index0", Value(i)},
                                      {"revindex", Value(len - i)},
                                      {"revindex0", Value(len - i - 1)},
                                      {"first", Value(i == 0)},
                                      {"last", Value(i == len - 1)},
                                      {"length", Value(len)}});
      WS_RETURN_IF_ERROR(Run(n.bodies[0], file, inner, out));
      if (returning_) break;
    }
    return absl::OkStatus();
  }

  void DefineMacro(const Node& n, const std::string& file, Frame& frame) {
    const Node* node = &n;
    const std::string* macro_file = &file;
    frame.vars[n.names[0]] =
        Value(Function([this, node, macro_file](const Args& a) -> StatusOr<Value> {
          const size_t params = node->names.size() - 1;
          if (a.positional.size() > params) {
            return Bad(StrCat("macro ", node->names[0], " takes ", params, " argument(s), got ",
                              a.positional.size()));
          }
          Frame locals;
          locals.parent = &globals_;
          for (size_t i = 0; i < params; ++i) {
            const std::string& p = node->names[i + 1];
            if (i < a.positional.size()) {
              locals.vars[p] = a.positional[i];
              continue;
            }
            auto named = std::find_if(a.named.begin(), a.named.end(),
                                      [&](const auto& kv) { return kv.first == p; });
            if (named != a.named.end()) {
              locals.vars[p] = named->second;
            } else if (node->defaults[i]) {
              WS_ASSIGN_OR_RETURN(locals.vars[p], Eval(*node->defaults[i], locals));
            } else {
              return Bad(StrCat("macro ", node->names[0], " needs argument '", p, "'"));
            }
          }
          for (const auto& [k, v] : a.named) {
            if (std::find(node->names.begin() + 1, node->names.end(), k) == node->names.end()) {
              return Bad(StrCat("macro ", node->names[0], " has no argument '", k, "'"));
            }
          }
          std::string body;
          const std::string* caller_file = file_;
          const int caller_line = line_;
          WS_RETURN_IF_ERROR(Run(node->bodies[0], *macro_file, locals, body));
          file_ = caller_file;
          line_ = caller_line;
          if (returning_) {
            returning_ = false;
            return returned_;
          }
          return Value(std::move(body));
        }));
  }

  Value Lookup(const std::string& name, const Frame& frame) const {
    for (const Frame* f = &frame; f != nullptr; f = f->parent) {
      auto it = f->vars.find(name);
      if (it != f->vars.end()) return it->second;
    }
    return Value::Undefined(name);
  }

  StatusOr<Args> EvalArgs(const Expr& e, size_t first, Frame& frame) {
    Args a;
    const size_t named_from = e.kids.size() - e.keys.size();
    for (size_t i = first; i < e.kids.size(); ++i) {
      WS_ASSIGN_OR_RETURN(Value v, Eval(*e.kids[i], frame));
      if (i < named_from)
        a.positional.push_back(std::move(v));
      else
        a.named.push_back({e.keys[i - named_from], std::move(v)});
    }
    return a;
  }

  StatusOr<Value> Eval(const Expr& e, Frame& frame) {
    if (line_ == 0) line_ = e.line;
    switch (e.kind) {
      case Expr::Kind::kLiteral:
        return e.value;
      case Expr::Kind::kName:
        return Lookup(e.name, frame);
      case Expr::Kind::kList: {
        List l;
        for (const auto& k : e.kids) {
          WS_ASSIGN_OR_RETURN(Value v, Eval(*k, frame));
          l.push_back(std::move(v));
        }
        return Value(std::move(l));
      }
      case Expr::Kind::kDict: {
        Dict d;
        for (size_t i = 0; i < e.kids.size(); ++i) {
          WS_ASSIGN_OR_RETURN(Value v, Eval(*e.kids[i], frame));
          d.push_back({e.keys[i], std::move(v)});
        }
        return Value(std::move(d));
      }
      case Expr::Kind::kAttr: {
        WS_ASSIGN_OR_RETURN(Value base, Eval(*e.kids[0], frame));
        if (!base.defined()) return UndefinedError(base);
        if (const Value* v = base.Find(e.name)) return *v;
        Value m = Method(base, e.name);
        if (!m.defined()) m = Value::Undefined(StrCat(Describe(*e.kids[0]), ".", e.name));
        return m;
      }
      case Expr::Kind::kIndex: {
        WS_ASSIGN_OR_RETURN(Value base, Eval(*e.kids[0], frame));
        WS_ASSIGN_OR_RETURN(Value index, Eval(*e.kids[1], frame));
        if (!base.defined()) return UndefinedError(base);
        if (base.kind() == Value::Kind::kDict) {
          const Value* v = base.Find(index.Str());
          return v ? *v : Value::Undefined(StrCat(Describe(*e.kids[0]), "[", index.Repr(), "]"));
        }
        if ((base.kind() == Value::Kind::kList || base.kind() == Value::Kind::kString) &&
            index.kind() == Value::Kind::kInt) {
          const int64_t n = base.kind() == Value::Kind::kList
                                ? static_cast<int64_t>(base.list().size())
                                : static_cast<int64_t>(base.s().size());
          int64_t i = index.i() < 0 ? index.i() + n : index.i();
          if (i < 0 || i >= n)
            return Bad(StrCat("index ", index.i(), " is out of range (", n, " items)"));
          if (base.kind() == Value::Kind::kList) return base.list()[static_cast<size_t>(i)];
          return Value(std::string(1, base.s()[static_cast<size_t>(i)]));
        }
        return Bad(StrCat("cannot index ", KindName(base), " with ", KindName(index)));
      }
      case Expr::Kind::kCall: {
        WS_ASSIGN_OR_RETURN(Value callee, Eval(*e.kids[0], frame));
        if (!callee.defined()) return UndefinedError(callee);
        if (callee.kind() != Value::Kind::kFunction) {
          return Bad(
              StrCat("'", Describe(*e.kids[0]), "' is ", KindName(callee), ", not callable"));
        }
        WS_ASSIGN_OR_RETURN(Args a, EvalArgs(e, 1, frame));
        auto r = callee.fn()(a);
        if (!r.ok() && !MessageOf(r.status()).starts_with("\x01")) {
          return Bad(StrCat(Describe(*e.kids[0]), "(): ", MessageOf(r.status())));
        }
        return r;
      }
      case Expr::Kind::kFilter: {
        WS_ASSIGN_OR_RETURN(Value v, Eval(*e.kids[0], frame));
        WS_ASSIGN_OR_RETURN(Args a, EvalArgs(e, 1, frame));
        return Filter(e.name, v, a);
      }
      case Expr::Kind::kTest: {
        WS_ASSIGN_OR_RETURN(Value v, Eval(*e.kids[0], frame));
        bool r;
        if (e.name == "defined")
          r = v.defined();
        else if (e.name == "undefined")
          r = !v.defined();
        else if (e.name == "none")
          r = v.kind() == Value::Kind::kNone;
        else if (e.name == "string")
          r = v.kind() == Value::Kind::kString;
        else if (e.name == "number")
          r = v.is_number();
        else if (e.name == "mapping")
          r = v.kind() == Value::Kind::kDict;
        else if (e.name == "sequence" || e.name == "iterable") {
          r = v.kind() == Value::Kind::kList || v.kind() == Value::Kind::kString ||
              v.kind() == Value::Kind::kDict;
        } else {
          return Bad(StrCat("unknown test 'is ", e.name,
                            "' (supported: defined, undefined, none, string, number, mapping, "
                            "sequence, iterable)"));
        }
        return Value(r != e.negate);
      }
      case Expr::Kind::kNot: {
        WS_ASSIGN_OR_RETURN(Value v, Eval(*e.kids[0], frame));
        return Value(!v.Truthy());
      }
      case Expr::Kind::kNeg: {
        WS_ASSIGN_OR_RETURN(Value v, Eval(*e.kids[0], frame));
        if (v.kind() == Value::Kind::kInt) return Value(-v.i());
        if (v.kind() == Value::Kind::kFloat) return Value(-v.f());
        return Bad(StrCat("cannot negate ", KindName(v)));
      }
      case Expr::Kind::kCond: {
        WS_ASSIGN_OR_RETURN(Value c, Eval(*e.kids[0], frame));
        if (c.Truthy()) return Eval(*e.kids[1], frame);
        if (e.kids.size() > 2) return Eval(*e.kids[2], frame);
        return Value(std::string());
      }
      case Expr::Kind::kBinary:
        return EvalBinary(e, frame);
    }
    return Bad("unknown expression");
  }

  StatusOr<Value> EvalBinary(const Expr& e, Frame& frame) {
    const std::string& op = e.name;
    WS_ASSIGN_OR_RETURN(Value a, Eval(*e.kids[0], frame));
    if (op == "and") {
      if (!a.Truthy()) return a;
      return Eval(*e.kids[1], frame);
    }
    if (op == "or") {
      if (a.Truthy()) return a;
      return Eval(*e.kids[1], frame);
    }
    WS_ASSIGN_OR_RETURN(Value b, Eval(*e.kids[1], frame));
    if (op == "==") return Value(a == b);
    if (op == "!=") return Value(!(a == b));
    if (op == "~") {
      if (!a.defined()) return UndefinedError(a);
      if (!b.defined()) return UndefinedError(b);
      return Value(a.Str() + b.Str());
    }
    if (!a.defined()) return UndefinedError(a);
    if (!b.defined()) return UndefinedError(b);
    if (op == "in" || op == "notin") {
      bool found = false;
      if (b.kind() == Value::Kind::kString) {
        found = b.s().find(a.Str()) != std::string::npos;
      } else if (b.kind() == Value::Kind::kDict) {
        found = b.Find(a.Str()) != nullptr;
      } else if (b.kind() == Value::Kind::kList) {
        found = std::find(b.list().begin(), b.list().end(), a) != b.list().end();
      } else {
        return Bad(StrCat("'in' needs a list, dict or string on its right, not ", KindName(b)));
      }
      return Value(found == (op == "in"));
    }
    if (op == "<" || op == ">" || op == "<=" || op == ">=") {
      const bool swap = op == ">" || op == "<=";
      WS_ASSIGN_OR_RETURN(bool lt, swap ? Less(b, a) : Less(a, b));
      return Value(op.size() == 1 ? lt : !lt);
    }
    if (op == "+" && a.kind() == Value::Kind::kString && b.kind() == Value::Kind::kString) {
      return Value(a.s() + b.s());
    }
    if (op == "+" && a.kind() == Value::Kind::kList && b.kind() == Value::Kind::kList) {
      List l = a.list();
      l.insert(l.end(), b.list().begin(), b.list().end());
      return Value(std::move(l));
    }
    if (op == "*" && a.kind() == Value::Kind::kString && b.kind() == Value::Kind::kInt) {
      std::string s;
      for (int64_t i = 0; i < b.i(); ++i) s += a.s();
      return Value(s);
    }
    if (!a.is_number() || !b.is_number()) {
      return Bad(StrCat("cannot apply '", op, "' to ", KindName(a), " and ", KindName(b)));
    }
    const bool ints = a.kind() == Value::Kind::kInt && b.kind() == Value::Kind::kInt;
    if ((op == "/" || op == "//" || op == "%") && b.f() == 0) return Bad("division by zero");
    if (op == "+") return ints ? Value(a.i() + b.i()) : Value(a.f() + b.f());
    if (op == "-") return ints ? Value(a.i() - b.i()) : Value(a.f() - b.f());
    if (op == "*") return ints ? Value(a.i() * b.i()) : Value(a.f() * b.f());
    if (op == "/") return Value(a.f() / b.f());
    if (op == "//") {
      const double q = std::floor(a.f() / b.f());
      return ints ? Value(static_cast<int64_t>(q)) : Value(q);
    }
    if (op == "%") {
      if (ints) return Value(((a.i() % b.i()) + b.i()) % b.i());
      return Value(a.f() - b.f() * std::floor(a.f() / b.f()));
    }
    if (op == "**") {
      const double p = std::pow(a.f(), b.f());
      return ints && b.i() >= 0 ? Value(static_cast<int64_t>(p)) : Value(p);
    }
    return Bad(StrCat("unknown operator '", op, "'"));
  }

  // The expression as a user would name it in a message: `ref`, `loop.index`, `x`.
  static std::string Describe(const Expr& e) {
    if (e.kind == Expr::Kind::kName) return e.name;
    if (e.kind == Expr::Kind::kAttr) return StrCat(Describe(*e.kids[0]), ".", e.name);
    return "expression";
  }

  Frame globals_;
  bool returning_ = false;
  Value returned_;
  int line_ = 0;
  const std::string* file_ = nullptr;
};

}  // namespace

StatusOr<std::string> Render(const Template& tpl, const std::map<std::string, Value>& globals,
                             const std::vector<std::shared_ptr<const Template>>& libraries) {
  Renderer r(globals);
  auto strip = [](const Status& s) {
    std::string_view m = MessageOf(s);
    if (m.starts_with("\x01")) m.remove_prefix(1);
    return Status(s.code(), std::string(m));
  };
  // The libraries' macros first (a library's other output is dropped).
  for (const auto& lib : libraries) {
    for (const auto& n : lib->nodes()) {
      if (n->kind != Node::Kind::kMacro) continue;
      std::string ignored;
      Status s = r.RunOne(*n, lib->file(), ignored);
      if (!s.ok()) return strip(s);
    }
  }
  std::string out;
  Status s = r.Run(tpl.nodes(), tpl.file(), r.globals(), out);
  if (!s.ok()) return strip(s);
  return out;
}

}  // namespace watershed::transform::jinja
