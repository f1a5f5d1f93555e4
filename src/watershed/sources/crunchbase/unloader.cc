// sources/crunchbase/unloader.cc — see unloader.h.
#include "watershed/sources/crunchbase/unloader.h"

#include <chrono>
#include <future>
#include <set>

#include "absl/cleanup/cleanup.h"
#include "watershed/base/columns.h"
#include "watershed/base/metrics.h"

namespace watershed::sources::crunchbase {
namespace {

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

const TableKey kByUuid{"uuid", "latest_row"};
const TableKey kByOrganization{"organization_uuid", "latest_load"};

bool LooksLikeUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

bool LooksLikePermalink(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) ||
          c == '-' || c == '_' || c == '.')) {
      return false;
    }
  }
  return true;
}

// `{"a":1}` + ("k", "v") -> `{"k":"v","a":1}`.
std::string WithField(std::string_view object_json, std::string_view key, std::string_view value) {
  std::string out = StrCat("{\"", key, "\":", nlohmann::json(std::string(value)).dump());
  if (object_json.size() > 2) out += ",";
  out += object_json.substr(1);
  return out;
}

std::string ItemUuid(std::string_view item) {
  auto j = nlohmann::json::parse(item, nullptr, false);
  if (!j.is_object()) return "";
  if (j.contains("uuid") && j["uuid"].is_string()) return j["uuid"];
  if (j.contains("identifier") && j["identifier"].is_object()) {
    return j["identifier"].value("uuid", "");
  }
  return "";
}

}  // namespace

std::vector<std::string> DefaultFieldIds(const std::string& collection) {
  if (collection == "organizations") {
    return {"uuid", "identifier", "permalink", "name", "short_description", "description",
            "categories", "location_identifiers", "founded_on", "funding_total",
            "num_funding_rounds", "last_funding_type", "rank_org", "operating_status",
            "website", "facet_ids", "created_at", "updated_at"};
  }
  if (collection == "people") {
    return {"uuid", "identifier", "permalink", "first_name", "last_name", "name",
            "primary_organization", "created_at", "updated_at"};
  }
  if (collection == "funding_rounds") {
    return {"uuid", "identifier", "permalink", "funded_organization_identifier", "announced_on",
            "investment_type", "money_raised", "num_investors", "lead_investor_identifiers",
            "investor_identifiers", "created_at", "updated_at"};
  }
  if (collection == "investments") {
    return {"uuid", "identifier", "funding_round_identifier", "investor_identifier",
            "organization_identifier", "is_lead_investor", "money_invested", "announced_on",
            "created_at", "updated_at"};
  }
  if (collection == "acquisitions") {
    return {"uuid", "identifier", "permalink", "acquiree_identifier", "acquirer_identifier",
            "announced_on", "price", "created_at", "updated_at"};
  }
  return {"uuid", "identifier", "created_at", "updated_at"};
}

std::vector<std::string> DefaultCards() {
  return {"raised_funding_rounds", "investors", "founders", "headquarters_address",
          "participated_investments", "acquiree_acquisitions"};
}

std::string EntityTable(const std::string& collection) {
  return StrCat("crunchbase.", collection);
}

std::string CardTable(const std::string& card) { return StrCat("crunchbase.organization_", card); }

void Unloader::PublishApiMetrics() {
  const net::HttpStats& s = api_.http_stats();
  auto publish = [](const char* name, uint64_t now, uint64_t* published) {
    if (now <= *published) return;
    metrics::GetCounter(name, {{"source", "crunchbase"}})
        .Inc(static_cast<double>(now - *published));
    *published = now;
  };
  publish("watershed_api_requests_total", s.requests.load(), &published_requests_);
  publish("watershed_api_retries_total", s.retries.load(), &published_retries_);
  publish("watershed_api_throttled_total", s.throttled.load(), &published_throttled_);
  publish("watershed_api_response_bytes_total", s.bytes.load(), &published_bytes_);
}

void Unloader::Report(const std::string& phase, int64_t pages, int64_t entities,
                      int64_t expected) {
  PublishApiMetrics();
  if (!options_.on_progress) return;
  Progress p;
  p.phase = phase;
  p.pages = pages;
  p.entities = entities;
  p.expected = expected;
  p.seconds = NowSeconds() - start_;
  p.requests_per_minute =
      p.seconds > 0 ? api_.http_stats().requests.load() * 60.0 / p.seconds : 0;
  options_.on_progress(p);
}

