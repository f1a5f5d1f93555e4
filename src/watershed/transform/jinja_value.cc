// transform/jinja_value.cc — template values: truthiness, printing, equality. See jinja.h.
#include <charconv>
#include <cmath>

#include "watershed/base/strings.h"
#include "watershed/transform/jinja.h"

namespace watershed::transform::jinja {

Value Value::Undefined(std::string name) {
  Value v;
  v.s_ = std::move(name);
  return v;
}
Value Value::None() {
  Value v;
  v.kind_ = Kind::kNone;
  return v;
}
Value::Value(bool b) : kind_(Kind::kBool), b_(b) {}
Value::Value(int64_t i) : kind_(Kind::kInt), i_(i) {}
Value::Value(double f) : kind_(Kind::kFloat), f_(f) {}
Value::Value(std::string s) : kind_(Kind::kString), s_(std::move(s)) {}
Value::Value(List l) : kind_(Kind::kList), list_(std::make_shared<List>(std::move(l))) {}
Value::Value(Dict d) : kind_(Kind::kDict), dict_(std::make_shared<Dict>(std::move(d))) {}
Value::Value(Function f) : kind_(Kind::kFunction), fn_(std::make_shared<Function>(std::move(f))) {}

const Value* Value::Find(const std::string& key) const {
  if (kind_ != Kind::kDict) return nullptr;
  for (const auto& [k, v] : *dict_) {
    if (k == key) return &v;
  }
  return nullptr;
}

bool Value::Truthy() const {
  switch (kind_) {
    case Kind::kUndefined:
    case Kind::kNone:
      return false;
    case Kind::kBool:
      return b_;
    case Kind::kInt:
      return i_ != 0;
    case Kind::kFloat:
      return f_ != 0;
    case Kind::kString:
      return !s_.empty();
    case Kind::kList:
      return !list_->empty();
    case Kind::kDict:
      return !dict_->empty();
    case Kind::kFunction:
      return true;
  }
  return false;
}

namespace {
std::string FloatText(double f) {
  if (std::isnan(f)) return "nan";
  if (std::isinf(f)) return f > 0 ? "inf" : "-inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, f);
  std::string s(buf, r.ptr);
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}
}  // namespace

std::string Value::Str() const {
  switch (kind_) {
    case Kind::kUndefined:
      return "";
    case Kind::kNone:
      return "None";
    case Kind::kBool:
      return b_ ? "True" : "False";
    case Kind::kInt:
      return std::to_string(i_);
    case Kind::kFloat:
      return FloatText(f_);
    case Kind::kString:
      return s_;
    case Kind::kList: {
      std::string out = "[";
      for (size_t i = 0; i < list_->size(); ++i) out += (i ? ", " : "") + (*list_)[i].Repr();
      return out + "]";
    }
    case Kind::kDict: {
      std::string out = "{";
      for (size_t i = 0; i < dict_->size(); ++i) {
        out +=
            StrCat(i ? ", " : "", Value((*dict_)[i].first).Repr(), ": ", (*dict_)[i].second.Repr());
      }
      return out + "}";
    }
    case Kind::kFunction:
      return "<function>";
  }
  return "";
}

std::string Value::Repr() const {
  if (kind_ != Kind::kString) return Str();
  std::string out = "'";
  for (char c : s_) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "'";
}

bool Value::operator==(const Value& o) const {
  if (is_number() && o.is_number()) {
    return kind_ == Kind::kInt && o.kind_ == Kind::kInt ? i_ == o.i_ : f() == o.f();
  }
  if (kind_ == Kind::kBool && o.kind_ == Kind::kBool) return b_ == o.b_;
  if (kind_ != o.kind_) return false;
  switch (kind_) {
    case Kind::kUndefined:
    case Kind::kNone:
      return true;
    case Kind::kString:
      return s_ == o.s_;
    case Kind::kList:
      return *list_ == *o.list_;
    case Kind::kDict:
      return *dict_ == *o.dict_;
    case Kind::kFunction:
      return fn_ == o.fn_;
    default:
      return false;
  }
}

}  // namespace watershed::transform::jinja
