// transform/jinja.cc — parsing a template: the lexer splits text from tags, the parser turns
// each tag's tokens into expressions and the tags into a tree. See jinja.h. Over 600 lines: the
// lexer, the expression parser and the statement parser share their token and segment types
// and read best together; splitting them would only move those types into a header.
#include "watershed/transform/jinja.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include "watershed/base/strings.h"
#include "watershed/transform/jinja_internal.h"

namespace watershed::transform::jinja {

// ---- lexer ----------------------------------------------------------------------------------

Template::~Template() = default;

namespace {

struct Segment {
  enum Kind { kText, kOutput, kStatement } kind = kText;
  std::string text;    // text, or the tag's inside (without delimiters and '-')
  std::string source;  // the tag as written
  int line = 1;
};

Status Error(const std::string& file, int line, const std::string& what) {
  return absl::InvalidArgumentError(StrCat(file, ":", line, ": ", what));
}

int LineAt(const std::string& s, size_t pos, int base = 1) {
  return base + static_cast<int>(std::count(s.begin(), s.begin() + static_cast<long>(pos), '\n'));
}

void TrimRight(std::string& s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
}

StatusOr<std::vector<Segment>> Lex(const std::string& src, const std::string& file) {
  std::vector<Segment> out;
  bool strip_next = false;  // the previous tag ended with '-'
  size_t pos = 0;
  auto add_text = [&](std::string text) {
    if (strip_next) {
      size_t k = 0;
      while (k < text.size() && std::isspace(static_cast<unsigned char>(text[k]))) ++k;
      text.erase(0, k);
    }
    strip_next = false;
    if (!text.empty()) out.push_back({Segment::kText, std::move(text), "", 0});
  };
  while (pos < src.size()) {
    size_t open = pos;
    while (true) {
      open = src.find('{', open);
      if (open == std::string::npos || open + 1 >= src.size()) {
        open = std::string::npos;
        break;
      }
      const char c = src[open + 1];
      if (c == '{' || c == '%' || c == '#') break;
      ++open;
    }
    if (open == std::string::npos) {
      add_text(src.substr(pos));
      break;
    }
    add_text(src.substr(pos, open - pos));
    const char type = src[open + 1];
    const int line = LineAt(src, open);
    size_t i = open + 2;
    const bool strip_before = i < src.size() && src[i] == '-';
    if (strip_before) {
      ++i;
      // Strip the whitespace before the tag: from the text just added.
      if (!out.empty() && out.back().kind == Segment::kText) {
        TrimRight(out.back().text);
        if (out.back().text.empty()) out.pop_back();
      }
    }
    const char close_char = type == '{' ? '}' : type;  // }} %} #}
    const std::string opener = std::string("{") + type;
    const std::string closer = std::string(1, close_char) + "}";
    size_t end = std::string::npos;
    if (type == '#') {
      end = src.find("#}", i);
    } else {
      char quote = 0;
      for (size_t k = i; k + 1 < src.size(); ++k) {
        const char c = src[k];
        if (quote) {
          if (c == '\\')
            ++k;
          else if (c == quote)
            quote = 0;
        } else if (c == '\'' || c == '"') {
          quote = c;
        } else if (c == close_char && src[k + 1] == '}') {
          end = k;
          break;
        }
      }
    }
    if (end == std::string::npos) {
      return Error(file, line, StrCat("'", opener, "' is never closed (expected '", closer, "')"));
    }
    bool strip_after = end > i && src[end - 1] == '-';
    std::string inside = src.substr(i, end - i - (strip_after ? 1 : 0));
    std::string source = src.substr(open, end + 2 - open);
    pos = end + 2;
    if (type != '#') {
      out.push_back({type == '{' ? Segment::kOutput : Segment::kStatement, std::move(inside),
                     std::move(source), line});
    }
    strip_next = strip_after;
  }
  return out;
}

// ---- tokens and expressions -----------------------------------------------------------------

struct Token {
  enum Kind { kName, kInt, kFloat, kString, kOp, kEnd } kind = kEnd;
  std::string text;
  Value value;
  int line = 0;
};

StatusOr<std::vector<Token>> Tokenize(const std::string& s, int line, const std::string& file,
                                      const std::string& source) {
  std::vector<Token> out;
  size_t i = 0;
  auto bad = [&](const std::string& what) {
    return Error(file, line, StrCat(what, " in '", source, "'"));
  };
  while (i < s.size()) {
    const char c = s[i];
    if (c == '\n') ++line;
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    Token t;
    t.line = line;
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t j = i;
      while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
      t.kind = Token::kName;
      t.text = s.substr(i, j - i);
      i = j;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      size_t j = i;
      bool is_float = false;
      while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == '_' ||
                              (s[j] == '.' && !is_float && j + 1 < s.size() &&
                               std::isdigit(static_cast<unsigned char>(s[j + 1]))))) {
        if (s[j] == '.') is_float = true;
        ++j;
      }
      std::string digits;
      for (size_t k = i; k < j; ++k) {
        if (s[k] != '_') digits.push_back(s[k]);
      }
      t.text = digits;
      if (is_float) {
        t.kind = Token::kFloat;
        t.value = Value(std::stod(digits));
      } else {
        t.kind = Token::kInt;
        int64_t v = 0;
        auto r = std::from_chars(digits.data(), digits.data() + digits.size(), v);
        if (r.ec != std::errc()) return bad(StrCat("number ", digits, " is too large"));
        t.value = Value(v);
      }
      i = j;
    } else if (c == '\'' || c == '"') {
      std::string v;
      size_t j = i + 1;
      for (; j < s.size() && s[j] != c; ++j) {
        if (s[j] == '\\' && j + 1 < s.size()) {
          ++j;
          switch (s[j]) {
            case 'n':
              v.push_back('\n');
              break;
            case 't':
              v.push_back('\t');
              break;
            default:
              v.push_back(s[j]);
          }
        } else {
          if (s[j] == '\n') ++line;
          v.push_back(s[j]);
        }
      }
      if (j >= s.size()) return bad("unterminated string");
      t.kind = Token::kString;
      t.text = s.substr(i, j + 1 - i);
      t.value = Value(v);
      i = j + 1;
    } else {
      static const char* kOps[] = {"==", "!=", "<=", ">=", "//", "**", "(", ")", "[",
                                   "]",  "{",  "}",  ",",  ":",  ".",  "|", "=", "<",
                                   ">",  "~",  "+",  "-",  "*",  "/",  "%"};
      bool found = false;
      for (const char* op : kOps) {
        if (s.compare(i, std::strlen(op), op) == 0) {
          t.kind = Token::kOp;
          t.text = op;
          i += std::strlen(op);
          found = true;
          break;
        }
      }
      if (!found) return bad(StrCat("unexpected character '", std::string(1, c), "'"));
    }
    out.push_back(std::move(t));
  }
  Token end;
  end.line = line;
  out.push_back(end);
  return out;
}

