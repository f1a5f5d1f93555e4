// emulators/crunchbase/dataset.h — the synthetic data the Crunchbase API v4 emulator serves.
//
// Owns: a deterministic dataset generated from (num_orgs, seed) — organizations, people, funding
// rounds, investments, acquisitions, headquarters addresses and a deleted-entities list — kept
// as compact structs; the per-collection field tables that render an entity's properties as
// Crunchbase v4 JSON (absent values are absent keys) and give typed values for search predicates
// and ordering; the per-collection card tables; Mutate() for incremental-extract tests; and the
// small JSON writer and date helpers the server shares.
// Does not belong here: HTTP, request parsing, paging, keys, faults, replay (server.h).
// Thread safety: const methods may run concurrently with each other; Mutate() needs exclusive
// access (the Emulator guards the dataset with a shared_mutex; use Emulator::Mutate while it
// serves).
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace watershed::emulators::crunchbase {

// The collections the emulator serves. Addresses exist only as the `headquarters_address` card
// of an organization (and by uuid lookup); they are not searchable.
enum class Collection : uint8_t {
  kOrganizations,
  kPeople,
  kFundingRounds,
  kInvestments,
  kAcquisitions,
  kAddresses,
};
inline constexpr int kNumCollections = 6;

// "organizations", "people", "funding_rounds", "investments", "acquisitions", "addresses".
std::string_view CollectionName(Collection c);
// "organization", "person", "funding_round", "investment", "acquisition", "address".
std::string_view EntityDefId(Collection c);
// Accepts a collection name or an entity_def_id ("organizations" or "organization").
std::optional<Collection> ParseCollection(std::string_view name);

// A 128-bit id printed as 8-4-4-4-12 lowercase hex; ordering equals the printed order.
struct Uuid {
  uint64_t hi = 0;
  uint64_t lo = 0;
  auto operator<=>(const Uuid&) const = default;
  std::string ToString() const;
  void AppendTo(std::string* out) const;
  static std::optional<Uuid> Parse(std::string_view text);
};

struct EntityRef {
  Collection collection = Collection::kOrganizations;
  uint32_t index = 0;
  bool operator==(const EntityRef&) const = default;
};

// Dates and times as the API prints them. Timestamps are seconds since the Unix epoch (UTC).
std::string FormatTimestamp(int64_t seconds);  // "2022-07-19T01:29:26Z"
std::string FormatDate(int64_t seconds);       // "2022-07-19"
// Accepts "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SS" with optional fraction and "Z"/"+00:00", or "YYYY".
std::optional<int64_t> ParseTimestamp(std::string_view text);

// Appends JSON to a string without building a tree; commas are placed automatically.
class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(out) {}
  void BeginObject();
  void EndObject();
  void BeginArray();
  void EndArray();
  void Key(std::string_view key);
  void String(std::string_view value);
  void Int(int64_t value);
  void Double(double value);  // integral values print without a fraction
  void Bool(bool value);
  void Raw(std::string_view json);  // an already-serialized value
  std::string* out() { return out_; }

 private:
  void Separate();
  std::string* out_;
  int depth_ = 0;
  bool after_key_ = false;
  bool need_comma_[64] = {};
};
void AppendJsonString(std::string* out, std::string_view value);

// How a field is compared in predicates and ordering.
enum class FieldKind {
  kString,  // text; `website`/`linkedin` objects compare by their url
  kNumber,  // integers and floats
  kBool,
  kTime,         // timestamps and dates (plain or {value, precision}), compared as epoch seconds
  kMoney,        // {value, currency, value_usd}, compared by value_usd
  kIdentifiers,  // one identifier or a list of them; matched by uuid or permalink
  kStrings,      // a list of strings (facet_ids, aliases)
};

// A field's value for predicates and ordering. `number` holds kNumber, kBool (0/1), kTime (epoch
// seconds) and kMoney (USD); `text` holds kString and a single identifier's value (its sort key);
// `items` holds kIdentifiers (uuid and permalink of each) and kStrings.
struct FieldValue {
  bool present = false;
  double number = 0;
  std::string text;
  std::vector<std::string> items;
};

namespace internal {
struct Data;
}

