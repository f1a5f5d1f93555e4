// transform/jinja_filters.cc — the filters (`x | upper`), the methods of strings, lists and
// dicts (`s.split(',')`), and the helpers the renderer shares with them. See jinja.h.
#include <algorithm>
#include <cmath>

#include "absl/strings/str_replace.h"
#include "watershed/base/strings.h"
#include "watershed/transform/jinja_internal.h"

namespace watershed::transform::jinja {

std::string KindName(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      return "undefined";
    case Value::Kind::kNone:
      return "none";
    case Value::Kind::kBool:
      return "a boolean";
    case Value::Kind::kInt:
      return "an integer";
    case Value::Kind::kFloat:
      return "a number";
    case Value::Kind::kString:
      return "a string";
    case Value::Kind::kList:
      return "a list";
    case Value::Kind::kDict:
      return "a dict";
    case Value::Kind::kFunction:
      return "a function";
  }
  return "?";
}

Status Bad(const std::string& what) { return absl::InvalidArgumentError(what); }

Status UndefinedError(const Value& v) { return Bad(StrCat("'", v.s(), "' is undefined")); }

// A positional or named argument, or `fallback`.
const Value& Arg(const Args& a, size_t index, const char* name, const Value& fallback) {
  if (index < a.positional.size()) return a.positional[index];
  for (const auto& [k, v] : a.named) {
    if (k == name) return v;
  }
  return fallback;
}

StatusOr<List> Items(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kList:
      return v.list();
    case Value::Kind::kDict: {
      List keys;
      for (const auto& [k, x] : v.dict()) keys.push_back(Value(k));
      return keys;
    }
    case Value::Kind::kString: {
      List chars;
      for (char c : v.s()) chars.push_back(Value(std::string(1, c)));
      return chars;
    }
    case Value::Kind::kUndefined:
      return UndefinedError(v);
    default:
      return Bad(StrCat("cannot loop over ", KindName(v), " (", v.Str(), ")"));
  }
}

static std::string Replace(const std::string& s, const std::string& from, const std::string& to) {
  return from.empty() ? s : absl::StrReplaceAll(s, {{from, to}});
}

static std::string Strip(const std::string& s) { return std::string(Trim(s)); }

StatusOr<bool> Less(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) return a.f() < b.f();
  if (a.kind() == Value::Kind::kString && b.kind() == Value::Kind::kString) return a.s() < b.s();
  return Bad(StrCat("cannot compare ", KindName(a), " with ", KindName(b)));
}

StatusOr<Value> Filter(const std::string& name, const Value& v, const Args& a) {
  static const Value& kNone = *new Value(Value::None());
  static const Value& kEmpty = *new Value(std::string());
  if (name == "default" || name == "d") {
    const bool boolean = Arg(a, 1, "boolean", Value(false)).Truthy();
    const bool use = !v.defined() || (boolean && !v.Truthy());
    return use ? Arg(a, 0, "default_value", kEmpty) : v;
  }
  if (!v.defined()) return UndefinedError(v);
  if (name == "upper" || name == "lower" || name == "trim" || name == "title" ||
      name == "capitalize") {
    std::string s = v.Str();
    if (name == "trim") return Value(Strip(s));
    bool start = true;
    for (char& c : s) {
      const bool alpha = std::isalpha(static_cast<unsigned char>(c));
      if (name == "upper" || ((name == "title" || name == "capitalize") && start)) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      } else {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      if (name == "title")
        start = !alpha;
      else if (name == "capitalize")
        start = false;
    }
    return Value(s);
  }
  if (name == "replace") {
    return Value(Replace(v.Str(), Arg(a, 0, "old", kEmpty).Str(), Arg(a, 1, "new", kEmpty).Str()));
  }
  if (name == "string") return Value(v.Str());
  if (name == "length" || name == "count") {
    if (v.kind() == Value::Kind::kString) return Value(static_cast<int64_t>(v.s().size()));
    WS_ASSIGN_OR_RETURN(List items, Items(v));
    return Value(static_cast<int64_t>(items.size()));
  }
  if (name == "int" || name == "float") {
    double d = 0;
    if (v.is_number())
      d = v.f();
    else if (v.kind() == Value::Kind::kBool)
      d = v.b();
    else {
      try {
        d = std::stod(v.Str());
      } catch (...) {
        return Arg(a, 0, "default", name == "int" ? Value(0) : Value(0.0));
      }
    }
    return name == "int" ? Value(static_cast<int64_t>(d)) : Value(d);
  }
  if (name == "abs") {
    if (v.kind() == Value::Kind::kInt) return Value(v.i() < 0 ? -v.i() : v.i());
    return Value(std::fabs(v.f()));
  }
  if (name == "round") {
    const int64_t digits = Arg(a, 0, "precision", Value(0)).i();
    const double scale = std::pow(10.0, static_cast<double>(digits));
    return Value(std::round(v.f() * scale) / scale);
  }
  if (name == "join") {
    WS_ASSIGN_OR_RETURN(List items, Items(v));
    std::vector<std::string> parts;
    for (const Value& x : items) parts.push_back(x.Str());
    return Value(Join(parts, Arg(a, 0, "d", kEmpty).Str()));
  }
  if (name == "list" || name == "first" || name == "last" || name == "reverse" || name == "sort" ||
      name == "unique") {
    WS_ASSIGN_OR_RETURN(List items, Items(v));
    if (name == "first") return items.empty() ? Value::Undefined("first") : items.front();
    if (name == "last") return items.empty() ? Value::Undefined("last") : items.back();
    if (name == "reverse") {
      if (v.kind() == Value::Kind::kString) return Value(std::string(v.s().rbegin(), v.s().rend()));
      std::reverse(items.begin(), items.end());
    }
    if (name == "sort") {
      Status err;
      std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
        auto lt = Less(x, y);
        if (!lt.ok()) err = lt.status();
        return lt.ok() && *lt;
      });
      WS_RETURN_IF_ERROR(err);
      if (Arg(a, 0, "reverse", Value(false)).Truthy()) std::reverse(items.begin(), items.end());
    }
    if (name == "unique") {
      List seen;
      for (const Value& x : items) {
        if (std::find(seen.begin(), seen.end(), x) == seen.end()) seen.push_back(x);
      }
      items = std::move(seen);
    }
    return Value(std::move(items));
  }
  return Bad(
      StrCat("unknown filter '", name,
             "' (supported: upper, lower, title, capitalize, trim, replace, join, default, length, "
             "count, string, int, float, first, last, reverse, sort, unique, list, abs, round)"));
}

