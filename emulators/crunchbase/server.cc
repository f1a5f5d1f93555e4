// emulators/crunchbase/server.cc — see server.h.
//
// This file is the adapter for cpp-httplib and for nlohmann-json request parsing: exceptions
// from either are caught here and become HTTP errors. Layout: small helpers -> request parsing
// (field lists, predicates, order) -> endpoint handlers -> replay -> the request pipeline (key,
// rate limit, slowness, faults, statistics) -> Emulator and Serve.
// Over 600 lines on purpose: it is the one adapter for cpp-httplib and nlohmann-json (every
// exception of theirs is caught here), and the endpoints share its request pipeline.
#include "emulators/crunchbase/server.h"

#include <dirent.h>
#include <httplib.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <shared_mutex>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "watershed/base/strings.h"

namespace watershed::emulators::crunchbase {

namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr size_t kInlineCardLimit = 100;
constexpr int kMaxSearchLimit = 1000;
constexpr int kDefaultSearchLimit = 50;
constexpr int kMaxCardLimit = 100;
constexpr int kMaxAutocompleteLimit = 25;
constexpr int kDefaultAutocompleteLimit = 10;
constexpr int kMaxDeletedLimit = 1000;
constexpr int kDefaultDeletedLimit = 100;

const char kNotFound[] = R"({"error":"requested resource could not be found","code":"CS404"})";
const char kUnauthorized[] =
    "{\"error\":\"missing or invalid user key (X-cb-user-key header or user_key parameter)\","
    "\"code\":\"LA401\"}";

// A client error answered as the API does: 400 with an array of messages.
struct ApiError {
  int status = 400;
  std::string body;
};

ApiError BadRequest(std::string_view message, std::string_view code = "MD100",
                    std::string_view entity_def_id = {}, std::string_view field_id = {}) {
  ApiError e;
  JsonWriter w(&e.body);
  w.BeginArray();
  w.BeginObject();
  w.Key("message");
  w.String(message);
  w.Key("code");
  w.String(code);
  if (!entity_def_id.empty()) {
    w.Key("entity_def_id");
    w.String(entity_def_id);
  }
  if (!field_id.empty()) {
    w.Key("field_id");
    w.String(field_id);
    if (code == "MD403") {
      w.Key("entitlement_ids");
      w.BeginArray();
      w.EndArray();
    }
  }
  w.EndObject();
  w.EndArray();
  return e;
}

ApiError NotFound() { return ApiError{404, kNotFound}; }

void SetJson(httplib::Response& res, int status, std::string body) {
  res.status = status;
  res.body = std::move(body);
  res.set_header("Content-Type", "application/json");
}

std::vector<std::string> SplitCommas(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string_view::npos) end = s.size();
    std::string_view part = s.substr(start, end - start);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    if (!part.empty()) out.emplace_back(part);
    start = end + 1;
  }
  return out;
}

// All comma-separated values of a (possibly repeated) query parameter.
std::vector<std::string> ParamList(const httplib::Request& req, const std::string& name) {
  std::vector<std::string> out;
  auto range = req.params.equal_range(name);
  for (auto it = range.first; it != range.second; ++it) {
    for (std::string& v : SplitCommas(it->second)) out.push_back(std::move(v));
  }
  return out;
}

std::optional<int> ParseInt(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  int v = 0;
  bool neg = false;
  size_t i = 0;
  if (s[0] == '-') {
    neg = true;
    i = 1;
  }
  if (i == s.size()) return std::nullopt;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  return neg ? -v : v;
}

double CurrencyRate(std::string_view currency) {
  std::string c = ToLower(currency);
  if (c == "eur") return 1.1;
  if (c == "gbp") return 1.27;
  return 1.0;
}

// ---------------------------------------------------------------------------------------------
// Request parsing.

class FieldChecker {
 public:
  FieldChecker(const Dataset& data, const std::unordered_set<std::string>& unlicensed)
      : data_(data), unlicensed_(unlicensed) {}

  // Resolves field ids against a collection; unlicensed or unknown ids are errors.
  std::optional<ApiError> ResolveFields(Collection c, const std::vector<std::string>& names,
                                        std::string_view verb,
                                        std::vector<const FieldDef*>* out) const {
    for (const std::string& name : names) {
      if (std::optional<ApiError> e = CheckField(c, name, verb)) return e;
      const FieldDef* f = data_.FindField(c, name);
      if (std::find(out->begin(), out->end(), f) == out->end()) out->push_back(f);
    }
    return std::nullopt;
  }

  std::optional<ApiError> CheckField(Collection c, const std::string& name,
                                     std::string_view verb) const {
    if (unlicensed_.count(name) > 0) {
      return BadRequest(StrCat("insufficient permissions to ", verb, " field ", name), "MD403",
                        EntityDefId(c), name);
    }
    if (data_.FindField(c, name) == nullptr) {
      return BadRequest(StrCat("unknown field_id '", name, "' for entity_def_id ", EntityDefId(c)),
                        "MD100", EntityDefId(c), name);
    }
    return std::nullopt;
  }

 private:
  const Dataset& data_;
  const std::unordered_set<std::string>& unlicensed_;
};

enum class Op {
  kEq,
  kNotEq,
  kGt,
  kGte,
  kLt,
  kLte,
  kBetween,
  kIncludes,
  kNotIncludes,
  kContains,
  kStarts,
  kBlank
};

std::optional<Op> ParseOp(std::string_view s) {
  static const std::pair<std::string_view, Op> kOps[] = {
      {"eq", Op::kEq},
      {"not_eq", Op::kNotEq},
      {"gt", Op::kGt},
      {"gte", Op::kGte},
      {"lt", Op::kLt},
      {"lte", Op::kLte},
      {"between", Op::kBetween},
      {"includes", Op::kIncludes},
      {"not_includes", Op::kNotIncludes},
      {"contains", Op::kContains},
      {"starts", Op::kStarts},
      {"blank", Op::kBlank},
  };
  for (const auto& [name, op] : kOps) {
    if (s == name) return op;
  }
  return std::nullopt;
}