StatusOr<UnloadSummary> Unloader::RunFull() {
  start_ = NowSeconds();
  absl::Cleanup publish = [this] { PublishApiMetrics(); };  // also after an error
  UnloadSummary summary;
  for (const std::string& c : options_.collections) {
    WS_RETURN_IF_ERROR(Annotate(FullCollection(c, &summary), StrCat("crunchbase ", c)));
  }
  return summary;
}

Status Unloader::FullCollection(const std::string& collection, UnloadSummary* summary) {
  const std::string table = EntityTable(collection);
  const std::string cursor_key = StrCat(collection, ":search");
  WS_ASSIGN_OR_RETURN(auto stored, sink_.Cursor(cursor_key));
  nlohmann::json state = nlohmann::json::object();
  if (stored) state = nlohmann::json::parse(*stored, nullptr, false);
  if (!state.is_object()) state = nlohmann::json::object();
  const bool resuming = state.value("state", "") == "running";
  summary->resumed |= resuming;
  // The query of this run: everything updated at or after the previous run's watermark.
  std::string query_watermark =
      resuming ? state.value("query_watermark", "") : state.value("watermark", "");
  std::string after_id = resuming ? state.value("after_id", "") : "";
  std::string max_updated = resuming ? state.value("max_updated", "") : "";
  std::string deleted_watermark =
      state.value("deleted_watermark", resuming ? state.value("run_started", "") : IsoUtc(NowMicros(), /*fraction=*/false));
  const std::string run_started = resuming ? state.value("run_started", IsoUtc(NowMicros(), /*fraction=*/false)) : IsoUtc(NowMicros(), /*fraction=*/false);
  // Entities updated exactly at the watermark were landed by the previous run already: the
  // cursor lists them so that `updated_at gte watermark` re-reads nothing.
  auto to_set = [](const nlohmann::json& j) {
    std::set<std::string> out;
    if (j.is_array()) {
      for (const auto& u : j) out.insert(u.get<std::string>());
    }
    return out;
  };
  const std::set<std::string> seen_at_watermark =
      to_set(resuming ? state.value("query_boundary", nlohmann::json::array())
                      : state.value("boundary", nlohmann::json::array()));
  std::set<std::string> boundary =
      resuming ? to_set(state.value("boundary", nlohmann::json::array())) : std::set<std::string>();

  std::vector<std::string> fields = options_.field_ids.contains(collection)
                                        ? options_.field_ids[collection]
                                        : DefaultFieldIds(collection);
  nlohmann::json query = nlohmann::json::array();
  if (options_.predicates.contains(collection) && options_.predicates[collection].is_array()) {
    for (const auto& p : options_.predicates[collection]) query.push_back(p);
  }
  if (!query_watermark.empty()) {
    query.push_back({{"type", "predicate"},
                     {"field_id", "updated_at"},
                     {"operator_id", "gte"},
                     {"values", {query_watermark}}});
  }
  std::set<std::string> deleted_boundary_now =
      to_set(state.value("deleted_boundary", nlohmann::json::array()));
  auto save = [&](const std::string& run_state, int64_t pages, int64_t entities) -> Status {
    const bool done = run_state == "done";
    if (done && !max_updated.empty() && max_updated == query_watermark) {
      boundary.insert(seen_at_watermark.begin(), seen_at_watermark.end());
    }
    nlohmann::json c = {{"state", run_state},          {"query_watermark", query_watermark},
                        {"query_boundary", seen_at_watermark},
                        {"boundary", done && max_updated.empty() ? seen_at_watermark : boundary},
                        {"after_id", after_id},         {"max_updated", max_updated},
                        {"run_started", run_started},   {"deleted_watermark", deleted_watermark},
                        {"deleted_boundary", deleted_boundary_now},
                        {"watermark", done ? (max_updated.empty() ? query_watermark : max_updated)
                                           : state.value("watermark", "")}};
    nlohmann::json s = {{"source", "crunchbase"}, {"collection", collection},
                        {"pages", pages},          {"entities", entities}};
    ++summary->checkpoints;
    PublishApiMetrics();  // stored with the checkpoint's commit
    return sink_.Checkpoint(cursor_key, c.dump(), s);
  };

  int64_t pages = 0, entities = 0, pages_since_commit = 0, expected = 0;
  const std::string phase = StrCat("search ", collection);
  auto request_after = [&](const std::string& after) {
    nlohmann::json body = {{"field_ids", fields},
                           {"query", query},
                           {"order", {{{"field_id", "updated_at"}, {"sort", "asc"}}}},
                           {"limit", options_.page_size}};
    if (!after.empty()) body["after_id"] = after;
    return body.dump();
  };
  auto fetch = [this, &collection](std::string request) {
    return std::async(std::launch::async, [this, collection, request] {
      return api_.Search(collection, request);
    });
  };
  // The next page is requested as soon as this one is parsed, so the server prepares it while
  // this one is normalized and written.
  std::string request = request_after(after_id);
  auto next = fetch(request);
  while (true) {
    WS_ASSIGN_OR_RETURN(SearchPage page, next.get());
    const std::string this_request = request;
    const bool last = static_cast<int>(page.entities.size()) < options_.page_size ||
                      (options_.max_pages > 0 && summary->pages + 1 >= options_.max_pages);
    if (!last) {
      request = request_after(page.entities.back().uuid);
      next = fetch(request);
    }
    WS_RETURN_IF_ERROR(
        sink_.Raw(StrCat("POST /searches/", collection, " ", this_request), page.raw));
    expected = page.count;
    int64_t landed = 0;
    for (const Entity& e : page.entities) {
      if (e.updated_at == query_watermark && seen_at_watermark.contains(e.uuid)) continue;
      WS_RETURN_IF_ERROR(e.element ? sink_.AddElement(table, kByUuid, *e.element)
                                   : sink_.Add(table, kByUuid, e.properties));
      ++landed;
      if (e.updated_at > max_updated) {
        max_updated = e.updated_at;
        boundary.clear();
      }
      if (e.updated_at == max_updated) boundary.insert(e.uuid);
    }
    ++pages;
    ++pages_since_commit;
    entities += landed;
    summary->pages++;
    summary->entities += landed;
    if (!page.entities.empty()) after_id = page.entities.back().uuid;
    Report(phase, pages, entities, expected);
    if (last) break;
    if (pages_since_commit >= options_.commit_every_pages) {
      WS_RETURN_IF_ERROR(save("running", pages, entities));
      pages_since_commit = 0;
    }
  }

  // Deletions since the previous run become tombstones (those at the watermark that the
  // previous run applied are listed in the cursor, as for updates).
  const std::set<std::string> deleted_before =
      to_set(state.value("deleted_boundary", nlohmann::json::array()));
  std::set<std::string> deleted_boundary = deleted_before;
  std::string deleted_after, newest_deleted = deleted_watermark;
  int64_t tombstones = 0;
  while (true) {
    WS_ASSIGN_OR_RETURN(auto deleted, api_.DeletedEntities(collection, deleted_after, 1000));
    for (const Deleted& d : deleted) {
      if (d.deleted_at < deleted_watermark) continue;
      if (d.deleted_at == deleted_watermark && deleted_before.contains(d.uuid)) continue;
      if (d.deleted_at > newest_deleted) deleted_boundary.clear();
      if (d.deleted_at >= newest_deleted) deleted_boundary.insert(d.uuid);
      nlohmann::json t = {{"uuid", d.uuid}, {"deleted_at", d.deleted_at}};
      WS_RETURN_IF_ERROR(sink_.AddTombstone(table, kByUuid, t.dump()));
      ++tombstones;
      if (d.deleted_at > newest_deleted) newest_deleted = d.deleted_at;
    }
    if (deleted.size() < 1000) break;
    deleted_after = deleted.back().uuid;
  }
  summary->tombstones += tombstones;
  deleted_watermark = newest_deleted;
  deleted_boundary_now = deleted_boundary;
  return save("done", pages, entities);
}