// `v.name` as a bound method (strings, lists, dicts), or an undefined value.
Value Method(const Value& v, const std::string& name) {
  auto fn = [](auto f) { return Value(Function(f)); };
  if (v.kind() == Value::Kind::kString) {
    const std::string s = v.s();
    if (name == "upper" || name == "lower" || name == "strip" || name == "title" ||
        name == "capitalize") {
      const std::string filter = name == "strip" ? "trim" : name;
      return fn([s, filter](const Args&) { return Filter(filter, Value(s), {}); });
    }
    if (name == "replace") {
      return fn([s](const Args& a) { return Filter("replace", Value(s), a); });
    }
    if (name == "startswith" || name == "endswith") {
      return fn([s, name](const Args& a) -> StatusOr<Value> {
        const std::string x = Arg(a, 0, "prefix", Value(std::string())).Str();
        return Value(name == "startswith" ? s.starts_with(x) : s.ends_with(x));
      });
    }
    if (name == "split") {
      return fn([s](const Args& a) -> StatusOr<Value> {
        const Value sep = Arg(a, 0, "sep", Value::None());
        List parts;
        if (sep.kind() != Value::Kind::kString || sep.s().empty()) {
          std::string cur;
          for (char c : s) {
            if (std::isspace(static_cast<unsigned char>(c))) {
              if (!cur.empty()) parts.push_back(Value(cur));
              cur.clear();
            } else {
              cur.push_back(c);
            }
          }
          if (!cur.empty()) parts.push_back(Value(cur));
          return Value(std::move(parts));
        }
        size_t start = 0;
        while (true) {
          size_t at = s.find(sep.s(), start);
          parts.push_back(Value(s.substr(start, at - start)));
          if (at == std::string::npos) break;
          start = at + sep.s().size();
        }
        return Value(std::move(parts));
      });
    }
  }
  if (v.kind() == Value::Kind::kList && (name == "append" || name == "extend")) {
    return fn([v, name](const Args& a) -> StatusOr<Value> {
      if (a.positional.size() != 1) return Bad(StrCat(name, "() takes one argument"));
      if (name == "append") {
        v.list().push_back(a.positional[0]);
      } else {
        WS_ASSIGN_OR_RETURN(List more, Items(a.positional[0]));
        v.list().insert(v.list().end(), more.begin(), more.end());
      }
      return Value(std::string());
    });
  }
  if (v.kind() == Value::Kind::kDict) {
    if (name == "items" || name == "keys" || name == "values") {
      return fn([v, name](const Args&) -> StatusOr<Value> {
        List out;
        for (const auto& [k, x] : v.dict()) {
          if (name == "items")
            out.push_back(Value(List{Value(k), x}));
          else
            out.push_back(name == "keys" ? Value(k) : x);
        }
        return Value(std::move(out));
      });
    }
    if (name == "get") {
      return fn([v](const Args& a) -> StatusOr<Value> {
        const Value* found = v.Find(Arg(a, 0, "key", Value(std::string())).Str());
        return found ? *found : Arg(a, 1, "default", Value::None());
      });
    }
  }
  return Value::Undefined(name);
}

}  // namespace watershed::transform::jinja
