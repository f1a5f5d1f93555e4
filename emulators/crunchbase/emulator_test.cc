// emulators/crunchbase/emulator_test.cc — the Crunchbase emulator over real HTTP (libcurl).
//
// Covers: the key check, entity lookups (permalink, uuid, both prefixes), error shapes, cards
// inline and paged, search paging/predicates/limits, autocomplete, deleted entities after a
// mutation, rate limiting, injected faults, replay of the recorded fixtures, determinism, and
// serving speed. Thread safety: tests only.
// Over 600 lines on purpose: one end-to-end suite over one running emulator per test.
#include <curl/curl.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "emulators/crunchbase/dataset.h"
#include "emulators/crunchbase/server.h"
#include "gtest/gtest.h"

namespace watershed::emulators::crunchbase {
namespace {

using Json = nlohmann::json;

struct Reply {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lowercase names
  Json json() const { return Json::parse(body, nullptr, false); }
};

size_t CollectBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t CollectHeader(char* data, size_t size, size_t n, void* out) {
  std::string line(data, size * n);
  size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    value.erase(value.find_last_not_of("\r\n ") + 1);
    (*static_cast<std::map<std::string, std::string>*>(out))[name] = value;
  }
  return size * n;
}

// One keep-alive connection; every call sends the key unless `key` is empty.
class Http {
 public:
  explicit Http(std::string base, std::string key = "emulator-key")
      : base_(std::move(base)), key_(std::move(key)), curl_(curl_easy_init()) {}
  ~Http() { curl_easy_cleanup(curl_); }

  Reply Get(const std::string& path) { return Call("GET", path, ""); }
  Reply Post(const std::string& path, const Json& body) { return Call("POST", path, body.dump()); }
  Reply Call(const std::string& method, const std::string& path, const std::string& body) {
    Reply r;
    curl_easy_reset(curl_);
    std::string url = path.starts_with("http") ? path : base_ + path;
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, CollectBody);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, CollectHeader);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &r.headers);
    curl_slist* headers = nullptr;
    std::string key_header = "X-cb-user-key: " + key_;
    if (!key_.empty()) headers = curl_slist_append(headers, key_header.c_str());
    headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
    if (method == "POST") {
      curl_easy_setopt(curl_, CURLOPT_POST, 1L);
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.c_str());
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    }
    r.code = curl_easy_perform(curl_);
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(headers);
    return r;
  }

 private:
  std::string base_;
  std::string key_;
  CURL* curl_;
};

std::unique_ptr<Emulator> StartOrDie(EmulatorOptions options) {
  StatusOr<std::unique_ptr<Emulator>> e = Emulator::Start(options);
  EXPECT_TRUE(e.ok()) << e.status();
  return std::move(e).value();
}

// One shared emulator for the read-only tests.
class EmulatorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    EmulatorOptions o;
    o.num_orgs = 2000;
    o.seed = 7;
    emulator_ = StartOrDie(o).release();
  }
  static void TearDownTestSuite() {
    delete emulator_;
    emulator_ = nullptr;
  }
  static Dataset& data() { return emulator_->dataset(); }
  static Http Client() { return Http(emulator_->base_url()); }

  // Every page of a search, following after_id; returns the uuids in order.
  static std::vector<std::string> Unload(Http& http, Json body, size_t* count, int* pages) {
    std::vector<std::string> uuids;
    *pages = 0;
    while (true) {
      Reply r = http.Post("/searches/organizations", body);
      EXPECT_EQ(r.status, 200) << r.body;
      if (r.status != 200) break;
      Json j = r.json();
      *count = j["count"].get<size_t>();
      ++*pages;
      const Json& entities = j["entities"];
      for (const Json& e : entities) uuids.push_back(e["uuid"].get<std::string>());
      if (entities.size() < body["limit"].get<size_t>()) break;
      body["after_id"] = uuids.back();
    }
    return uuids;
  }

  static Emulator* emulator_;
};
Emulator* EmulatorTest::emulator_ = nullptr;