struct Predicate {
  const FieldDef* field = nullptr;
  Op op = Op::kEq;
  std::vector<double> numbers;     // numeric kinds
  std::vector<std::string> texts;  // lowercase, for text and list kinds
};

bool IsNumeric(FieldKind k) {
  return k == FieldKind::kNumber || k == FieldKind::kBool || k == FieldKind::kTime ||
         k == FieldKind::kMoney;
}

std::optional<ApiError> ParseValue(const FieldDef& f, const Json& v, Predicate* p) {
  auto bad = [&](std::string_view why) {
    return BadRequest(StrCat("invalid value for field ", f.name, ": ", why));
  };
  if (IsNumeric(f.kind)) {
    double n = 0;
    if (f.kind == FieldKind::kTime) {
      if (v.is_string()) {
        std::optional<int64_t> t = ParseTimestamp(v.get<std::string>());
        if (!t) return bad("expected a date");
        n = static_cast<double>(*t);
      } else if (v.is_number_integer() && v.get<int64_t>() < 10000) {  // a year
        n = static_cast<double>(*ParseTimestamp(StrCat(v.get<int64_t>())));
      } else {
        return bad("expected a date");
      }
    } else if (f.kind == FieldKind::kMoney) {
      if (v.is_object() && v.contains("value") && v["value"].is_number()) {
        std::string currency = v.value("currency", std::string("usd"));
        n = v["value"].get<double>() * CurrencyRate(currency);
      } else if (v.is_number()) {
        n = v.get<double>();
      } else {
        return bad("expected {\"value\": number, \"currency\": \"usd\"}");
      }
    } else if (v.is_boolean()) {
      n = v.get<bool>() ? 1 : 0;
    } else if (v.is_number()) {
      n = v.get<double>();
    } else if (v.is_string()) {
      std::string s = v.get<std::string>();
      if (s == "true" || s == "false") {
        n = s == "true" ? 1 : 0;
      } else {
        char* end = nullptr;
        n = std::strtod(s.c_str(), &end);
        if (s.empty() || *end != '\0') return bad("expected a number");
      }
    } else {
      return bad("expected a number");
    }
    p->numbers.push_back(n);
    return std::nullopt;
  }
  if (v.is_string()) {
    p->texts.push_back(ToLower(v.get<std::string>()));
  } else if (v.is_number() || v.is_boolean()) {
    p->texts.push_back(ToLower(v.dump()));
  } else if (v.is_object() && v.contains("uuid") && v["uuid"].is_string()) {
    p->texts.push_back(ToLower(v["uuid"].get<std::string>()));
  } else {
    return bad("expected a string");
  }
  return std::nullopt;
}

bool TextMatches(Op op, std::string_view lower_item, const std::string& value) {
  switch (op) {
    case Op::kContains:
      return lower_item.find(value) != std::string_view::npos;
    case Op::kStarts:
      return lower_item.starts_with(value);
    default:
      return lower_item == value;
  }
}

bool Evaluate(const Predicate& p, const FieldValue& v) {
  if (p.op == Op::kBlank) return !v.present;
  bool negate = p.op == Op::kNotEq || p.op == Op::kNotIncludes;
  if (!v.present) return negate;
  const FieldKind kind = p.field->kind;
  if (IsNumeric(kind)) {
    const double x = v.number;
    const auto& n = p.numbers;
    switch (p.op) {
      case Op::kGt:
        return x > n[0];
      case Op::kGte:
        return x >= n[0];
      case Op::kLt:
        return x < n[0];
      case Op::kLte:
        return x <= n[0];
      case Op::kBetween:
        return x >= n[0] && x <= n[1];
      default: {
        bool any = std::find(n.begin(), n.end(), x) != n.end();
        return negate ? !any : any;
      }
    }
  }
  if (kind == FieldKind::kString && (p.op == Op::kGt || p.op == Op::kGte || p.op == Op::kLt ||
                                     p.op == Op::kLte || p.op == Op::kBetween)) {
    std::string x = ToLower(v.text);
    switch (p.op) {
      case Op::kGt:
        return x > p.texts[0];
      case Op::kGte:
        return x >= p.texts[0];
      case Op::kLt:
        return x < p.texts[0];
      case Op::kLte:
        return x <= p.texts[0];
      default:
        return x >= p.texts[0] && x <= p.texts[1];
    }
  }
  bool any = false;
  if (kind == FieldKind::kString) {
    std::string x = ToLower(v.text);
    for (const std::string& t : p.texts) any = any || TextMatches(p.op, x, t);
  } else {
    for (const std::string& item : v.items) {
      std::string x = ToLower(item);
      for (const std::string& t : p.texts) any = any || TextMatches(p.op, x, t);
      if (any) break;
    }
  }
  return negate ? !any : any;
}

struct OrderClause {
  const FieldDef* field = nullptr;
  bool desc = false;
  bool nulls_first = false;
};

struct SearchRequest {
  Collection collection = Collection::kOrganizations;
  std::vector<const FieldDef*> fields;
  std::vector<Predicate> predicates;
  std::vector<OrderClause> order;
  int limit = kDefaultSearchLimit;
  std::optional<EntityRef> after;
};