StatusOr<std::string> Unloader::Resolve(const std::string& org) {
  if (LooksLikeUuid(org)) return org;
  if (LooksLikePermalink(org)) return org;  // tried as a permalink; a 404 falls back to names
  WS_ASSIGN_OR_RETURN(auto candidates, api_.Autocomplete(org, "organizations", 25));
  std::vector<Candidate> exact;
  for (const Candidate& c : candidates) {
    if (ToLower(c.name) == ToLower(org)) exact.push_back(c);
  }
  if (exact.size() == 1) return exact[0].permalink.empty() ? exact[0].uuid : exact[0].permalink;
  const std::vector<Candidate>& list = exact.empty() ? candidates : exact;
  if (list.empty()) {
    return absl::NotFoundError(StrCat("no organization named '", org, "'"));
  }
  std::string names;
  for (size_t i = 0; i < list.size() && i < 10; ++i) {
    names += StrCat(i ? ", " : "", list[i].name, " (", list[i].permalink, ")");
  }
  return absl::InvalidArgumentError(
      StrCat("'", org, "' is ambiguous: ", list.size(), " organizations match: ", names,
             ". Pass a permalink or uuid with --org"));
}

StatusOr<UnloadSummary> Unloader::RunSpecific() {
  start_ = NowSeconds();
  absl::Cleanup publish = [this] { PublishApiMetrics(); };  // also after an error
  UnloadSummary summary;
  if (options_.orgs.empty()) {
    return absl::InvalidArgumentError(
        "--mode specific needs at least one --org PERMALINK|UUID|NAME (or sources.crunchbase.orgs "
        "in watershed.yml)");
  }
  const std::vector<std::string> cards = options_.cards.empty() ? DefaultCards() : options_.cards;
  const std::vector<std::string> fields = options_.field_ids.contains("organizations")
                                              ? options_.field_ids["organizations"]
                                              : DefaultFieldIds("organizations");
  int64_t done = 0;
  for (const std::string& org : options_.orgs) {
    Report(StrCat("organization ", org), done, summary.entities, options_.orgs.size());
    auto id = Resolve(org);
    if (!id.ok()) {
      if (id.status().code() == absl::StatusCode::kNotFound) {
        summary.not_found.push_back(StrCat(org, ": ", MessageOf(id.status())));
        continue;
      }
      return id.status();
    }
    auto looked = api_.Lookup("organizations", *id, fields, cards);
    if (!looked.ok() && looked.status().code() == absl::StatusCode::kNotFound &&
        !LooksLikeUuid(org)) {
      // A lower-case word may be a name rather than a permalink.
      auto candidates = api_.Autocomplete(org, "organizations", 25);
      if (candidates.ok()) {
        for (const Candidate& c : *candidates) {
          if (ToLower(c.name) == ToLower(org) && c.permalink != *id) {
            looked = api_.Lookup("organizations", c.permalink, fields, cards);
            break;
          }
        }
      }
    }
    if (!looked.ok()) {
      if (looked.status().code() == absl::StatusCode::kNotFound) {
        summary.not_found.push_back(StrCat(org, ": ", MessageOf(looked.status())));
        continue;
      }
      return Annotate(looked.status(), StrCat("organization ", org));
    }
    LookupResult& r = *looked;
    WS_RETURN_IF_ERROR(sink_.Raw(StrCat("GET /entities/organizations/", *id), r.raw));
    WS_RETURN_IF_ERROR(sink_.Add(EntityTable("organizations"), kByUuid, r.entity.properties));
    ++summary.entities;

    // Cards with a full inline page continue on the card endpoint; all cards page concurrently.
    std::vector<std::future<StatusOr<std::vector<std::string>>>> more(r.cards.size());
    for (size_t i = 0; i < r.cards.size(); ++i) {
      const auto& [card, items] = r.cards[i];
      if (items.size() < 100) continue;
      std::string first_after = ItemUuid(items.back());
      more[i] = std::async(std::launch::async, [this, card = std::string(card), first_after,
                                                 uuid = r.entity.uuid]()
                               -> StatusOr<std::vector<std::string>> {
        std::vector<std::string> all;
        std::string after = first_after;
        while (!after.empty()) {
          WS_ASSIGN_OR_RETURN(auto page, api_.CardPage("organizations", uuid, card, after, 100));
          for (auto& item : page) all.push_back(std::move(item));
          if (page.size() < 100) break;
          after = ItemUuid(all.back());
        }
        return all;
      });
    }
    for (size_t i = 0; i < r.cards.size(); ++i) {
      auto& [card, items] = r.cards[i];
      if (more[i].valid()) {
        WS_ASSIGN_OR_RETURN(auto rest, more[i].get());
        for (auto& item : rest) items.push_back(std::move(item));
      }
      for (const std::string& item : items) {
        if (item.empty() || item[0] != '{') continue;
        WS_RETURN_IF_ERROR(sink_.Add(CardTable(card), kByOrganization,
                                     WithField(item, "organization_uuid", r.entity.uuid)));
        ++summary.card_items;
      }
    }
    nlohmann::json s = {{"source", "crunchbase"}, {"mode", "specific"}, {"organization", org}};
    PublishApiMetrics();
    WS_RETURN_IF_ERROR(
        sink_.Checkpoint(StrCat("organization:", r.entity.uuid), r.entity.updated_at, s));
    ++summary.checkpoints;
    ++done;
  }
  Report("done", done, summary.entities, options_.orgs.size());
  return summary;
}

}  // namespace watershed::sources::crunchbase