TEST_F(EmulatorTest, KeyIsRequired) {
  Http anonymous(emulator_->base_url(), "");
  Reply r = anonymous.Get("/entities/organizations/" + data().Permalink({}));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.json()["code"], "LA401");
  Http wrong(emulator_->base_url(), "nope");
  EXPECT_EQ(wrong.Get("/autocompletes?query=a").status, 401);
  EXPECT_EQ(anonymous.Get("/autocompletes?query=a&user_key=emulator-key").status, 200);
  Http http = Client();
  EXPECT_EQ(http.Get("/autocompletes?query=a").status, 200);
}

TEST_F(EmulatorTest, EntityByPermalinkAndByUuid) {
  // An organization with funding rounds, so funding_total is present.
  EntityRef org;
  for (EntityRef ref : data().All(Collection::kOrganizations)) {
    if (data().Properties(ref).contains("funding_total")) {
      org = ref;
      break;
    }
  }
  Json expected = data().Properties(org);
  Http http = Client();
  const std::string fields = "?field_ids=uuid,identifier,name,funding_total,founded_on,updated_at";
  Reply by_permalink = http.Get("/entities/organizations/" + data().Permalink(org) + fields);
  ASSERT_EQ(by_permalink.status, 200) << by_permalink.body;
  Json props = by_permalink.json()["properties"];
  EXPECT_FALSE(by_permalink.json().contains("cards"));
  EXPECT_EQ(props["uuid"], expected["uuid"]);
  EXPECT_EQ(props["identifier"], expected["identifier"]);
  EXPECT_EQ(props["funding_total"], expected["funding_total"]);
  EXPECT_EQ(props["funding_total"]["currency"].get<std::string>().size(), 3u);
  EXPECT_EQ(props.size(), expected.contains("founded_on") ? 6u : 5u);  // absent keys, no nulls
  EXPECT_EQ(props["identifier"]["entity_def_id"], "organization");

  std::string uuid = expected["uuid"];
  Reply by_uuid = http.Get(emulator_->base_url().substr(0, emulator_->base_url().size() - 7) +
                           "/v4/data/entities/organizations/" + uuid + fields);
  ASSERT_EQ(by_uuid.status, 200);
  EXPECT_EQ(by_uuid.body, by_permalink.body);

  // No field_ids: every field; a funding round's identifier reads "<Type> - <Org>".
  Reply all = http.Get("/entities/organizations/" + uuid);
  EXPECT_EQ(all.json()["properties"], expected);
  EntityRef round{Collection::kFundingRounds, 0};
  Json round_props =
      http.Get("/entities/funding_rounds/" + data().UuidOf(round).ToString()).json()["properties"];
  std::string round_name = round_props["identifier"]["value"];
  Json funded = round_props["funded_organization_identifier"];
  EXPECT_TRUE(round_name.ends_with(" - " + funded["value"].get<std::string>())) << round_name;
  EXPECT_EQ(funded["role"], "investee");
  EXPECT_TRUE(round_props["announced_on"].is_string());
}

TEST_F(EmulatorTest, ErrorShapes) {
  Http http = Client();
  Reply missing = http.Get("/entities/organizations/no-such-org");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.json(), Json::parse(R"({"error": "requested resource could not be found",
                                            "code": "CS404"})"));
  Reply unknown = http.Get("/entities/organizations/" + data().Permalink({}) + "?field_ids=bogus");
  EXPECT_EQ(unknown.status, 400);
  ASSERT_TRUE(unknown.json().is_array());
  EXPECT_EQ(unknown.json()[0]["field_id"], "bogus");

  Json too_many = {{"field_ids", {"uuid"}}, {"limit", 1001}};
  Reply over = http.Post("/searches/organizations", too_many);
  EXPECT_EQ(over.status, 400);
  ASSERT_TRUE(over.json().is_array()) << over.body;
  EXPECT_TRUE(over.json()[0].contains("message"));

  Json unknown_field = {{"field_ids", {"uuid", "nonsense"}}, {"limit", 5}};
  EXPECT_EQ(http.Post("/searches/organizations", unknown_field).status, 400);
  EXPECT_EQ(http.Post("/searches/unicorns", {{"limit", 1}}).status, 404);
}