class ExprParser {
 public:
  ExprParser(std::vector<Token> tokens, const std::string& file, const std::string& source)
      : t_(std::move(tokens)), file_(file), source_(source) {}

  bool AtEnd() const { return t_[p_].kind == Token::kEnd; }
  const Token& Peek(size_t ahead = 0) const { return t_[std::min(p_ + ahead, t_.size() - 1)]; }
  bool IsOp(const char* op, size_t ahead = 0) const {
    return Peek(ahead).kind == Token::kOp && Peek(ahead).text == op;
  }
  bool IsName(const char* name, size_t ahead = 0) const {
    return Peek(ahead).kind == Token::kName && Peek(ahead).text == name;
  }
  Status Bad(const std::string& what) const {
    return Error(file_, Peek().line, StrCat(what, " in '", source_, "'"));
  }
  Status Expect(const char* op) {
    if (!IsOp(op)) {
      return Bad(
          StrCat("expected '", op, "'",
                 AtEnd() ? std::string(" at the end") : StrCat(" before '", Peek().text, "'")));
    }
    ++p_;
    return absl::OkStatus();
  }
  StatusOr<std::string> Name() {
    if (Peek().kind != Token::kName) return Bad("expected a name");
    return t_[p_++].text;
  }
  Status ExpectEnd() {
    if (!AtEnd()) return Bad(StrCat("unexpected '", Peek().text, "'"));
    return absl::OkStatus();
  }

  StatusOr<std::unique_ptr<Expr>> Parse() {
    WS_ASSIGN_OR_RETURN(auto e, Or());
    if (IsName("if")) {
      auto cond = Make(Expr::Kind::kCond);
      ++p_;
      WS_ASSIGN_OR_RETURN(auto test, Or());
      cond->kids.push_back(std::move(test));
      cond->kids.push_back(std::move(e));
      if (IsName("else")) {
        ++p_;
        WS_ASSIGN_OR_RETURN(auto other, Parse());
        cond->kids.push_back(std::move(other));
      }
      return cond;
    }
    return e;
  }