std::optional<ApiError> ParseSearch(const Dataset& data, const FieldChecker& checker,
                                    const Json& body, SearchRequest* s) {
  const Collection c = s->collection;
  const std::string_view def = EntityDefId(c);
  if (!body.is_object()) return BadRequest("request body must be a JSON object");
  if (body.contains("field_ids")) {
    const Json& f = body["field_ids"];
    std::vector<std::string> names;
    if (f.is_string()) {
      names = SplitCommas(f.get<std::string>());
    } else if (f.is_array()) {
      for (const Json& n : f) names.push_back(n.get<std::string>());
    } else {
      return BadRequest("field_ids must be an array of strings");
    }
    if (auto e = checker.ResolveFields(c, names, "read", &s->fields)) return e;
  }
  if (body.contains("query")) {
    const Json& q = body["query"];
    if (!q.is_array()) return BadRequest("query must be an array of predicates");
    for (const Json& item : q) {
      if (!item.is_object()) return BadRequest("each query item must be an object");
      std::string type = item.value("type", std::string("predicate"));
      if (type != "predicate") {
        return BadRequest(StrCat("unsupported query type '", type, "'"));
      }
      std::string field_id = item.value("field_id", std::string());
      if (auto e = checker.CheckField(c, field_id, "filter")) return e;
      Predicate p;
      p.field = data.FindField(c, field_id);
      std::string op_name = item.value("operator_id", std::string());
      std::optional<Op> op = ParseOp(op_name);
      if (!op) {
        return BadRequest(StrCat("unknown operator_id '", op_name, "'"), "MD100", def, field_id);
      }
      p.op = *op;
      Json values = item.contains("values") ? item["values"] : Json::array();
      if (!values.is_array()) values = Json::array({values});
      for (const Json& v : values) {
        if (auto e = ParseValue(*p.field, v, &p)) return e;
      }
      size_t n = IsNumeric(p.field->kind) ? p.numbers.size() : p.texts.size();
      size_t need = p.op == Op::kBetween ? 2 : p.op == Op::kBlank ? 0 : 1;
      bool exact = p.op == Op::kBetween || p.op == Op::kGt || p.op == Op::kGte || p.op == Op::kLt ||
                   p.op == Op::kLte;
      if (n < need || (exact && n != need)) {
        return BadRequest(StrCat("operator ", op_name, " on field ", field_id, " needs ", need,
                                 need == 1 ? " value" : " values"),
                          "MD100", def, field_id);
      }
      if ((p.field->kind == FieldKind::kIdentifiers || p.field->kind == FieldKind::kStrings) &&
          exact) {
        return BadRequest(StrCat("operator ", op_name, " does not apply to field ", field_id),
                          "MD100", def, field_id);
      }
      s->predicates.push_back(std::move(p));
    }
  }
  if (body.contains("order")) {
    const Json& o = body["order"];
    if (!o.is_array()) return BadRequest("order must be an array");
    for (const Json& item : o) {
      std::string field_id = item.value("field_id", std::string());
      if (auto e = checker.CheckField(c, field_id, "sort")) return e;
      OrderClause clause;
      clause.field = data.FindField(c, field_id);
      if (!clause.field->sortable) {
        return BadRequest(StrCat("field ", field_id, " cannot be sorted"), "MD100", def, field_id);
      }
      std::string sort = item.value("sort", std::string("asc"));
      if (sort != "asc" && sort != "desc") {
        return BadRequest(StrCat("sort must be asc or desc, not '", sort, "'"));
      }
      clause.desc = sort == "desc";
      clause.nulls_first = item.value("nulls", std::string("last")) == "first";
      s->order.push_back(clause);
    }
  }
  if (body.contains("limit")) {
    const Json& l = body["limit"];
    if (!l.is_number_integer()) return BadRequest("limit must be an integer");
    int64_t limit = l.get<int64_t>();
    if (limit < 0 || limit > kMaxSearchLimit) {
      return BadRequest(StrCat("limit must be between 0 and ", kMaxSearchLimit, ", got ", limit));
    }
    s->limit = static_cast<int>(limit);
  }
  if (body.contains("after_id") && !body["after_id"].is_null()) {
    std::string after = body["after_id"].get<std::string>();
    std::optional<Uuid> u = Uuid::Parse(after);
    std::optional<EntityRef> ref = u ? data.FindAnyByUuid(c, *u) : std::nullopt;
    if (!ref) return BadRequest(StrCat("after_id ", after, " is not a known ", def, " uuid"));
    s->after = ref;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Endpoint handlers. Each writes a complete body or returns an ApiError.

struct SortCell {
  bool present = false;
  double number = 0;
  std::string text;
};

class Handlers {
 public:
  Handlers(const Dataset& data, const std::unordered_set<std::string>& unlicensed)
      : data_(data), checker_(data, unlicensed) {}

  std::optional<ApiError> Search(Collection c, const std::string& body_text, std::string* out) {
    if (c == Collection::kAddresses) return NotFound();
    Json body = Json::parse(body_text, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) return BadRequest("request body is not valid JSON");
    SearchRequest s;
    s.collection = c;
    if (auto e = ParseSearch(data_, checker_, body, &s)) return e;

    const uint32_t n = data_.Size(c);
    std::vector<uint32_t> matches;
    matches.reserve(data_.Count(c));
    for (uint32_t i = 0; i < n; ++i) {
      if (!data_.IsLive({c, i})) continue;
      bool ok = true;
      for (const Predicate& p : s.predicates) {
        if (!Evaluate(p, data_.Value(*p.field, i))) {
          ok = false;
          break;
        }
      }
      if (ok) matches.push_back(i);
    }
    const size_t count = matches.size();

    // Keys for ordering: one row of cells per candidate, then uuid as the tie-breaker.
    const size_t k = s.order.size();
    auto cells_of = [&](uint32_t i, SortCell* row) {
      for (size_t j = 0; j < k; ++j) {
        FieldValue v = data_.Value(*s.order[j].field, i);
        row[j].present = v.present;
        row[j].number = v.number;
        row[j].text = std::move(v.text);
      }
    };
    auto compare_rows = [&](const SortCell* a, Uuid ua, const SortCell* b, Uuid ub) {
      for (size_t j = 0; j < k; ++j) {
        const OrderClause& o = s.order[j];
        if (a[j].present != b[j].present) {
          bool a_first = a[j].present != o.nulls_first;
          return a_first ? -1 : 1;
        }
        if (!a[j].present) continue;
        int cmp = 0;
        if (IsNumeric(o.field->kind)) {
          cmp = a[j].number < b[j].number ? -1 : a[j].number > b[j].number ? 1 : 0;
        } else {
          int r = a[j].text.compare(b[j].text);
          cmp = r < 0 ? -1 : r > 0 ? 1 : 0;
        }
        if (cmp != 0) return o.desc ? -cmp : cmp;
      }
      return ua < ub ? -1 : ua > ub ? 1 : 0;
    };
    std::vector<SortCell> cells(matches.size() * k);
    std::vector<Uuid> uuids(matches.size());
    for (size_t m = 0; m < matches.size(); ++m) {
      uuids[m] = data_.UuidOf({c, matches[m]});
      if (k > 0) cells_of(matches[m], &cells[m * k]);
    }
    std::vector<uint32_t> order;  // positions into matches
    order.reserve(matches.size());
    if (s.after) {
      std::vector<SortCell> after_row(k);
      if (k > 0) cells_of(s.after->index, after_row.data());
      Uuid after_uuid = data_.UuidOf(*s.after);
      for (size_t m = 0; m < matches.size(); ++m) {
        if (compare_rows(k ? &cells[m * k] : nullptr, uuids[m], after_row.data(), after_uuid) > 0) {
          order.push_back(static_cast<uint32_t>(m));
        }
      }
    } else {
      for (size_t m = 0; m < matches.size(); ++m) order.push_back(static_cast<uint32_t>(m));
    }
    const size_t take = std::min(order.size(), static_cast<size_t>(s.limit));
    auto less = [&](uint32_t a, uint32_t b) {
      return compare_rows(k ? &cells[a * k] : nullptr, uuids[a], k ? &cells[b * k] : nullptr,
                          uuids[b]) < 0;
    };
    if (take < order.size()) {
      std::nth_element(order.begin(), order.begin() + take, order.end(), less);
      order.resize(take);
    }
    std::sort(order.begin(), order.end(), less);

    out->reserve(take * 512 + 64);
    JsonWriter w(out);
    w.BeginObject();
    w.Key("count");
    w.Int(static_cast<int64_t>(count));
    w.Key("entities");
    w.BeginArray();
    for (uint32_t m : order) {
      w.BeginObject();
      w.Key("uuid");
      w.Raw("\"");
      uuids[m].AppendTo(out);
      out->push_back('"');
      w.Key("properties");
      data_.WriteProperties({c, matches[m]}, s.fields, w);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return std::nullopt;
  }

  std::optional<ApiError> Entity(Collection c, const std::string& id, const httplib::Request& req,
                                 std::string* out) {
    std::optional<EntityRef> ref = data_.Find(c, id);
    if (!ref) return NotFound();
    std::vector<const FieldDef*> fields;
    if (auto e = checker_.ResolveFields(c, ParamList(req, "field_ids"), "read", &fields)) return e;
    std::vector<const CardDef*> cards;
    for (const std::string& name : ParamList(req, "card_ids")) {
      const CardDef* card = data_.FindCard(c, name);
      if (card == nullptr) return UnknownCard(c, name);
      if (std::find(cards.begin(), cards.end(), card) == cards.end()) cards.push_back(card);
    }
    JsonWriter w(out);
    w.BeginObject();
    w.Key("properties");
    data_.WriteProperties(*ref, fields, w);
    if (!cards.empty()) {
      w.Key("cards");
      w.BeginObject();
      for (const CardDef* card : cards) {
        std::vector<uint32_t> items = data_.CardItems(*card, ref->index);
        if (items.size() > kInlineCardLimit) items.resize(kInlineCardLimit);
        w.Key(card->name);
        WriteCardItems(*card, items, {}, w);
      }
      w.EndObject();
    }
    w.EndObject();
    return std::nullopt;
  }

  std::optional<ApiError> Card(Collection c, const std::string& id, const std::string& card_id,
                               const httplib::Request& req, std::string* out) {
    std::optional<EntityRef> ref = data_.Find(c, id);
    if (!ref) return NotFound();
    const CardDef* card = data_.FindCard(c, card_id);
    if (card == nullptr) return UnknownCard(c, card_id);
    std::vector<const FieldDef*> fields;
    if (auto e = checker_.ResolveFields(c, ParamList(req, "field_ids"), "read", &fields)) return e;
    std::vector<const FieldDef*> card_fields;
    if (auto e = checker_.ResolveFields(card->item_collection, ParamList(req, "card_field_ids"),
                                        "read", &card_fields)) {
      return e;
    }
    int limit = kMaxCardLimit;
    if (req.has_param("limit")) {
      std::optional<int> l = ParseInt(req.get_param_value("limit"));
      if (!l || *l < 1 || *l > kMaxCardLimit) {
        return BadRequest(StrCat("limit must be between 1 and ", kMaxCardLimit));
      }
      limit = *l;
    }
    std::vector<uint32_t> items = data_.CardItems(*card, ref->index);
    if (req.has_param("after_id")) {
      std::optional<Uuid> after = Uuid::Parse(req.get_param_value("after_id"));
      if (!after) return BadRequest("after_id must be a uuid");
      auto first = std::find_if(items.begin(), items.end(), [&](uint32_t i) {
        return data_.UuidOf({card->item_collection, i}) > *after;
      });
      items.erase(items.begin(), first);
    }
    if (items.size() > static_cast<size_t>(limit)) items.resize(limit);
    JsonWriter w(out);
    w.BeginObject();
    w.Key("properties");
    data_.WriteProperties(*ref, fields, w);
    w.Key("cards");
    w.BeginObject();
    w.Key(card->name);
    WriteCardItems(*card, items, card_fields, w);
    w.EndObject();
    w.EndObject();
    return std::nullopt;
  }

  std::optional<ApiError> Autocomplete(const httplib::Request& req, std::string* out) {
    if (!req.has_param("query")) return BadRequest("query is required");
    std::string query = ToLower(req.get_param_value("query"));
    int limit = kDefaultAutocompleteLimit;
    if (req.has_param("limit")) {
      std::optional<int> l = ParseInt(req.get_param_value("limit"));
      if (!l || *l < 1 || *l > kMaxAutocompleteLimit) {
        return BadRequest(StrCat("limit must be between 1 and ", kMaxAutocompleteLimit));
      }
      limit = *l;
    }
    std::vector<Collection> collections;
    std::vector<std::string> names = ParamList(req, "collection_ids");
    if (names.empty()) names = {"organizations", "people"};
    for (const std::string& name : names) {
      std::optional<Collection> c = ParseCollection(name);
      if (!c || (*c != Collection::kOrganizations && *c != Collection::kPeople)) {
        return BadRequest(StrCat("autocomplete does not support collection '", name, "'"));
      }
      collections.push_back(*c);
    }
    struct Hit {
      int group;  // 0 prefix, 1 contains
      double rank;
      Uuid uuid;
      EntityRef ref;
    };
    std::vector<Hit> hits;
    for (Collection c : collections) {
      const FieldDef* rank =
          data_.FindField(c, c == Collection::kOrganizations ? "rank_org" : "rank_person");
      const uint32_t n = data_.Size(c);
      for (uint32_t i = 0; i < n; ++i) {
        if (!data_.IsLive({c, i})) continue;
        std::string_view name = data_.LowerName({c, i});
        size_t pos = name.find(query);
        if (pos == std::string_view::npos) continue;
        hits.push_back(
            {pos == 0 ? 0 : 1, data_.Value(*rank, i).number, data_.UuidOf({c, i}), {c, i}});
      }
    }
    const size_t take = std::min(hits.size(), static_cast<size_t>(limit));
    auto less = [](const Hit& a, const Hit& b) {
      if (a.group != b.group) return a.group < b.group;
      if (a.rank != b.rank) return a.rank < b.rank;
      return a.uuid < b.uuid;
    };
    std::partial_sort(hits.begin(), hits.begin() + take, hits.end(), less);
    JsonWriter w(out);
    w.BeginObject();
    w.Key("count");
    w.Int(static_cast<int64_t>(hits.size()));
    w.Key("entities");
    w.BeginArray();
    for (size_t h = 0; h < take; ++h) {
      const EntityRef ref = hits[h].ref;
      w.BeginObject();
      for (const char* name : {"facet_ids", "identifier", "short_description"}) {
        data_.WriteField(*data_.FindField(ref.collection, name), ref.index, w);
      }
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return std::nullopt;
  }

  std::optional<ApiError> Deleted(const httplib::Request& req, std::optional<Collection> only,
                                  std::string* out) {
    std::vector<Collection> collections;
    if (only) {
      collections.push_back(*only);
    } else {
      for (const std::string& name : ParamList(req, "collection_ids")) {
        std::optional<Collection> c = ParseCollection(name);
        if (!c || *c == Collection::kAddresses) {
          return BadRequest(StrCat("unknown collection '", name, "'"));
        }
        collections.push_back(*c);
      }
    }
    int limit = kDefaultDeletedLimit;
    if (req.has_param("limit")) {
      std::optional<int> l = ParseInt(req.get_param_value("limit"));
      if (!l || *l < 1 || *l > kMaxDeletedLimit) {
        return BadRequest(StrCat("limit must be between 1 and ", kMaxDeletedLimit));
      }
      limit = *l;
    }
    bool desc = true;
    if (req.has_param("deleted_at_order")) {
      std::string o = req.get_param_value("deleted_at_order");
      if (o != "asc" && o != "desc") return BadRequest("deleted_at_order must be asc or desc");
      desc = o == "desc";
    }
    std::vector<const DeletedEntity*> list;
    for (const DeletedEntity& e : data_.deleted()) {
      if (collections.empty() ||
          std::find(collections.begin(), collections.end(), e.collection) != collections.end()) {
        list.push_back(&e);
      }
    }
    if (desc) std::reverse(list.begin(), list.end());
    size_t start = 0;
    if (req.has_param("after_id")) {
      std::optional<Uuid> after = Uuid::Parse(req.get_param_value("after_id"));
      auto it = std::find_if(list.begin(), list.end(),
                             [&](const DeletedEntity* e) { return after && e->uuid == *after; });
      if (it == list.end()) return BadRequest("after_id is not a deleted entity of this listing");
      start = static_cast<size_t>(it - list.begin()) + 1;
    }
    JsonWriter w(out);
    w.BeginArray();
    for (size_t i = start; i < list.size() && i < start + static_cast<size_t>(limit); ++i) {
      w.BeginObject();
      w.Key("uuid");
      w.String(list[i]->uuid.ToString());
      w.Key("entity_def_id");
      w.String(EntityDefId(list[i]->collection));
      w.Key("deleted_at");
      w.String(FormatTimestamp(list[i]->deleted_at));
      w.EndObject();
    }
    w.EndArray();
    return std::nullopt;
  }

 private:
  ApiError UnknownCard(Collection c, const std::string& name) const {
    return BadRequest(StrCat("unknown card_id '", name, "' for entity_def_id ", EntityDefId(c)),
                      "MD100", EntityDefId(c));
  }

  void WriteCardItems(const CardDef& card, const std::vector<uint32_t>& items,
                      const std::vector<const FieldDef*>& fields, JsonWriter& w) const {
    w.BeginArray();
    for (uint32_t i : items) data_.WriteProperties({card.item_collection, i}, fields, w);
    w.EndArray();
  }

  const Dataset& data_;
  FieldChecker checker_;
};

// ---------------------------------------------------------------------------------------------
// Replay of recorded interactions.

std::string UrlDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() &&
               std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string StripApiPrefix(std::string path) {
  for (std::string_view prefix : {"/api/v4", "/v4/data"}) {
    if (path.starts_with(prefix)) return path.substr(prefix.size());
  }
  return path;
}

using Params = std::vector<std::pair<std::string, std::string>>;

Params NormalizeParams(Params params) {
  params.erase(std::remove_if(params.begin(), params.end(),
                              [](const auto& p) { return p.first == "user_key"; }),
               params.end());
  std::sort(params.begin(), params.end());
  return params;
}

struct Recording {
  std::string method;
  std::string path;  // without the API prefix
  Params params;     // normalized
  Json body;         // null for GET
  int status = 200;
  std::string response;  // serialized, in the recorded key order
  std::string source;    // file name, for the X-Emulator-Recording header
};

StatusOr<std::vector<Recording>> LoadRecordings(const std::string& dir) {
  std::vector<std::string> files;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return absl::NotFoundError(StrCat("replay_dir ", dir, " cannot be opened"));
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name.ends_with(".json")) files.push_back(name);
  }
  closedir(d);
  std::sort(files.begin(), files.end());
  std::vector<Recording> out;
  for (const std::string& name : files) {
    std::ifstream in(dir + "/" + name, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    nlohmann::ordered_json doc = nlohmann::ordered_json::parse(ss.str(), nullptr, false);
    if (doc.is_discarded() || !doc.contains("interactions") || !doc["interactions"].is_array()) {
      return absl::InvalidArgumentError(
          StrCat("replay file ", dir, "/", name, " is not {\"interactions\": [...]}"));
    }
    for (const auto& interaction : doc["interactions"]) {
      try {
        Recording r;
        const auto& req = interaction.at("request");
        const auto& res = interaction.at("response");
        r.method = req.at("method").get<std::string>();
        std::string uri = req.at("uri").get<std::string>();
        size_t scheme = uri.find("://");
        if (scheme != std::string::npos) {
          size_t slash = uri.find('/', scheme + 3);
          uri = slash == std::string::npos ? "/" : uri.substr(slash);
        }
        std::string query;
        size_t q = uri.find('?');
        if (q != std::string::npos) {
          query = uri.substr(q + 1);
          uri = uri.substr(0, q);
        }
        r.path = StripApiPrefix(UrlDecode(uri));
        size_t start = 0;
        while (start < query.size()) {
          size_t amp = query.find('&', start);
          if (amp == std::string::npos) amp = query.size();
          std::string_view part(query.data() + start, amp - start);
          size_t eq = part.find('=');
          std::string key = UrlDecode(part.substr(0, eq));
          std::string value = eq == std::string_view::npos ? "" : UrlDecode(part.substr(eq + 1));
          if (!key.empty()) r.params.emplace_back(key, value);
          start = amp + 1;
        }
        r.params = NormalizeParams(std::move(r.params));
        if (req.contains("body") && !req["body"].is_null())
          r.body = Json::parse(req["body"].dump());
        r.status = res.at("status").get<int>();
        r.response = res.contains("body") ? res["body"].dump() : "";
        r.source = name;
        out.push_back(std::move(r));
      } catch (const nlohmann::json::exception& e) {
        return absl::InvalidArgumentError(
            StrCat("replay file ", dir, "/", name, ": malformed interaction: ", e.what()));
      }
    }
  }
  return out;
}

const Recording* MatchRecording(const std::vector<Recording>& recordings,
                                const httplib::Request& req) {
  std::string path = StripApiPrefix(req.path);
  Params params(req.params.begin(), req.params.end());
  params = NormalizeParams(std::move(params));
  Json body;
  if (!req.body.empty()) body = Json::parse(req.body, nullptr, false);
  for (const Recording& r : recordings) {
    if (r.method != req.method || r.path != path || r.params != params) continue;
    if (r.body.is_null() ? !body.is_null() : body != r.body) continue;
    return &r;
  }
  return nullptr;
}

// Shuts down the server side of the connection a request arrived on: the client sees the
// connection close without any response. The socket is found by its two port numbers.
void DropConnection(const httplib::Request& req, int server_port) {
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return;
  while (dirent* e = readdir(d)) {
    std::optional<int> fd = ParseInt(e->d_name);
    if (!fd) continue;
    sockaddr_storage local{}, peer{};
    socklen_t local_len = sizeof(local), peer_len = sizeof(peer);
    if (getsockname(*fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0) continue;
    if (getpeername(*fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) continue;
    auto port_of = [](const sockaddr_storage& a) -> int {
      if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port);
      if (a.ss_family == AF_INET6) {
        return ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
      }
      return -1;
    };
    if (port_of(local) == server_port && port_of(peer) == req.remote_port) {
      ::shutdown(*fd, SHUT_RDWR);
      break;
    }
  }
  closedir(d);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The emulator.

struct Emulator::Impl {
  EmulatorOptions options;
  std::unique_ptr<Dataset> dataset;
  mutable std::shared_mutex data_mu;
  std::unordered_set<std::string> unlicensed;
  std::vector<Recording> recordings;
  bool replay = false;

  httplib::Server server;
  std::thread thread;
  int port = 0;
  bool stopped = false;
  std::mutex stop_mu;

  std::mutex fault_mu;
  std::mt19937_64 fault_rng;

  mutable std::mutex stats_mu;
  EmulatorStats stats;
  std::unordered_map<std::string, std::deque<Clock::time_point>> windows;
  std::unordered_map<std::string, std::deque<Clock::time_point>> arrivals;

  enum class Fault { kNone, k500, k503, kTruncate, kDrop };

  void Record(int status) {
    std::lock_guard<std::mutex> lock(stats_mu);
    ++stats.requests;
    ++stats.by_status[status];
  }

  // Sliding 60 s window per key. Returns 0 when admitted, else the seconds to wait.
  int Admit(const std::string& key) {
    std::lock_guard<std::mutex> lock(stats_mu);
    auto now = Clock::now();
    auto& arrived = arrivals[key];
    while (!arrived.empty() && now - arrived.front() >= std::chrono::seconds(60)) arrived.pop_front();
    arrived.push_back(now);
    stats.max_arrivals_in_window =
        std::max<int64_t>(stats.max_arrivals_in_window, static_cast<int64_t>(arrived.size()));
    auto& window = windows[key];
    while (!window.empty() && now - window.front() >= std::chrono::seconds(60)) window.pop_front();
    if (options.rate_limit_per_minute > 0 &&
        window.size() >= static_cast<size_t>(options.rate_limit_per_minute)) {
      ++stats.rate_limited;
      auto wait = window.front() + std::chrono::seconds(60) - now;
      double secs = std::chrono::duration<double>(wait).count();
      return std::max(1, static_cast<int>(std::ceil(secs)));
    }
    window.push_back(now);
    stats.max_requests_in_window =
        std::max<int64_t>(stats.max_requests_in_window, static_cast<int64_t>(window.size()));
    return 0;
  }

  Fault DrawFault() {
    if (options.fault_rate <= 0) return Fault::kNone;
    std::lock_guard<std::mutex> lock(fault_mu);
    double u = std::uniform_real_distribution<double>(0, 1)(fault_rng);
    if (u >= options.fault_rate) return Fault::kNone;
    switch (std::uniform_int_distribution<int>(0, 3)(fault_rng)) {
      case 0:
        return Fault::k500;
      case 1:
        return Fault::k503;
      case 2:
        return Fault::kTruncate;
      default:
        return Fault::kDrop;
    }
  }

  void CountFault() {
    std::lock_guard<std::mutex> lock(stats_mu);
    ++stats.faults_injected;
  }

  using Body = std::function<std::optional<ApiError>(Handlers&, std::string*)>;

  // The pipeline every API request goes through.
  void Api(const httplib::Request& req, httplib::Response& res, const Body& body) {
    std::string key = req.get_header_value("X-cb-user-key");
    if (key.empty()) key = req.get_param_value("user_key");
    if (key != options.api_key) {
      SetJson(res, 401, kUnauthorized);
      Record(401);
      return;
    }
    if (int retry_after = Admit(key); retry_after > 0) {
      SetJson(res, 429, R"({"error":"rate limit exceeded","code":"RL429"})");
      res.set_header("Retry-After", std::to_string(retry_after));
      Record(429);
      return;
    }
    if (options.slow_ms > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(options.slow_ms));
    Fault fault = DrawFault();
    if (fault != Fault::kNone) CountFault();
    switch (fault) {
      case Fault::k500:
        SetJson(res, 500, R"({"error":"internal server error","code":"CS500"})");
        Record(500);
        return;
      case Fault::k503:
        SetJson(res, 503, R"({"error":"service temporarily unavailable","code":"CS503"})");
        Record(503);
        return;
      case Fault::kDrop:
        DropConnection(req, port);
        res.status = 500;
        Record(0);
        return;
      default:
        break;
    }
    std::string out;
    std::optional<ApiError> error;
    try {
      std::shared_lock<std::shared_mutex> lock(data_mu);
      Handlers handlers(*dataset, unlicensed);
      error = body(handlers, &out);
    } catch (const nlohmann::json::exception& e) {
      error = BadRequest(StrCat("invalid request: ", e.what()));
    } catch (const std::exception& e) {
      error =
          ApiError{500, StrCat(R"({"error":"emulator bug: )", e.what(), R"(","code":"CS500"})")};
    }
    if (error) {
      SetJson(res, error->status, std::move(error->body));
    } else {
      SetJson(res, 200, std::move(out));
    }
    if (fault == Fault::kTruncate) {
      // Announce the full length, send half, then fail the write: the client sees a short body.
      auto full = std::make_shared<std::string>(std::move(res.body));
      res.body.clear();
      size_t length = full->size();
      res.set_content_provider(length, "application/json",
                               [full](size_t offset, size_t max, httplib::DataSink& sink) {
                                 size_t half = full->size() / 2;
                                 if (offset >= half) return false;
                                 sink.write(full->data() + offset, std::min(max, half - offset));
                                 return true;
                               });
    }
    Record(res.status);
  }

  void Replay(const httplib::Request& req, httplib::Response& res) {
    Api(req, res, [&](Handlers&, std::string* out) -> std::optional<ApiError> {
      const Recording* r = MatchRecording(recordings, req);
      if (r == nullptr) {
        std::string path = req.path;
        if (!req.params.empty()) {
          path += "?";
          bool first = true;
          for (const auto& [k, v] : req.params) {
            if (k == "user_key") continue;
            if (!first) path += "&";
            first = false;
            path += StrCat(k, "=", v);
          }
        }
        ApiError e{404, ""};
        JsonWriter w(&e.body);
        w.BeginObject();
        w.Key("error");
        w.String(StrCat("no recording matches ", req.method, " ", path));
        w.Key("code");
        w.String("CS404");
        w.EndObject();
        return e;
      }
      if (r->status != 200) return ApiError{r->status, r->response};
      *out = r->response;
      return std::nullopt;
    });
  }

  void Routes() {
    const std::string p = "(?:/api/v4|/v4/data)";
    auto& s = server;
    s.Post(p + "?/_emulator/mutate", [this](const httplib::Request& req, httplib::Response& res) {
      Json body = Json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
      if (body.is_discarded() || !body.is_object()) {
        SetJson(res, 400, BadRequest("body must be {\"update\": N, \"delete\": M}").body);
        return;
      }
      try {
        int update = body.value("update", 0);
        int remove = body.value("delete", 0);
        std::string now = body.value("now", std::string());
        if (!now.empty() && !ParseTimestamp(now)) {
          SetJson(res, 400, BadRequest("now must be YYYY-MM-DDTHH:MM:SSZ").body);
          return;
        }
        MutationResult r;
        {
          std::unique_lock<std::shared_mutex> lock(data_mu);
          r = dataset->Mutate(update, remove, now);
        }
        Json out = {{"updated", r.updated},
                    {"deleted", r.deleted},
                    {"cascade_updated", r.cascade_updated},
                    {"cascade_deleted", r.cascade_deleted}};
        SetJson(res, 200, out.dump());
      } catch (const nlohmann::json::exception& e) {
        SetJson(res, 400, BadRequest(StrCat("invalid mutate body: ", e.what())).body);
      }
    });
    s.Get(p + "?/_emulator/stats", [this](const httplib::Request&, httplib::Response& res) {
      SetJson(res, 200, StatsJson().dump());
    });
    if (replay) {
      auto replay_handler = [this](const httplib::Request& req, httplib::Response& res) {
        Replay(req, res);
      };
      s.Get(".*", replay_handler);
      s.Post(".*", replay_handler);
      return;
    }
    s.Get(p + "/entities/([^/]+)/([^/]+)",
          [this](const httplib::Request& req, httplib::Response& res) {
            std::string coll = req.matches[1], id = req.matches[2];
            Api(req, res, [&](Handlers& h, std::string* out) -> std::optional<ApiError> {
              std::optional<Collection> c = ParseCollection(coll);
              if (!c || coll != CollectionName(*c)) return NotFound();
              return h.Entity(*c, id, req, out);
            });
          });
    s.Get(p + "/entities/([^/]+)/([^/]+)/cards/([^/]+)",
          [this](const httplib::Request& req, httplib::Response& res) {
            std::string coll = req.matches[1], id = req.matches[2], card = req.matches[3];
            Api(req, res, [&](Handlers& h, std::string* out) -> std::optional<ApiError> {
              std::optional<Collection> c = ParseCollection(coll);
              if (!c || coll != CollectionName(*c)) return NotFound();
              return h.Card(*c, id, card, req, out);
            });
          });
    s.Post(p + "/searches/([^/]+)", [this](const httplib::Request& req, httplib::Response& res) {
      std::string coll = req.matches[1];
      Api(req, res, [&](Handlers& h, std::string* out) -> std::optional<ApiError> {
        std::optional<Collection> c = ParseCollection(coll);
        if (!c || coll != CollectionName(*c)) return NotFound();
        return h.Search(*c, req.body, out);
      });
    });
    s.Get(p + "/autocompletes", [this](const httplib::Request& req, httplib::Response& res) {
      Api(req, res, [&](Handlers& h, std::string* out) { return h.Autocomplete(req, out); });
    });
    s.Get(p + "/deleted_entities(?:/([^/]+))?",
          [this](const httplib::Request& req, httplib::Response& res) {
            std::string coll = req.matches.size() > 1 ? std::string(req.matches[1]) : "";
            Api(req, res, [&](Handlers& h, std::string* out) -> std::optional<ApiError> {
              std::optional<Collection> only;
              if (!coll.empty()) {
                only = ParseCollection(coll);
                if (!only || *only == Collection::kAddresses) return NotFound();
              }
              return h.Deleted(req, only, out);
            });
          });
    auto not_found = [this](const httplib::Request& req, httplib::Response& res) {
      Api(req, res, [](Handlers&, std::string*) -> std::optional<ApiError> { return NotFound(); });
    };
    s.Get(".*", not_found);
    s.Post(".*", not_found);
  }

  Json StatsJson() const {
    EmulatorStats st;
    {
      std::lock_guard<std::mutex> lock(stats_mu);
      st = stats;
    }
    Json by_status = Json::object();
    for (const auto& [status, n] : st.by_status) by_status[std::to_string(status)] = n;
    Json out = {{"requests", st.requests},
                {"by_status", by_status},
                {"faults_injected", st.faults_injected},
                {"rate_limited", st.rate_limited},
                {"max_requests_in_window", st.max_requests_in_window},
                {"max_arrivals_in_window", st.max_arrivals_in_window}};
    std::shared_lock<std::shared_mutex> lock(data_mu);
    Json counts = Json::object();
    for (int c = 0; c < kNumCollections; ++c) {
      auto coll = static_cast<Collection>(c);
      if (coll == Collection::kAddresses) continue;
      counts[std::string(CollectionName(coll))] = dataset->Count(coll);
    }
    out["live_entities"] = counts;
    out["deleted_entities"] = dataset->deleted().size();
    return out;
  }
};

Emulator::Emulator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Emulator::~Emulator() { Stop(); }

StatusOr<std::unique_ptr<Emulator>> Emulator::Start(const EmulatorOptions& options) {
  if (options.num_orgs < 1) return absl::InvalidArgumentError("num_orgs must be at least 1");
  if (options.fault_rate < 0 || options.fault_rate > 1) {
    return absl::InvalidArgumentError("fault_rate must be between 0 and 1");
  }
  if (options.api_key.empty()) return absl::InvalidArgumentError("api_key must not be empty");
  // A client that hangs up must not kill the process with SIGPIPE while we write to it.
  struct sigaction current {};
  if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
    signal(SIGPIPE, SIG_IGN);
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->fault_rng.seed(options.seed * 0x9e3779b97f4a7c15ULL + 17);
  for (const std::string& f : options.unlicensed_fields) impl->unlicensed.insert(f);
  if (!options.replay_dir.empty()) {
    WS_ASSIGN_OR_RETURN(impl->recordings, LoadRecordings(options.replay_dir));
    impl->replay = true;
  }
  impl->dataset = std::make_unique<Dataset>(options.num_orgs, options.seed);
  impl->server.set_keep_alive_max_count(100000);
  impl->server.set_keep_alive_timeout(2);
  impl->server.set_tcp_nodelay(true);  // headers and body go out in separate writes
  impl->Routes();
  int port = options.port == 0
                 ? impl->server.bind_to_any_port(options.host)
                 : (impl->server.bind_to_port(options.host, options.port) ? options.port : -1);
  if (port <= 0) {
    return absl::UnavailableError(
        StrCat("cannot listen on ", options.host, ":", options.port, " (in use or not allowed)"));
  }
  impl->port = port;
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->server.listen_after_bind(); });
  auto deadline = Clock::now() + std::chrono::seconds(5);
  while (!raw->server.is_running() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return std::unique_ptr<Emulator>(new Emulator(std::move(impl)));
}

void Emulator::Stop() {
  if (!impl_) return;
  std::lock_guard<std::mutex> lock(impl_->stop_mu);
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

int Emulator::port() const { return impl_->port; }

std::string Emulator::base_url() const {
  std::string host = impl_->options.host;
  if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
  return StrCat("http://", host, ":", impl_->port, "/api/v4");
}

Dataset& Emulator::dataset() { return *impl_->dataset; }

MutationResult Emulator::Mutate(int update, int remove, const std::string& now_iso) {
  std::unique_lock<std::shared_mutex> lock(impl_->data_mu);
  return impl_->dataset->Mutate(update, remove, now_iso);
}

EmulatorStats Emulator::stats() const {
  std::lock_guard<std::mutex> lock(impl_->stats_mu);
  return impl_->stats;
}

Status Serve(const EmulatorOptions& options) {
  sigset_t signals, previous;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  // Block before the server threads start so that they inherit the mask and sigwait gets it.
  pthread_sigmask(SIG_BLOCK, &signals, &previous);
  StatusOr<std::unique_ptr<Emulator>> emulator = Emulator::Start(options);
  if (!emulator.ok()) {
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    return emulator.status();
  }
  std::string line =
      StrCat("Crunchbase emulator on ", (*emulator)->base_url(), " (key: ", options.api_key, ", ",
             options.num_orgs, " organizations, seed ", options.seed, ")");
  if (!options.replay_dir.empty()) line += StrCat(" replaying ", options.replay_dir);
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  (*emulator)->Stop();
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return absl::OkStatus();
}

}  // namespace watershed::emulators::crunchbase