TEST_F(EmulatorTest, HeadquartersCardHasOneAddress) {
  for (EntityRef ref : data().All(Collection::kOrganizations)) {
    Json props = data().Properties(ref);
    if (!props.contains("location_identifiers")) continue;
    Http http = Client();
    Reply r = http.Get("/entities/organizations/" + data().Permalink(ref) +
                       "?field_ids=identifier&card_ids=headquarters_address,raised_funding_rounds");
    ASSERT_EQ(r.status, 200);
    Json cards = r.json()["cards"];
    ASSERT_EQ(cards["headquarters_address"].size(), 1u);
    EXPECT_EQ(cards["headquarters_address"][0]["entity_def_id"], "address");
    EXPECT_EQ(cards["headquarters_address"][0]["location_identifiers"],
              props["location_identifiers"]);
    EXPECT_TRUE(cards["raised_funding_rounds"].is_array());
    return;
  }
  FAIL() << "no organization with a location";
}

TEST_F(EmulatorTest, CardsAreCappedInlineAndPagedWithAfterId) {
  // The most active investor has well over 100 participated investments.
  const CardDef* card = data().FindCard(Collection::kOrganizations, "participated_investments");
  ASSERT_NE(card, nullptr);
  EntityRef best;
  size_t most = 0;
  for (EntityRef ref : data().All(Collection::kOrganizations)) {
    size_t n = data().CardItems(*card, ref.index).size();
    if (n > most) {
      most = n;
      best = ref;
    }
  }
  ASSERT_GT(most, 150u);
  Http http = Client();
  std::string base = "/entities/organizations/" + data().Permalink(best);
  Reply inline_reply = http.Get(base + "?card_ids=participated_investments&field_ids=name");
  ASSERT_EQ(inline_reply.status, 200);
  EXPECT_EQ(inline_reply.json()["cards"]["participated_investments"].size(), 100u);

  std::vector<std::string> seen;
  std::string after;
  for (int page = 0; page < 100; ++page) {
    std::string url = base + "/cards/participated_investments?card_field_ids=uuid,identifier," +
                      "funding_round_identifier,organization_identifier&limit=60";
    if (!after.empty()) url += "&after_id=" + after;
    Reply r = http.Get(url);
    ASSERT_EQ(r.status, 200) << r.body;
    Json items = r.json()["cards"]["participated_investments"];
    ASSERT_LE(items.size(), 60u);
    for (const Json& item : items) {
      seen.push_back(item["uuid"]);
      EXPECT_EQ(item["identifier"]["entity_def_id"], "investment");
      EXPECT_TRUE(item.contains("funding_round_identifier"));
      EXPECT_FALSE(item.contains("announced_on"));  // card_field_ids respected
    }
    if (items.size() < 60) break;
    after = seen.back();
  }
  std::vector<std::string> expected;
  for (uint32_t i : data().CardItems(*card, best.index)) {
    expected.push_back(data().UuidOf({Collection::kInvestments, i}).ToString());
  }
  EXPECT_EQ(seen, expected);  // all items, in uuid order, no duplicates
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), seen.size());
}

TEST_F(EmulatorTest, SearchPagingReturnsEveryOrganizationOnce) {
  Http http = Client();
  Json body = {{"field_ids", {"uuid", "updated_at"}},
               {"order", {{{"field_id", "updated_at"}, {"sort", "asc"}}}},
               {"limit", 300}};
  size_t count = 0;
  int pages = 0;
  std::vector<std::string> uuids = Unload(http, body, &count, &pages);
  EXPECT_EQ(count, data().Count(Collection::kOrganizations));
  EXPECT_EQ(uuids.size(), count);
  EXPECT_EQ(std::set<std::string>(uuids.begin(), uuids.end()).size(), count);
  EXPECT_EQ(pages, static_cast<int>((count + 299) / 300));
  // Ascending updated_at across page boundaries.
  std::vector<int64_t> times;
  for (const std::string& u : uuids) {
    times.push_back(data().UpdatedAt(*data().Find(Collection::kOrganizations, u)));
  }
  EXPECT_TRUE(std::is_sorted(times.begin(), times.end()));

  // Descending by name with the same keyset contract.
  Json by_name = {{"field_ids", {"name"}},
                  {"order", {{{"field_id", "name"}, {"sort", "desc"}}}},
                  {"limit", 700}};
  std::vector<std::string> named = Unload(http, by_name, &count, &pages);
  EXPECT_EQ(std::set<std::string>(named.begin(), named.end()).size(), count);
}