 private:
  std::unique_ptr<Expr> Make(Expr::Kind k) {
    auto e = std::make_unique<Expr>();
    e->kind = k;
    e->line = Peek().line;
    return e;
  }
  std::unique_ptr<Expr> Binary(std::string op, std::unique_ptr<Expr> a, std::unique_ptr<Expr> b) {
    auto e = Make(Expr::Kind::kBinary);
    e->name = std::move(op);
    e->kids.push_back(std::move(a));
    e->kids.push_back(std::move(b));
    return e;
  }
  StatusOr<std::unique_ptr<Expr>> Or() {
    WS_ASSIGN_OR_RETURN(auto e, And());
    while (IsName("or")) {
      ++p_;
      WS_ASSIGN_OR_RETURN(auto r, And());
      e = Binary("or", std::move(e), std::move(r));
    }
    return e;
  }
  StatusOr<std::unique_ptr<Expr>> And() {
    WS_ASSIGN_OR_RETURN(auto e, Not());
    while (IsName("and")) {
      ++p_;
      WS_ASSIGN_OR_RETURN(auto r, Not());
      e = Binary("and", std::move(e), std::move(r));
    }
    return e;
  }
  StatusOr<std::unique_ptr<Expr>> Not() {
    if (IsName("not")) {
      auto e = Make(Expr::Kind::kNot);
      ++p_;
      WS_ASSIGN_OR_RETURN(auto inner, Not());
      e->kids.push_back(std::move(inner));
      return e;
    }
    return Compare();
  }
  StatusOr<std::unique_ptr<Expr>> Compare() {
    WS_ASSIGN_OR_RETURN(auto e, Math1());
    while (true) {
      std::string op;
      if (IsOp("==") || IsOp("!=") || IsOp("<") || IsOp(">") || IsOp("<=") || IsOp(">=")) {
        op = t_[p_++].text;
      } else if (IsName("in")) {
        op = "in";
        ++p_;
      } else if (IsName("not") && IsName("in", 1)) {
        op = "notin";
        p_ += 2;
      } else {
        return e;
      }
      WS_ASSIGN_OR_RETURN(auto r, Math1());
      e = Binary(op, std::move(e), std::move(r));
    }
  }
  StatusOr<std::unique_ptr<Expr>> Math1() {
    WS_ASSIGN_OR_RETURN(auto e, Concat());
    while (IsOp("+") || IsOp("-")) {
      std::string op = t_[p_++].text;
      WS_ASSIGN_OR_RETURN(auto r, Concat());
      e = Binary(op, std::move(e), std::move(r));
    }
    return e;
  }
  StatusOr<std::unique_ptr<Expr>> Concat() {
    WS_ASSIGN_OR_RETURN(auto e, Math2());
    while (IsOp("~")) {
      ++p_;
      WS_ASSIGN_OR_RETURN(auto r, Math2());
      e = Binary("~", std::move(e), std::move(r));
    }
    return e;
  }
  StatusOr<std::unique_ptr<Expr>> Math2() {
    WS_ASSIGN_OR_RETURN(auto e, Pow());
    while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) {
      std::string op = t_[p_++].text;
      WS_ASSIGN_OR_RETURN(auto r, Pow());
      e = Binary(op, std::move(e), std::move(r));
    }
    return e;
  }
  StatusOr<std::unique_ptr<Expr>> Pow() {
    WS_ASSIGN_OR_RETURN(auto e, Unary());
    while (IsOp("**")) {
      ++p_;
      WS_ASSIGN_OR_RETURN(auto r, Unary());
      e = Binary("**", std::move(e), std::move(r));
    }
    return e;
  }
  StatusOr<std::unique_ptr<Expr>> Unary() {
    if (IsOp("-")) {
      auto e = Make(Expr::Kind::kNeg);
      ++p_;
      WS_ASSIGN_OR_RETURN(auto inner, Unary());
      e->kids.push_back(std::move(inner));
      return e;
    }
    if (IsOp("+")) {
      ++p_;
      return Unary();
    }
    WS_ASSIGN_OR_RETURN(auto e, Primary());
    return Postfix(std::move(e));
  }
  // Arguments after '(' up to and including ')': positional ones, then name=value ones.
  Status Arguments(Expr& call) {
    while (!IsOp(")")) {
      if (Peek().kind == Token::kName && IsOp("=", 1)) {
        call.keys.push_back(t_[p_].text);
        p_ += 2;
      } else if (!call.keys.empty()) {
        return Bad("a positional argument after a keyword argument");
      }
      WS_ASSIGN_OR_RETURN(auto arg, Parse());
      call.kids.push_back(std::move(arg));
      if (!IsOp(",")) break;
      ++p_;
    }
    return Expect(")");
  }
  StatusOr<std::unique_ptr<Expr>> Postfix(std::unique_ptr<Expr> e) {
    while (true) {
      if (IsOp(".")) {
        ++p_;
        auto a = Make(Expr::Kind::kAttr);
        WS_ASSIGN_OR_RETURN(a->name, Name());
        a->kids.push_back(std::move(e));
        e = std::move(a);
      } else if (IsOp("[")) {
        ++p_;
        auto a = Make(Expr::Kind::kIndex);
        a->kids.push_back(std::move(e));
        WS_ASSIGN_OR_RETURN(auto index, Parse());
        a->kids.push_back(std::move(index));
        WS_RETURN_IF_ERROR(Expect("]"));
        e = std::move(a);
      } else if (IsOp("(")) {
        ++p_;
        auto c = Make(Expr::Kind::kCall);
        c->name = e->kind == Expr::Kind::kName || e->kind == Expr::Kind::kAttr ? e->name : "";
        c->kids.push_back(std::move(e));
        WS_RETURN_IF_ERROR(Arguments(*c));
        e = std::move(c);
      } else if (IsOp("|")) {
        ++p_;
        auto f = Make(Expr::Kind::kFilter);
        WS_ASSIGN_OR_RETURN(f->name, Name());
        f->kids.push_back(std::move(e));
        if (IsOp("(")) {
          ++p_;
          WS_RETURN_IF_ERROR(Arguments(*f));
        }
        e = std::move(f);
      } else if (IsName("is")) {
        ++p_;
        auto t = Make(Expr::Kind::kTest);
        if (IsName("not")) {
          t->negate = true;
          ++p_;
        }
        if (IsName("none")) {  // a keyword, not a name
          ++p_;
          t->name = "none";
        } else {
          WS_ASSIGN_OR_RETURN(t->name, Name());
        }
        t->kids.push_back(std::move(e));
        e = std::move(t);
      } else {
        return e;
      }
    }
  }
  StatusOr<std::unique_ptr<Expr>> Primary() {
    const Token& tok = Peek();
    if (tok.kind == Token::kInt || tok.kind == Token::kFloat || tok.kind == Token::kString) {
      auto e = Make(Expr::Kind::kLiteral);
      e->value = tok.value;
      ++p_;
      while (Peek().kind == Token::kString) {  // 'a' 'b' is 'ab', as in Python
        e->value = Value(e->value.s() + Peek().value.s());
        ++p_;
      }
      return e;
    }
    if (tok.kind == Token::kName) {
      auto e = Make(Expr::Kind::kLiteral);
      if (tok.text == "true" || tok.text == "True")
        e->value = Value(true);
      else if (tok.text == "false" || tok.text == "False")
        e->value = Value(false);
      else if (tok.text == "none" || tok.text == "None")
        e->value = Value::None();
      else {
        e->kind = Expr::Kind::kName;
        e->name = tok.text;
      }
      ++p_;
      return e;
    }
    if (IsOp("(")) {  // grouping, or a tuple (a list here)
      ++p_;
      WS_ASSIGN_OR_RETURN(auto first, Parse());
      if (!IsOp(",")) {
        WS_RETURN_IF_ERROR(Expect(")"));
        return first;
      }
      auto list = Make(Expr::Kind::kList);
      list->kids.push_back(std::move(first));
      while (IsOp(",")) {
        ++p_;
        if (IsOp(")")) break;
        WS_ASSIGN_OR_RETURN(auto item, Parse());
        list->kids.push_back(std::move(item));
      }
      WS_RETURN_IF_ERROR(Expect(")"));
      return list;
    }
    if (IsOp("[")) {
      ++p_;
      auto list = Make(Expr::Kind::kList);
      while (!IsOp("]")) {
        WS_ASSIGN_OR_RETURN(auto item, Parse());
        list->kids.push_back(std::move(item));
        if (!IsOp(",")) break;
        ++p_;
      }
      WS_RETURN_IF_ERROR(Expect("]"));
      return list;
    }
    if (IsOp("{")) {
      ++p_;
      auto dict = Make(Expr::Kind::kDict);
      while (!IsOp("}")) {
        if (Peek().kind != Token::kString) return Bad("dict keys must be strings");
        dict->keys.push_back(Peek().value.s());
        ++p_;
        WS_RETURN_IF_ERROR(Expect(":"));
        WS_ASSIGN_OR_RETURN(auto item, Parse());
        dict->kids.push_back(std::move(item));
        if (!IsOp(",")) break;
        ++p_;
      }
      WS_RETURN_IF_ERROR(Expect("}"));
      return dict;
    }
    if (tok.kind == Token::kEnd) return Bad("expected an expression");
    return Bad(StrCat("unexpected '", tok.text, "'"));
  }

  std::vector<Token> t_;
  size_t p_ = 0;
  const std::string& file_;
  const std::string& source_;
};

