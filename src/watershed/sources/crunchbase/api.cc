// sources/crunchbase/api.cc — see api.h.
#include "watershed/sources/crunchbase/api.h"

#include <simdjson.h>

#include <nlohmann/json.hpp>

#include "watershed/base/strings.h"

namespace watershed::sources::crunchbase {
namespace {

std::string UrlEncode(std::string_view s) { return PercentEncode(s, "-_.~,"); }

std::string Join(const std::vector<std::string>& v) { return watershed::Join(v, ","); }

StatusOr<simdjson::dom::element> Parse(simdjson::dom::parser& parser, const std::string& body,
                                       std::string_view what) {
  simdjson::dom::element doc;
  if (auto err = parser.parse(body).get(doc)) {
    // A body that does not parse is treated like a truncated transfer: retryable.
    return absl::UnavailableError(StrCat(what, ": response is not valid JSON (",
                                         simdjson::error_message(err), ", ", body.size(),
                                         " bytes)"));
  }
  return doc;
}

std::string StringField(simdjson::dom::element e, std::string_view key) {
  std::string_view v;
  if (e[key].get_string().get(v)) return "";
  return std::string(v);
}

Entity ToEntity(simdjson::dom::element properties, std::string uuid) {
  Entity e;
  e.uuid = uuid.empty() ? StringField(properties, "uuid") : std::move(uuid);
  e.updated_at = StringField(properties, "updated_at");
  e.properties = simdjson::minify(properties);
  if (StringField(properties, "uuid").empty() && !e.uuid.empty() && e.properties.size() >= 2) {
    // The uuid belongs in the record even when the API only gave it beside the properties.
    std::string with = StrCat("{\"uuid\":\"", e.uuid, "\"");
    with += e.properties.size() > 2 ? "," : "";
    with += e.properties.substr(1);
    e.properties = std::move(with);
  }
  return e;
}

}  // namespace

StatusOr<LookupResult> ParseLookup(std::string body, std::string_view what) {
  simdjson::dom::parser parser;
  WS_ASSIGN_OR_RETURN(auto doc, Parse(parser, body, what));
  LookupResult r;
  simdjson::dom::element props;
  if (doc["properties"].get(props)) {
    return absl::UnavailableError(StrCat(what, ": no properties in the response"));
  }
  r.entity = ToEntity(props, "");
  simdjson::dom::object cards;
  if (!doc["cards"].get(cards)) {
    for (auto field : cards) {
      std::vector<std::string> items;
      simdjson::dom::array arr;
      if (!field.value.get(arr)) {
        for (auto item : arr) items.push_back(simdjson::minify(item));
      } else {
        items.push_back(simdjson::minify(field.value));  // a card holding one object
      }
      r.cards.emplace_back(std::string(field.key), std::move(items));
    }
  }
  r.raw = std::move(body);
  return r;
}

StatusOr<std::vector<std::string>> ParseCardPage(const std::string& body, const std::string& card,
                                                 std::string_view what) {
  simdjson::dom::parser parser;
  WS_ASSIGN_OR_RETURN(auto doc, Parse(parser, body, what));
  std::vector<std::string> items;
  simdjson::dom::array arr;
  if (!doc["cards"][card].get(arr)) {
    for (auto item : arr) items.push_back(simdjson::minify(item));
  }
  return items;
}

StatusOr<SearchPage> ParseSearch(std::string text, std::string_view what) {
  SearchPage page;
  page.parser = std::make_shared<simdjson::dom::parser>();
  page.raw = std::move(text);
  WS_ASSIGN_OR_RETURN(auto doc, Parse(*page.parser, page.raw, what));
  int64_t count = 0;
  if (!doc["count"].get(count)) page.count = count;
  simdjson::dom::array entities;
  if (doc["entities"].get(entities)) {
    return absl::UnavailableError(StrCat(what, ": no entities in the response"));
  }
  for (auto e : entities) {
    simdjson::dom::element props;
    if (e["properties"].get(props)) continue;
    std::string uuid = StringField(props, "uuid");
    if (uuid.empty()) {  // the uuid only beside the properties: a copy with it added
      page.entities.push_back(ToEntity(props, StringField(e, "uuid")));
      continue;
    }
    Entity entity;
    entity.uuid = std::move(uuid);
    entity.updated_at = StringField(props, "updated_at");
    entity.element = props;
    page.entities.push_back(std::move(entity));
  }
  return page;
}

StatusOr<std::vector<Candidate>> ParseAutocomplete(const std::string& body) {
  simdjson::dom::parser parser;
  WS_ASSIGN_OR_RETURN(auto doc, Parse(parser, body, "GET autocompletes"));
  std::vector<Candidate> out;
  simdjson::dom::array entities;
  if (doc["entities"].get(entities)) return out;
  for (auto e : entities) {
    simdjson::dom::element id;
    if (e["identifier"].get(id)) continue;
    out.push_back({StringField(id, "uuid"), StringField(id, "permalink"), StringField(id, "value")});
  }
  return out;
}

StatusOr<std::vector<Deleted>> ParseDeleted(const std::string& body) {
  simdjson::dom::parser parser;
  WS_ASSIGN_OR_RETURN(auto doc, Parse(parser, body, "GET deleted_entities"));
  std::vector<Deleted> out;
  simdjson::dom::array arr;
  if (doc.get(arr)) return out;
  for (auto e : arr) {
    out.push_back({StringField(e, "uuid"), StringField(e, "entity_def_id"),
                   StringField(e, "deleted_at")});
  }
  return out;
}

StatusOr<std::string> NormalizeBaseUrl(std::string_view url) {
  std::string u(url);
  while (!u.empty() && u.back() == '/') u.pop_back();
  if (!u.starts_with("http://") && !u.starts_with("https://")) {
    return absl::InvalidArgumentError(StrCat(
        "--base-url '", url, "' must be an http(s) URL such as https://api.crunchbase.com/api/v4"));
  }
  return u;
}

Status ErrorFromResponse(int status, std::string_view body, std::string_view what) {
  std::string message, code, field;
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_array() && !j.empty() && j[0].is_object()) {
    for (const auto& e : j) {
      if (!message.empty()) message += "; ";
      message += e.value("message", "");
      if (code.empty()) code = e.value("code", "");
      if (field.empty()) field = e.value("field_id", "");
    }
  } else if (j.is_object()) {
    message = j.value("error", j.value("message", ""));
    code = j.value("code", "");
  }
  // The body may be anything (a proxy's page, a cut-off response): the message stays UTF-8.
  if (message.empty()) message = ToValidUtf8(body.substr(0, 200));
  std::string text = StrCat(what, ": HTTP ", status, code.empty() ? "" : " ", code, ": ", message);
  if (code == "MD403") {
    return absl::PermissionDeniedError(StrCat(text, " — field '", field,
                                              "' is outside your Crunchbase licence; drop it from "
                                              "field_ids or upgrade the licence"));
  }
  if (status == 404) return absl::NotFoundError(text);
  if (status == 401) {
    return absl::UnauthenticatedError(
        StrCat(text, " — the API key was refused; check CRUNCHBASE_API_KEY"));
  }
  if (status == 403) return absl::PermissionDeniedError(text);
  return absl::InvalidArgumentError(text);
}