TEST_F(EmulatorTest, SearchPredicates) {
  // Expected results from the dataset's own rendering of just the fields involved.
  std::vector<const FieldDef*> fields;
  for (const char* name : {"updated_at", "funding_total", "categories"}) {
    fields.push_back(data().FindField(Collection::kOrganizations, name));
  }
  std::vector<Json> all;
  for (EntityRef ref : data().All(Collection::kOrganizations)) {
    std::string text;
    JsonWriter w(&text);
    data().WriteProperties(ref, fields, w);
    all.push_back(Json::parse(text));
  }
  Http http = Client();
  auto search = [&](Json query) {
    Json body = {{"field_ids", {"uuid", "updated_at", "funding_total", "categories"}},
                 {"query", query},
                 {"limit", 1000}};
    Reply r = http.Post("/searches/organizations", body);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json();
  };

  Json recent = search({{{"type", "predicate"},
                         {"field_id", "updated_at"},
                         {"operator_id", "gte"},
                         {"values", {"2024-01-01"}}}});
  size_t expected = std::count_if(all.begin(), all.end(), [](const Json& p) {
    return p["updated_at"].get<std::string>() >= "2024-01-01";
  });
  EXPECT_EQ(recent["count"], expected);
  EXPECT_GT(expected, 0u);
  for (const Json& e : recent["entities"]) {
    EXPECT_GE(e["properties"]["updated_at"].get<std::string>(), "2024-01-01");
  }

  Json funded = search({{{"type", "predicate"},
                         {"field_id", "funding_total"},
                         {"operator_id", "between"},
                         {"values",
                          {{{"value", 1000000}, {"currency", "usd"}},
                           {{"value", 10000000}, {"currency", "usd"}}}}}});
  expected = std::count_if(all.begin(), all.end(), [](const Json& p) {
    if (!p.contains("funding_total")) return false;
    double usd = p["funding_total"]["value_usd"];
    return usd >= 1e6 && usd <= 1e7;
  });
  EXPECT_EQ(funded["count"], expected);
  EXPECT_GT(expected, 0u);

  // categories includes: one by uuid, one by permalink.
  Json first_category =
      all[0].contains("categories") ? all[0]["categories"][0] : all[1]["categories"][0];
  std::string by_uuid = first_category["uuid"];
  Json tagged = search({{{"type", "predicate"},
                         {"field_id", "categories"},
                         {"operator_id", "includes"},
                         {"values", {by_uuid, "fintech"}}}});
  expected = std::count_if(all.begin(), all.end(), [&](const Json& p) {
    if (!p.contains("categories")) return false;
    for (const Json& c : p["categories"]) {
      if (c["uuid"] == by_uuid || c["permalink"] == "fintech") return true;
    }
    return false;
  });
  EXPECT_EQ(tagged["count"], expected);
  EXPECT_GT(expected, 0u);

  // Two predicates combine with AND; rank_org ordering; location by permalink.
  Json body = {{"field_ids", {"rank_org", "location_identifiers", "operating_status"}},
               {"query",
                {{{"type", "predicate"},
                  {"field_id", "location_identifiers"},
                  {"operator_id", "includes"},
                  {"values", {"europe"}}},
                 {{"type", "predicate"},
                  {"field_id", "operating_status"},
                  {"operator_id", "eq"},
                  {"values", {"active"}}}}},
               {"order", {{{"field_id", "rank_org"}, {"sort", "asc"}}}},
               {"limit", 50}};
  Json europe = http.Post("/searches/organizations", body).json();
  int64_t last_rank = 0;
  ASSERT_GT(europe["entities"].size(), 0u);
  for (const Json& e : europe["entities"]) {
    EXPECT_EQ(e["properties"]["operating_status"], "active");
    EXPECT_EQ(e["properties"]["location_identifiers"][3]["permalink"], "europe");
    EXPECT_GT(e["properties"]["rank_org"].get<int64_t>(), last_rank);
    last_rank = e["properties"]["rank_org"];
  }
}