// ---- statements and the tree ----------------------------------------------------------------

class TreeParser {
 public:
  TreeParser(std::vector<Segment> segs, const std::string& file)
      : segs_(std::move(segs)), file_(file) {}

  // Parses nodes until a statement whose keyword is in `ends` (returned in *end) or the end of
  // the template (an error when `ends` is not empty: `opener` is never closed).
  Status Block(std::vector<std::unique_ptr<Node>>& out, const std::vector<std::string>& ends,
               const Segment* opener, std::string* end, ExprParser** end_parser) {
    while (i_ < segs_.size()) {
      const Segment& seg = segs_[i_++];
      auto node = std::make_unique<Node>();
      node->line = seg.line;
      node->source = seg.source;
      if (seg.kind == Segment::kText) {
        node->text = seg.text;
        out.push_back(std::move(node));
        continue;
      }
      WS_ASSIGN_OR_RETURN(auto tokens, Tokenize(seg.text, seg.line, file_, seg.source));
      parsers_.push_back(std::make_unique<ExprParser>(std::move(tokens), file_, seg.source));
      ExprParser& p = *parsers_.back();
      if (seg.kind == Segment::kOutput) {
        node->kind = Node::Kind::kOutput;
        WS_ASSIGN_OR_RETURN(node->expr, p.Parse());
        WS_RETURN_IF_ERROR(p.ExpectEnd());
        out.push_back(std::move(node));
        continue;
      }
      if (p.Peek().kind != Token::kName) {
        return Error(file_, seg.line, StrCat("a tag must start with a name: '", seg.source, "'"));
      }
      const std::string tag = p.Peek().text;
      if (std::find(ends.begin(), ends.end(), tag) != ends.end()) {
        p.Name().IgnoreError();
        *end = tag;
        *end_parser = &p;
        return absl::OkStatus();
      }
      p.Name().IgnoreError();
      if (tag == "set") {
        WS_ASSIGN_OR_RETURN(std::string name, p.Name());
        node->names = {name};
        if (p.AtEnd()) {
          node->kind = Node::Kind::kSetBlock;
          node->bodies.resize(1);
          WS_RETURN_IF_ERROR(Close(node->bodies[0], {"endset"}, seg, nullptr));
        } else {
          node->kind = Node::Kind::kSet;
          WS_RETURN_IF_ERROR(p.Expect("="));
          WS_ASSIGN_OR_RETURN(node->expr, p.Parse());
          WS_RETURN_IF_ERROR(p.ExpectEnd());
        }
      } else if (tag == "do") {
        node->kind = Node::Kind::kDo;
        WS_ASSIGN_OR_RETURN(node->expr, p.Parse());
        WS_RETURN_IF_ERROR(p.ExpectEnd());
      } else if (tag == "for") {
        node->kind = Node::Kind::kFor;
        while (true) {
          WS_ASSIGN_OR_RETURN(std::string name, p.Name());
          node->names.push_back(name);
          if (!p.IsOp(",")) break;
          p.Expect(",").IgnoreError();
        }
        if (!p.IsName("in")) return p.Bad("expected 'in'");
        p.Name().IgnoreError();
        WS_ASSIGN_OR_RETURN(node->expr, p.Parse());
        WS_RETURN_IF_ERROR(p.ExpectEnd());
        node->bodies.resize(1);
        std::string end;
        WS_RETURN_IF_ERROR(Close(node->bodies[0], {"else", "endfor"}, seg, &end));
        if (end == "else") {
          node->bodies.resize(2);
          WS_RETURN_IF_ERROR(Close(node->bodies[1], {"endfor"}, seg, nullptr));
        }
      } else if (tag == "if") {
        node->kind = Node::Kind::kIf;
        WS_ASSIGN_OR_RETURN(auto cond, p.Parse());
        WS_RETURN_IF_ERROR(p.ExpectEnd());
        node->conditions.push_back(std::move(cond));
        while (true) {
          node->bodies.emplace_back();
          std::string end;
          ExprParser* ep = nullptr;
          WS_RETURN_IF_ERROR(
              Block(node->bodies.back(), {"elif", "else", "endif"}, &seg, &end, &ep));
          if (end.empty()) return NeverClosed(seg, "endif");
          if (end == "endif") {
            WS_RETURN_IF_ERROR(ep->ExpectEnd());
            break;
          }
          if (end == "else") {
            WS_RETURN_IF_ERROR(ep->ExpectEnd());
            node->bodies.emplace_back();
            WS_RETURN_IF_ERROR(Close(node->bodies.back(), {"endif"}, seg, nullptr));
            break;
          }
          WS_ASSIGN_OR_RETURN(auto elif, ep->Parse());
          WS_RETURN_IF_ERROR(ep->ExpectEnd());
          node->conditions.push_back(std::move(elif));
        }
      } else if (tag == "macro") {
        node->kind = Node::Kind::kMacro;
        WS_ASSIGN_OR_RETURN(std::string name, p.Name());
        node->names.push_back(name);
        WS_RETURN_IF_ERROR(p.Expect("("));
        while (!p.IsOp(")")) {
          WS_ASSIGN_OR_RETURN(std::string param, p.Name());
          node->names.push_back(param);
          std::unique_ptr<Expr> def;
          if (p.IsOp("=")) {
            p.Expect("=").IgnoreError();
            WS_ASSIGN_OR_RETURN(def, p.Parse());
          }
          node->defaults.push_back(std::move(def));
          if (!p.IsOp(",")) break;
          p.Expect(",").IgnoreError();
        }
        WS_RETURN_IF_ERROR(p.Expect(")"));
        WS_RETURN_IF_ERROR(p.ExpectEnd());
        node->bodies.resize(1);
        WS_RETURN_IF_ERROR(Close(node->bodies[0], {"endmacro"}, seg, nullptr));
      } else if (tag == "endfor" || tag == "endif" || tag == "endmacro" || tag == "endset" ||
                 tag == "else" || tag == "elif") {
        return Error(
            file_, seg.line,
            StrCat("unexpected '", seg.source, "'",
                   opener ? StrCat(" inside '", opener->source, "' (line ", opener->line, ")")
                          : std::string(" (nothing open to close)")));
      } else {
        return Error(file_, seg.line,
                     StrCat("unknown tag '", tag, "' in '", seg.source,
                            "' (supported: set, for, if, macro, do; see docs/formats/models.md)"));
      }
      out.push_back(std::move(node));
    }
    if (!ends.empty()) return NeverClosed(*opener, ends.back());
    return absl::OkStatus();
  }

