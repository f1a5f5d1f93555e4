// sources/crunchbase/api.h — the Crunchbase API v4, as typed calls.
//
// Owns: URLs (both the `.../api/v4` and the `.../v4/data` base styles), the key header
// `X-cb-user-key` (a secret: never in messages or logs), request bodies, parsing responses
// (entities, cards, searches, autocomplete, deleted entities) and both error shapes (object
// `{"error","code"}` and array `[{"message","code","field_id"}]`) into Status codes:
// 404 CS404 -> kNotFound, MD403 -> kPermissionDenied naming the field, 401 -> kUnauthenticated,
// other 4xx -> kInvalidArgument. Transport, retries and the rate limit are the HttpClient's.
// Does not own: what is unloaded when (unloader.h), landing (load/).
// Thread safety: Api may be used by several threads (card pages are fetched concurrently).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <simdjson.h>

#include "watershed/base/status.h"
#include "watershed/net/http_client.h"
#include "watershed/net/rate_limiter.h"

namespace watershed::sources::crunchbase {

inline constexpr std::string_view kRealBaseUrl = "https://api.crunchbase.com/api/v4";

struct ApiOptions {
  std::string base_url;          // "" = the real API
  std::string api_key;
  int requests_per_minute = 200;  // client-side budget; 0 = unlimited
  int max_attempts = 8;
  Clock* clock = nullptr;         // nullptr = real time
};

// One entity: its uuid and its properties (an object, uuid included) as compact JSON, or, in a
// search page, as the parsed element (valid while its SearchPage lives; `properties` is then
// empty unless the uuid had to be added).
struct Entity {
  std::string uuid;
  std::string properties;
  std::string updated_at;  // "" when absent
  std::optional<simdjson::dom::element> element;
};

struct SearchPage {
  int64_t count = 0;  // matching entities in all pages
  std::vector<Entity> entities;
  std::string raw;    // the response body
  std::shared_ptr<simdjson::dom::parser> parser;  // owns the entities' elements
};

struct LookupResult {
  Entity entity;
  // card id -> items (compact JSON objects), in the API's order.
  std::vector<std::pair<std::string, std::vector<std::string>>> cards;
  std::string raw;
};

struct Candidate {
  std::string uuid, permalink, name;
};

struct Deleted {
  std::string uuid, entity_def_id, deleted_at;
};

class Api {
 public:
  static StatusOr<std::unique_ptr<Api>> Create(const ApiOptions& options);

  // GET /entities/{collection}/{id}?field_ids=..&card_ids=..
  StatusOr<LookupResult> Lookup(const std::string& collection, const std::string& id,
                                const std::vector<std::string>& field_ids,
                                const std::vector<std::string>& card_ids);
  // GET /entities/{collection}/{id}/cards/{card}?after_id=..&limit=..
  StatusOr<std::vector<std::string>> CardPage(const std::string& collection,
                                              const std::string& id, const std::string& card,
                                              const std::string& after_id, int limit);
  // POST /searches/{collection} with a JSON body (field_ids, query, order, limit, after_id).
  StatusOr<SearchPage> Search(const std::string& collection, const std::string& body);
  // GET /autocompletes?query=..&collection_ids=..&limit=..
  StatusOr<std::vector<Candidate>> Autocomplete(const std::string& query,
                                                const std::string& collection, int limit);
  // GET /deleted_entities?collection_ids=..&limit=..&after_id=..
  StatusOr<std::vector<Deleted>> DeletedEntities(const std::string& collection,
                                                 const std::string& after_id, int limit);

  // Any call, for tools and tests: the response body of a 2xx, else the mapped error.
  StatusOr<std::string> Call(const std::string& method, const std::string& path_and_query,
                             const std::string& body);

  const std::string& base_url() const { return base_url_; }
  const net::HttpStats& http_stats() const { return client_->stats(); }
  net::RateLimiter* rate_limiter() { return limiter_.get(); }

 private:
  Api() = default;

  std::string base_url_;
  std::string api_key_;
  std::unique_ptr<net::RateLimiter> limiter_;
  std::unique_ptr<net::HttpClient> client_;
};

// "https://x/api/v4/", "https://x/v4/data" -> without the trailing slash; kInvalidArgument for
// anything that is not http(s).
StatusOr<std::string> NormalizeBaseUrl(std::string_view url);
// Response parsers (the bodies of 2xx answers). `what` names the request in errors.
StatusOr<LookupResult> ParseLookup(std::string body, std::string_view what);
StatusOr<std::vector<std::string>> ParseCardPage(const std::string& body, const std::string& card,
                                                 std::string_view what);
StatusOr<SearchPage> ParseSearch(std::string body, std::string_view what);
StatusOr<std::vector<Candidate>> ParseAutocomplete(const std::string& body);
StatusOr<std::vector<Deleted>> ParseDeleted(const std::string& body);

// Parses an error body of either shape into a Status for HTTP `status` (see the header comment).
Status ErrorFromResponse(int status, std::string_view body, std::string_view what);

}  // namespace watershed::sources::crunchbase