StatusOr<std::unique_ptr<Api>> Api::Create(const ApiOptions& options) {
  std::unique_ptr<Api> api(new Api());
  WS_ASSIGN_OR_RETURN(api->base_url_,
                      NormalizeBaseUrl(options.base_url.empty() ? kRealBaseUrl : options.base_url));
  if (options.api_key.empty()) {
    return absl::FailedPreconditionError(
        "no Crunchbase API key: set CRUNCHBASE_API_KEY (or sources.crunchbase.api_key in "
        "watershed.yml), or run `watershed crunchbase-emulator` and pass --base-url");
  }
  api->api_key_ = options.api_key;
  Clock* clock = options.clock != nullptr ? options.clock : Clock::Real();
  if (options.requests_per_minute > 0) {
    // The server counts a request when it arrives, a little after we sent it: a 250 ms margin
    // keeps every server-side 60 s window within the budget (and costs < 0.5% of it).
    api->limiter_ = std::make_unique<net::RateLimiter>(
        options.requests_per_minute, absl::Minutes(1) + absl::Milliseconds(250), clock);
  }
  net::HttpClientOptions h;
  h.retry.max_attempts = options.max_attempts;
  h.secret_headers = {"X-cb-user-key"};
  h.rate_limiter = api->limiter_.get();
  h.clock = clock;
  api->client_ = std::make_unique<net::HttpClient>(h);
  return api;
}

