// sources/crunchbase/unloader.h — the two Crunchbase modes, `full` and `specific`.
//
// Owns: what is requested and in which order. `full`: POST /searches/{collection}, `limit`
// 1000, ordered by updated_at ascending, keyset-paged with `after_id`; a first run reads
// everything, later runs only `updated_at gte <watermark>`, then /deleted_entities become
// tombstone records (`{"uuid": X, "_ws_deleted": true, "deleted_at": T}`). Progress is
// checkpointed every few pages through the Sink together with the cursor, so an interrupted
// run resumes after the last checkpoint. `specific`: organizations by permalink, uuid or name
// (names resolved with autocomplete; an ambiguous name is an error listing the candidates),
// with cards paged past their 100 inline items (card pages fetched concurrently, all under the
// one rate limit). Does not own: HTTP (api.h) or landing (the Sink; load/ implements it).
// Thread safety: one Unloader per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "watershed/base/status.h"
#include "watershed/sources/crunchbase/api.h"

namespace watershed::sources::crunchbase {

// How rows of a table replace each other when read (lake/reader.h): per value of `column`,
// kLatestRow keeps the newest row (entities by uuid; a row with `_ws_deleted` true hides the
// entity), kLatestLoad keeps every row of the newest load (an organization's card items).
struct TableKey {
  std::string column;
  std::string mode;  // "latest_row" or "latest_load"
};

// Where unloaded records go. Implemented by load/ over a LoadSession.
class Sink {
 public:
  virtual ~Sink() = default;
  // One record (a compact JSON object) for lake table `table`.
  virtual Status Add(const std::string& table, const TableKey& key, std::string_view json) = 0;
  // A tombstone: `json` holds the deleted record's key (and when it was deleted); its row is
  // stamped `_ws_deleted` = true, a system column client data cannot set.
  virtual Status AddTombstone(const std::string& table, const TableKey& key,
                              std::string_view json) = 0;
  // The same, already parsed (valid during the call only).
  virtual Status AddElement(const std::string& table, const TableKey& key,
                            simdjson::dom::element record) = 0;
  // A raw response body, kept in the raw zone before it is normalized.
  virtual Status Raw(const std::string& request, std::string_view body) = 0;
  // Commits everything added since the last checkpoint together with `cursor_value` stored
  // under `cursor_key` (source "crunchbase").
  virtual Status Checkpoint(const std::string& cursor_key, const std::string& cursor_value,
                            const nlohmann::json& summary) = 0;
  virtual StatusOr<std::optional<std::string>> Cursor(const std::string& cursor_key) = 0;
};

struct Progress {
  std::string phase;  // "search organizations", "deleted organizations", "organization facebook"
  int64_t pages = 0;
  int64_t entities = 0;
  int64_t expected = 0;  // `count` from the API (0 = unknown)
  double requests_per_minute = 0;
  double seconds = 0;
};

struct UnloadOptions {
  std::vector<std::string> collections = {"organizations"};
  std::vector<std::string> orgs;   // specific mode
  std::vector<std::string> cards;  // specific mode; empty = DefaultCards()
  int page_size = 1000;
  int commit_every_pages = 10;
  int64_t max_pages = 0;  // stop after this many search pages (0 = all); for trial runs
  // Per collection: field_ids to request (empty = DefaultFieldIds) and extra search predicates
  // (a JSON array of {"type":"predicate",...}) from watershed.yml.
  std::map<std::string, std::vector<std::string>> field_ids;
  std::map<std::string, nlohmann::json> predicates;
  std::function<void(const Progress&)> on_progress;
};

struct UnloadSummary {
  int64_t pages = 0;
  int64_t entities = 0;
  int64_t tombstones = 0;
  int64_t card_items = 0;
  int64_t checkpoints = 0;
  std::vector<std::string> not_found;  // specific mode: organizations that do not exist
  bool resumed = false;
};

std::vector<std::string> DefaultFieldIds(const std::string& collection);
std::vector<std::string> DefaultCards();
// "organizations" -> "crunchbase.organizations"; card tables: "crunchbase.organization_<card>".
std::string EntityTable(const std::string& collection);
std::string CardTable(const std::string& card);

class Unloader {
 public:
  Unloader(Api& api, Sink& sink, UnloadOptions options)
      : api_(api), sink_(sink), options_(std::move(options)) {}
  StatusOr<UnloadSummary> RunFull();
  StatusOr<UnloadSummary> RunSpecific();

 private:
  Status FullCollection(const std::string& collection, UnloadSummary* summary);
  StatusOr<std::string> Resolve(const std::string& org);
  void Report(const std::string& phase, int64_t pages, int64_t entities, int64_t expected);
  // Adds what the API client counted since the last call to the process metrics
  // (watershed_api_{requests,retries,throttled,response_bytes}_total{source="crunchbase"}).
  void PublishApiMetrics();

  Api& api_;
  Sink& sink_;
  UnloadOptions options_;
  double start_ = 0;
  uint64_t published_requests_ = 0, published_retries_ = 0, published_throttled_ = 0,
           published_bytes_ = 0;
};

}  // namespace watershed::sources::crunchbase