TEST_F(EmulatorTest, Autocomplete) {
  std::string name = data().Name({Collection::kOrganizations, 5});
  std::string query = name.substr(0, 3);
  std::transform(query.begin(), query.end(), query.begin(), ::toupper);  // case-insensitive
  Http http = Client();
  Reply r = http.Get("/autocompletes?query=" + query + "&collection_ids=organizations&limit=25");
  ASSERT_EQ(r.status, 200) << r.body;
  Json j = r.json();
  ASSERT_GT(j["entities"].size(), 0u);
  EXPECT_LE(j["entities"].size(), 25u);
  EXPECT_GE(j["count"].get<size_t>(), j["entities"].size());
  std::string lower = query;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  bool in_contains_group = false;
  for (const Json& e : j["entities"]) {
    EXPECT_EQ(e["identifier"]["entity_def_id"], "organization");
    EXPECT_TRUE(e.contains("facet_ids"));
    std::string value = e["identifier"]["value"];
    std::transform(value.begin(), value.end(), value.begin(), ::tolower);
    ASSERT_NE(value.find(lower), std::string::npos) << value;
    bool prefix = value.starts_with(lower);
    if (!prefix) in_contains_group = true;
    EXPECT_FALSE(in_contains_group && prefix) << "prefix matches come first";
  }
}