StatusOr<std::string> Api::Call(const std::string& method, const std::string& path_and_query,
                                const std::string& body) {
  net::HttpRequest req;
  req.method = method;
  req.url = base_url_ + path_and_query;
  req.headers = {{"X-cb-user-key", api_key_}, {"Accept", "application/json"}};
  req.body = body;
  const std::string what = StrCat(method, " ", path_and_query.substr(0, path_and_query.find('?')));
  WS_ASSIGN_OR_RETURN(net::HttpResponse resp, client_->Send(req));
  if (resp.status < 200 || resp.status >= 300) {
    return ErrorFromResponse(resp.status, resp.body, what);
  }
  return std::move(resp.body);
}

StatusOr<LookupResult> Api::Lookup(const std::string& collection, const std::string& id,
                                   const std::vector<std::string>& field_ids,
                                   const std::vector<std::string>& card_ids) {
  std::string path = StrCat("/entities/", collection, "/", UrlEncode(id));
  std::string sep = "?";
  if (!field_ids.empty()) {
    path += sep + "field_ids=" + UrlEncode(Join(field_ids));
    sep = "&";
  }
  if (!card_ids.empty()) path += sep + "card_ids=" + UrlEncode(Join(card_ids));
  WS_ASSIGN_OR_RETURN(std::string body, Call("GET", path, ""));
  return ParseLookup(std::move(body), StrCat("GET ", collection, "/", id));
}

StatusOr<std::vector<std::string>> Api::CardPage(const std::string& collection,
                                                 const std::string& id, const std::string& card,
                                                 const std::string& after_id, int limit) {
  std::string path = StrCat("/entities/", collection, "/", UrlEncode(id), "/cards/", card,
                            "?limit=", limit);
  if (!after_id.empty()) path += "&after_id=" + UrlEncode(after_id);
  WS_ASSIGN_OR_RETURN(std::string body, Call("GET", path, ""));
  return ParseCardPage(body, card, StrCat("GET card ", card, " of ", id));
}

StatusOr<SearchPage> Api::Search(const std::string& collection, const std::string& body) {
  WS_ASSIGN_OR_RETURN(std::string text, Call("POST", StrCat("/searches/", collection), body));
  return ParseSearch(std::move(text), StrCat("POST searches/", collection));
}

StatusOr<std::vector<Candidate>> Api::Autocomplete(const std::string& query,
                                                   const std::string& collection, int limit) {
  WS_ASSIGN_OR_RETURN(std::string body,
                      Call("GET",
                           StrCat("/autocompletes?query=", UrlEncode(query),
                                  "&collection_ids=", collection, "&limit=", limit),
                           ""));
  return ParseAutocomplete(body);
}

StatusOr<std::vector<Deleted>> Api::DeletedEntities(const std::string& collection,
                                                    const std::string& after_id, int limit) {
  std::string path = StrCat("/deleted_entities?collection_ids=", collection, "&limit=", limit);
  if (!after_id.empty()) path += "&after_id=" + UrlEncode(after_id);
  WS_ASSIGN_OR_RETURN(std::string body, Call("GET", path, ""));
  return ParseDeleted(body);
}

}  // namespace watershed::sources::crunchbase