 private:
  Status NeverClosed(const Segment& opener, const std::string& end) {
    return Error(file_, opener.line,
                 StrCat("'", opener.source, "' is never closed (expected '{% ", end, " %}')"));
  }
  Status Close(std::vector<std::unique_ptr<Node>>& body, const std::vector<std::string>& ends,
               const Segment& opener, std::string* which) {
    std::string end;
    ExprParser* ep = nullptr;
    WS_RETURN_IF_ERROR(Block(body, ends, &opener, &end, &ep));
    if (end.empty()) return NeverClosed(opener, ends.back());
    if (ep->Peek().kind == Token::kName && (end == "endmacro" || end == "endset")) {
      ep->Name().IgnoreError();  // `{% endmacro name %}` is allowed
    }
    WS_RETURN_IF_ERROR(ep->ExpectEnd());
    if (which) *which = end;
    return absl::OkStatus();
  }

  std::vector<Segment> segs_;
  size_t i_ = 0;
  const std::string& file_;
  std::vector<std::unique_ptr<ExprParser>> parsers_;
};

}  // namespace

StatusOr<std::shared_ptr<const Template>> Template::Parse(const std::string& source,
                                                          const std::string& file) {
  WS_ASSIGN_OR_RETURN(auto segs, Lex(source, file));
  std::shared_ptr<Template> t(new Template());
  t->file_ = file;
  TreeParser parser(std::move(segs), t->file_);
  std::string end;
  WS_RETURN_IF_ERROR(parser.Block(t->nodes_, {}, nullptr, &end, nullptr));
  return std::shared_ptr<const Template>(std::move(t));
}

}  // namespace watershed::transform::jinja