TEST_F(EmulatorTest, ServesAFullUnloadQuickly) {
  EmulatorOptions o;
  o.num_orgs = 20000;
  o.seed = 11;
  std::unique_ptr<Emulator> big = StartOrDie(o);
  Http http(big->base_url());
  Json body = {{"field_ids",
                {"uuid", "identifier", "name", "short_description", "updated_at", "created_at",
                 "funding_total", "categories", "location_identifiers", "rank_org", "website"}},
               {"order", {{{"field_id", "updated_at"}, {"sort", "asc"}}}},
               {"limit", 1000}};
  auto start = std::chrono::steady_clock::now();
  size_t entities = 0;
  size_t bytes = 0;
  while (true) {
    Reply r = http.Post("/searches/organizations", body);
    ASSERT_EQ(r.status, 200);
    bytes += r.body.size();
    // Count entities without parsing the page, so that the client's JSON parser is not timed.
    size_t page = 0;
    size_t last = std::string::npos;
    const std::string marker = "\",\"properties\":{";  // follows each entity's uuid
    for (size_t pos = r.body.find(marker); pos != std::string::npos;
         pos = r.body.find(marker, pos + 1)) {
      ++page;
      last = pos;
    }
    entities += page;
    if (page < 1000) break;
    body["after_id"] = r.body.substr(last - 36, 36);
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double rate = static_cast<double>(entities) / seconds;
  std::printf("full unload: %zu organizations, %zu bytes in %.3f s = %.0f entities/s\n", entities,
              bytes, seconds, rate);
  EXPECT_EQ(entities, 20000u);
#if defined(__OPTIMIZE__) && !defined(__SANITIZE_ADDRESS__)
  EXPECT_GT(rate, 50000);  // only meaningful for optimized, unsanitized builds
#endif
}

TEST(EmulatorMutationTest, DeletedEntitiesAndUpdatedAtAfterMutate) {
  EmulatorOptions o;
  o.num_orgs = 500;
  o.seed = 21;
  std::unique_ptr<Emulator> e = StartOrDie(o);
  Http http(e->base_url());
  const size_t before = e->dataset().Count(Collection::kOrganizations);
  const std::string now = "2026-01-02T03:04:05Z";
  MutationResult m = e->Mutate(5, 3, now);
  ASSERT_EQ(m.updated.size(), 5u);
  ASSERT_EQ(m.deleted.size(), 3u);
  EXPECT_EQ(e->dataset().Count(Collection::kOrganizations), before - 3);

  for (const std::string& uuid : m.updated) {
    Reply r = http.Get("/entities/organizations/" + uuid + "?field_ids=updated_at");
    EXPECT_EQ(r.json()["properties"]["updated_at"], now);
  }
  for (const std::string& uuid : m.deleted) {
    EXPECT_EQ(http.Get("/entities/organizations/" + uuid).status, 404);
  }
  // Newest deletions first (deleted_at desc); the three removed organizations lead the list.
  Reply deleted = http.Get("/deleted_entities?collection_ids=organizations&limit=1000");
  ASSERT_EQ(deleted.status, 200);
  Json list = deleted.json();
  ASSERT_TRUE(list.is_array());
  std::set<std::string> head;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(list[i]["deleted_at"], now);
    EXPECT_EQ(list[i]["entity_def_id"], "organization");
    head.insert(list[i]["uuid"].get<std::string>());
  }
  EXPECT_EQ(head, std::set<std::string>(m.deleted.begin(), m.deleted.end()));
  // Keyset paging over deleted entities returns the same list.
  std::vector<std::string> paged;
  std::string after;
  while (true) {
    std::string url = "/deleted_entities/organizations?limit=4";
    if (!after.empty()) url += "&after_id=" + after;
    Json page = http.Get(url).json();
    for (const Json& d : page) paged.push_back(d["uuid"]);
    if (page.size() < 4) break;
    after = paged.back();
  }
  ASSERT_EQ(paged.size(), list.size());
  for (size_t i = 0; i < paged.size(); ++i) EXPECT_EQ(paged[i], list[i]["uuid"]);

  // Searches no longer see them; an incremental search by updated_at finds the updates.
  Json body = {{"field_ids", {"uuid"}},
               {"query",
                {{{"type", "predicate"},
                  {"field_id", "updated_at"},
                  {"operator_id", "gte"},
                  {"values", {now}}}}},
               {"limit", 1000}};
  Json changed = http.Post("/searches/organizations", body).json();
  std::set<std::string> changed_uuids;
  for (const Json& x : changed["entities"]) changed_uuids.insert(x["uuid"].get<std::string>());
  for (const std::string& uuid : m.updated) EXPECT_EQ(changed_uuids.count(uuid), 1u);
  for (const std::string& uuid : m.deleted) EXPECT_EQ(changed_uuids.count(uuid), 0u);

  // The admin endpoint does the same without a key.
  Http admin(e->base_url(), "");
  Reply r = admin.Post("/_emulator/mutate", {{"update", 2}, {"delete", 1}, {"now", now}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["updated"].size(), 2u);
  EXPECT_EQ(r.json()["deleted"].size(), 1u);
  Reply stats = admin.Get(e->base_url().substr(0, e->base_url().size() - 7) + "/_emulator/stats");
  EXPECT_EQ(stats.json()["live_entities"]["organizations"], before - 4);
}

TEST(EmulatorFaultTest, RateLimitAnswers429WithRetryAfter) {
  EmulatorOptions o;
  o.num_orgs = 50;
  o.rate_limit_per_minute = 5;
  std::unique_ptr<Emulator> e = StartOrDie(o);
  Http http(e->base_url());
  for (int i = 0; i < 5; ++i) EXPECT_EQ(http.Get("/autocompletes?query=a").status, 200);
  Reply limited = http.Get("/autocompletes?query=a");
  EXPECT_EQ(limited.status, 429);
  ASSERT_EQ(limited.headers.count("retry-after"), 1u);
  int retry = std::stoi(limited.headers["retry-after"]);
  EXPECT_GE(retry, 1);
  EXPECT_LE(retry, 60);
  EmulatorStats s = e->stats();
  EXPECT_EQ(s.rate_limited, 1);
  EXPECT_EQ(s.max_requests_in_window, 5);
  EXPECT_EQ(s.max_arrivals_in_window, 6);  // the refused request arrived too
  EXPECT_EQ(s.by_status[429], 1);
}

TEST(EmulatorFaultTest, FaultRateYieldsServerErrorsAndBrokenResponses) {
  EmulatorOptions o;
  o.num_orgs = 200;
  o.fault_rate = 0.5;
  std::unique_ptr<Emulator> e = StartOrDie(o);
  int ok = 0, server_errors = 0, truncated = 0, dropped = 0;
  for (int i = 0; i < 80; ++i) {
    Http http(e->base_url());  // a fresh connection each time: faults may close it
    Reply r = http.Post("/searches/organizations", {{"field_ids", {"identifier"}}, {"limit", 50}});
    if (r.code == CURLE_PARTIAL_FILE) {
      ++truncated;
    } else if (r.code == CURLE_GOT_NOTHING || r.code == CURLE_RECV_ERROR) {
      ++dropped;
    } else if (r.code == CURLE_OK && (r.status == 500 || r.status == 503)) {
      ++server_errors;
    } else if (r.code == CURLE_OK && r.status == 200) {
      ++ok;
      EXPECT_FALSE(r.json().is_discarded());
    } else {
      ADD_FAILURE() << "unexpected curl code " << r.code << " status " << r.status;
    }
  }
  EXPECT_GT(ok, 10);
  EXPECT_GT(server_errors, 0);
  EXPECT_GT(truncated, 0);
  EXPECT_GT(dropped, 0);
  EXPECT_EQ(e->stats().faults_injected, server_errors + truncated + dropped);
}

TEST(EmulatorFaultTest, UnlicensedFieldsAnswerMd403) {
  EmulatorOptions o;
  o.num_orgs = 50;
  o.unlicensed_fields = {"rank_org"};
  std::unique_ptr<Emulator> e = StartOrDie(o);
  Http http(e->base_url());
  Reply r = http.Post("/searches/organizations",
                      {{"field_ids", {"uuid"}},
                       {"order", {{{"field_id", "rank_org"}, {"sort", "asc"}}}},
                       {"limit", 5}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.json(), Json::parse(R"([{"message": "insufficient permissions to sort field rank_org",
      "code": "MD403", "entity_def_id": "organization", "field_id": "rank_org",
      "entitlement_ids": []}])"));
}

std::string FixturesDir() {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("WATERSHED_CRUNCHBASE_FIXTURES")) candidates.push_back(env);
  candidates.push_back("/work/shared/fixtures/crunchbase/recorded");
  candidates.push_back("../shared/fixtures/crunchbase/recorded");
  candidates.push_back("../../shared/fixtures/crunchbase/recorded");
  for (const std::string& c : candidates) {
    struct stat st;
    if (stat(c.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return c;
  }
  return "";
}

Json ReadFixture(const std::string& dir, const std::string& name) {
  std::ifstream in(dir + "/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return Json::parse(ss.str())["interactions"][0];
}

TEST(EmulatorReplayTest, ServesRecordedResponses) {
  std::string dir = FixturesDir();
  if (dir.empty()) GTEST_SKIP() << "recorded fixtures not found";
  EmulatorOptions o;
  o.num_orgs = 10;
  o.replay_dir = dir;
  std::unique_ptr<Emulator> e = StartOrDie(o);
  std::string host = e->base_url().substr(0, e->base_url().size() - 7);
  Http http(e->base_url());

  Json ekohe = ReadFixture(dir, "organization_ekohe.json");
  std::string uri = ekohe["request"]["uri"];
  std::string path = uri.substr(uri.find("/api/v4"));
  Reply r = http.Get(host + path + "&user_key=REDACTED");  // user_key is ignored when matching
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json(), ekohe["response"]["body"]);

  Json people =
      ReadFixture(dir, "searches_people_with_first_name_and_last_name_order_first_name.json");
  Reply denied = http.Post("/searches/people", people["request"]["body"]);
  EXPECT_EQ(denied.status, 400);
  EXPECT_EQ(denied.json(), people["response"]["body"]);
  EXPECT_EQ(denied.json()[0]["code"], "MD403");

  Reply none = http.Get("/entities/organizations/watershed");
  EXPECT_EQ(none.status, 404);
  EXPECT_EQ(none.json()["code"], "CS404");
  EXPECT_NE(none.json()["error"].get<std::string>().find("no recording matches GET"),
            std::string::npos);
}

TEST(EmulatorDeterminismTest, SameSeedSameBytes) {
  Json body = {{"field_ids", {"identifier", "funding_total", "categories", "founded_on"}},
               {"order", {{{"field_id", "updated_at"}, {"sort", "desc"}}}},
               {"limit", 100}};
  std::string first[3];
  for (int i = 0; i < 3; ++i) {
    EmulatorOptions o;
    o.num_orgs = 300;
    o.seed = i < 2 ? 5 : 6;
    std::unique_ptr<Emulator> e = StartOrDie(o);
    Http http(e->base_url());
    Reply r = http.Post("/searches/organizations", body);
    ASSERT_EQ(r.status, 200);
    first[i] = r.body;
  }
  EXPECT_EQ(first[0], first[1]);
  EXPECT_NE(first[0], first[2]);
}

TEST(DatasetTest, ReferencesAreConsistent) {
  Dataset d(3000, 9);
  EXPECT_EQ(d.Count(Collection::kPeople), 1500u);
  std::set<std::string> permalinks;
  for (EntityRef ref : d.All(Collection::kOrganizations)) {
    EXPECT_TRUE(permalinks.insert(d.Permalink(ref)).second) << d.Permalink(ref);
  }
  double rounds = static_cast<double>(d.Count(Collection::kFundingRounds)) / 3000;
  double investments = static_cast<double>(d.Count(Collection::kInvestments)) /
                       static_cast<double>(d.Count(Collection::kFundingRounds));
  EXPECT_NEAR(rounds, 1.5, 0.2);
  EXPECT_NEAR(investments, 3.0, 0.3);
  bool saw_non_ascii = false;
  for (EntityRef ref : d.All(Collection::kOrganizations)) {
    for (char c : d.Name(ref)) saw_non_ascii = saw_non_ascii || (c & 0x80);
  }
  EXPECT_TRUE(saw_non_ascii);
  // Every investment's round exists and its organization is the round's.
  for (EntityRef ref : d.All(Collection::kInvestments)) {
    Json inv = d.Properties(ref);
    auto round = d.Find(Collection::kFundingRounds,
                        inv["funding_round_identifier"]["uuid"].get<std::string>());
    ASSERT_TRUE(round.has_value());
    Json round_props = d.Properties(*round);
    EXPECT_EQ(round_props["funded_organization_identifier"]["uuid"],
              inv["organization_identifier"]["uuid"]);
    EXPECT_EQ(inv["announced_on"], round_props["announced_on"]);
    std::string investor_collection =
        inv["investor_identifier"]["entity_def_id"] == "person" ? "people" : "organizations";
    EXPECT_TRUE(d.Find(*ParseCollection(investor_collection),
                       inv["investor_identifier"]["permalink"].get<std::string>())
                    .has_value());
    if (ref.index > 600) break;
  }
  // funding_total is the sum of the rounds' value_usd.
  const CardDef* rounds_card = d.FindCard(Collection::kOrganizations, "raised_funding_rounds");
  for (uint32_t i = 0; i < 300; ++i) {
    Json org = d.Properties({Collection::kOrganizations, i});
    double sum = 0;
    for (uint32_t r : d.CardItems(*rounds_card, i)) {
      Json round = d.Properties({Collection::kFundingRounds, r});
      if (round.contains("money_raised")) sum += round["money_raised"]["value_usd"].get<double>();
    }
    if (sum == 0) {
      EXPECT_FALSE(org.contains("funding_total"));
    } else {
      EXPECT_EQ(org["funding_total"]["value_usd"].get<double>(), sum);
    }
  }
  // Acquisitions use {value, precision} dates.
  Json acquisition = d.Properties({Collection::kAcquisitions, 0});
  EXPECT_TRUE(acquisition["announced_on"].contains("precision"));
}

TEST(DatasetTest, MutationIsDeterministicAndCascades) {
  Dataset a(150, 3), b(150, 3);
  MutationResult ma = a.Mutate(4, 4, "2026-02-03T04:05:06Z");
  MutationResult mb = b.Mutate(4, 4, "2026-02-03T04:05:06Z");
  EXPECT_EQ(ma.updated, mb.updated);
  EXPECT_EQ(ma.deleted, mb.deleted);
  // Nothing live refers to a removed organization.
  std::set<std::string> gone(ma.deleted.begin(), ma.deleted.end());
  for (Collection c : {Collection::kOrganizations, Collection::kFundingRounds,
                       Collection::kInvestments, Collection::kAcquisitions, Collection::kPeople}) {
    for (EntityRef ref : a.All(c)) {
      std::string props = a.Properties(ref).dump();
      for (const std::string& uuid : gone) {
        EXPECT_EQ(props.find(uuid), std::string::npos) << CollectionName(c) << " " << props;
      }
    }
  }
}

}  // namespace
}  // namespace watershed::emulators::crunchbase