struct FieldDef {
  std::string name;
  FieldKind kind = FieldKind::kString;
  bool sortable = false;
  // Writes `"name": value` for entity `index`, or nothing when the value is absent.
  std::function<void(const internal::Data&, uint32_t index, JsonWriter&)> write;
  std::function<FieldValue(const internal::Data&, uint32_t index)> value;
};

// A card: the related entities of one entity, rendered as `item_collection` entities.
struct CardDef {
  std::string name;
  Collection item_collection = Collection::kOrganizations;
  // The related entities (live only; the caller sorts).
  std::function<std::vector<uint32_t>(const internal::Data&, uint32_t index)> items;
};

struct DeletedEntity {
  Uuid uuid;
  Collection collection = Collection::kOrganizations;
  int64_t deleted_at = 0;
};

struct MutationResult {
  std::vector<std::string> updated;          // organizations chosen for update
  std::vector<std::string> deleted;          // organizations chosen for removal
  std::vector<std::string> cascade_updated;  // entities whose references changed (any collection)
  std::vector<std::string> cascade_deleted;  // rounds, investments, acquisitions of removed orgs
};

class Dataset {
 public:
  // Generates everything; ~1 s for 100,000 organizations. num_orgs >= 1.
  Dataset(int num_orgs, uint64_t seed);
  ~Dataset();
  Dataset(const Dataset&) = delete;
  Dataset& operator=(const Dataset&) = delete;

  int num_orgs() const;
  uint64_t seed() const;

  // Slots (including deleted entities) and live entities of a collection.
  uint32_t Size(Collection c) const;
  bool IsLive(EntityRef ref) const;
  size_t Count(Collection c) const;
  std::vector<EntityRef> All(Collection c) const;  // live, in generation order

  // A live entity by uuid or permalink (addresses: uuid only).
  std::optional<EntityRef> Find(Collection c, std::string_view uuid_or_permalink) const;
  // Any entity (live or deleted) by uuid, for keyset paging past a deleted entity.
  std::optional<EntityRef> FindAnyByUuid(Collection c, const Uuid& uuid) const;
  Uuid UuidOf(EntityRef ref) const;
  std::string Permalink(EntityRef ref) const;  // empty for addresses
  std::string Name(EntityRef ref) const;       // the identifier's value
  // Lowercase name of an organization or person, for autocomplete.
  std::string_view LowerName(EntityRef ref) const;
  int64_t UpdatedAt(EntityRef ref) const;

  // Field tables, in a fixed order per collection.
  const std::vector<FieldDef>& Fields(Collection c) const;
  const FieldDef* FindField(Collection c, std::string_view name) const;
  void WriteField(const FieldDef& field, uint32_t index, JsonWriter& w) const;
  FieldValue Value(const FieldDef& field, uint32_t index) const;
  // `{"name": value, ...}` for the given fields (all fields when `fields` is empty).
  void WriteProperties(EntityRef ref, const std::vector<const FieldDef*>& fields,
                       JsonWriter& w) const;
  // Every field of an entity, parsed (tests compute expected results from this).
  nlohmann::json Properties(EntityRef ref) const;

  // Card tables.
  const std::vector<CardDef>& Cards(Collection c) const;
  const CardDef* FindCard(Collection c, std::string_view name) const;
  // The card's live items, sorted by uuid.
  std::vector<uint32_t> CardItems(const CardDef& card, uint32_t index) const;

  // Deleted entities (historical ones plus those Mutate removed), sorted by (deleted_at, uuid).
  const std::vector<DeletedEntity>& deleted() const;

  // Deterministic in (seed, number of earlier Mutate calls): removes `remove` live organizations
  // (with their funding rounds and those rounds' investments, the investments they made and the
  // acquisitions they took part in; people pointing at them lose primary_organization) and
  // updates `update` other live organizations (updated_at = now and one changed field).
  // `now_iso` is "YYYY-MM-DDTHH:MM:SSZ"; an unparseable value means the current time.
  MutationResult Mutate(int update, int remove, std::string now_iso);

 private:
  std::unique_ptr<internal::Data> data_;
};

}  // namespace watershed::emulators::crunchbase
