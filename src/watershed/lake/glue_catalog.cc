// lake/glue_catalog.cc — see glue_catalog.h; the Glue calls: docs/formats/iceberg.md.
#include "watershed/lake/glue_catalog.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <random>

#include "watershed/base/log.h"
#include "watershed/base/retry.h"
#include "watershed/base/strings.h"

namespace watershed::lake {

using nlohmann::json;

namespace {

constexpr char kTarget[] = "AWSGlue";
// Tries of one table's update when a concurrent writer keeps changing it.
constexpr int kConflictTries = 5;

RetryPolicy ThrottlePolicy() {
  return RetryPolicy{.max_attempts = 8,
                     .initial_backoff = absl::Milliseconds(200),
                     .multiplier = 2.0,
                     .max_backoff = absl::Seconds(10),
                     .jitter = 0.3};
}

bool ValidGlueName(std::string_view name) {
  return !name.empty() && name.size() <= 255 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

Status BadAnswer(std::string_view action, std::string_view what) {
  return absl::UnavailableError(StrCat("glue ", action, ": unexpected answer: ", what));
}

}  // namespace

StatusOr<GlueSettings> GlueSettingsFromYaml(const YAML::Node& node, const std::string& where,
                                            const EnvLookup& getenv) {
  if (!node || !node.IsMap()) {
    return absl::InvalidArgumentError(StrCat(
        where,
        ": catalogs.glue must be a map, e.g. {region: eu-west-1, database: watershed_lake}"));
  }
  GlueSettings out;
  auto scalar = [&](const char* key, std::string& target) -> Status {
    const YAML::Node v = node[key];
    if (!v) return absl::OkStatus();
    if (!v.IsScalar()) {
      return absl::InvalidArgumentError(StrCat(where, ": catalogs.glue.", key, " must be text"));
    }
    target = v.as<std::string>();
    return absl::OkStatus();
  };
  WS_RETURN_IF_ERROR(scalar("database", out.database));
  WS_RETURN_IF_ERROR(scalar("catalog_id", out.catalog_id));
  if (out.database.empty()) {
    return absl::InvalidArgumentError(
        StrCat(where,
               ": catalogs.glue.database is required (the Glue database the lake's tables "
               "are registered in, e.g. watershed_lake)"));
  }
  if (!ValidGlueName(out.database)) {
    return absl::InvalidArgumentError(
        StrCat(where, ": catalogs.glue.database \"", out.database,
               "\" is not a name Athena accepts: use lowercase letters, digits and _ (at most "
               "255), e.g. ",
               GlueTableName(out.database)));
  }
  if (!out.catalog_id.empty() &&
      (out.catalog_id.size() != 12 || !std::all_of(out.catalog_id.begin(), out.catalog_id.end(),
                                                   [](char c) { return c >= '0' && c <= '9'; }))) {
    return absl::InvalidArgumentError(
        StrCat(where, ": catalogs.glue.catalog_id must be a 12-digit AWS account id"));
  }
  auto aws = net::AwsConfigFromYaml(node, getenv);
  if (!aws.ok()) return Annotate(aws.status(), StrCat(where, ": catalogs.glue"));
  out.aws = *std::move(aws);
  return out;
}

std::string GlueTableName(std::string_view table) {
  std::string out;
  for (char c : table) {
    const char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out += (l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '_' ? l : '_';
  }
  return out;
}

std::string GlueColumnType(std::string_view iceberg_type) {
  if (iceberg_type == "long") return "bigint";
  if (iceberg_type == "int") return "int";
  if (iceberg_type.starts_with("decimal")) {
    std::string out(iceberg_type);
    out.erase(std::remove(out.begin(), out.end(), ' '), out.end());
    return out;
  }
  // boolean, double, float, date, timestamp and string are spelled alike.
  return std::string(iceberg_type);
}

json GlueTableInput(const IcebergTablePointer& table) {
  json columns = json::array();
  for (const iceberg::Field& f : table.schema.fields) {
    columns.push_back({{"Name", f.name},
                       {"Type", GlueColumnType(f.type)},
                       {"Parameters",
                        {{"iceberg.field.id", std::to_string(f.id)},
                         {"iceberg.field.optional", f.required ? "false" : "true"},
                         {"iceberg.field.current", "true"}}}});
  }
  json parameters = {{"table_type", "ICEBERG"},
                     {"metadata_location", table.metadata_location},
                     {"watershed_table", table.table}};
  if (!table.previous_metadata_location.empty()) {
    parameters["previous_metadata_location"] = table.previous_metadata_location;
  }
  return {{"Name", GlueTableName(table.table)},
          {"Description", StrCat("Watershed lake table ", table.table, " (Apache Iceberg v2)")},
          {"TableType", "EXTERNAL_TABLE"},
          {"Parameters", parameters},
          {"StorageDescriptor", {{"Location", table.location}, {"Columns", columns}}}};
}

struct GlueCatalog::Existing {
  std::string name;
  std::string version_id;
  std::map<std::string, std::string> parameters;
};

GlueCatalog::GlueCatalog(GlueSettings settings, std::shared_ptr<net::HttpClient> client,
                         Clock* clock)
    : settings_(std::move(settings)), client_(std::move(client)), clock_(clock) {
  if (!client_) {
    // A publish runs after a commit: an unreachable Glue holds it for seconds, not minutes.
    net::HttpClientOptions options;
    options.retry = RetryPolicy{.max_attempts = 4,
                                .initial_backoff = absl::Milliseconds(200),
                                .multiplier = 2.0,
                                .max_backoff = absl::Seconds(2),
                                .jitter = 0.3};
    options.connect_timeout = absl::Seconds(5);
    options.request_timeout = absl::Seconds(30);
    client_ = std::make_shared<net::HttpClient>(options);
  }
}

StatusOr<std::string> GlueCatalog::Call(std::string_view action, const json& request) {
  json body = request;
  if (!settings_.catalog_id.empty()) body["CatalogId"] = settings_.catalog_id;
  const std::string text = body.dump();
  // HttpClient retries what the network breaks (5xx, resets); Glue's throttling is an HTTP 400
  // answer (ThrottlingException), waited out here.
  const RetryPolicy policy = ThrottlePolicy();
  const uint64_t seed = std::random_device{}();
  for (int attempt = 1;; ++attempt) {
    auto answer = net::AwsJsonCall(*client_, settings_.aws, kGlueService, kTarget, action, text);
    if (answer.ok() || answer.status().code() != absl::StatusCode::kResourceExhausted ||
        attempt >= policy.max_attempts) {
      return answer;
    }
    (clock_ ? clock_ : Clock::Real())->SleepFor(policy.Backoff(attempt, seed));
  }
}

Status GlueCatalog::EnsureDatabase() {
  if (database_ready_) return absl::OkStatus();
  auto got = Call("GetDatabase", {{"Name", settings_.database}});
  if (!got.ok()) {
    if (net::AwsErrorCode(got.status()) != "EntityNotFoundException") return got.status();
    auto made =
        Call("CreateDatabase", {{"DatabaseInput",
                                 {{"Name", settings_.database},
                                  {"Description",
                                   "Watershed lake tables (Apache Iceberg), kept current by "
                                   "every commit"}}}});
    if (!made.ok() && net::AwsErrorCode(made.status()) != "AlreadyExistsException") {
      return made.status();
    }
    LogInfo(StrCat("created the Glue database ", settings_.database));
  }
  database_ready_ = true;
  return absl::OkStatus();
}

namespace {

StatusOr<std::optional<std::string>> Text(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return absl::UnavailableError(StrCat("field ", key, " is not text"));
  return std::optional<std::string>(it->get<std::string>());
}

}  // namespace

GlueCatalog::Existing GlueCatalog::ExistingFrom(const json& table) {
  Existing e;
  if (table.contains("Name") && table["Name"].is_string()) e.name = table["Name"];
  if (table.contains("VersionId") && table["VersionId"].is_string()) {
    e.version_id = table["VersionId"];
  }
  if (table.contains("Parameters") && table["Parameters"].is_object()) {
    for (auto& [k, v] : table["Parameters"].items()) {
      if (v.is_string()) e.parameters[k] = v.get<std::string>();
    }
  }
  return e;
}

StatusOr<std::vector<GlueCatalog::Existing>> GlueCatalog::ListTables() {
  std::vector<Existing> out;
  std::string token;
  do {
    json request = {{"DatabaseName", settings_.database}, {"MaxResults", kGluePageSize}};
    if (!token.empty()) request["NextToken"] = token;
    WS_ASSIGN_OR_RETURN(std::string answer, Call("GetTables", request));
    const json doc = json::parse(answer, nullptr, false);
    if (!doc.is_object() || !doc.contains("TableList") || !doc["TableList"].is_array()) {
      return BadAnswer("GetTables", "no TableList");
    }
    for (const json& t : doc["TableList"]) {
      if (!t.contains("Name") || !t["Name"].is_string()) return BadAnswer("GetTables", "no Name");
      out.push_back(ExistingFrom(t));
    }
    auto next = Text(doc, "NextToken");
    if (!next.ok()) return BadAnswer("GetTables", std::string(next.status().message()));
    token = next->value_or("");
  } while (!token.empty());
  return out;
}

StatusOr<std::optional<GlueCatalog::Existing>> GlueCatalog::GetTable(const std::string& name) {
  auto answer = Call("GetTable", {{"DatabaseName", settings_.database}, {"Name", name}});
  if (!answer.ok()) {
    if (net::AwsErrorCode(answer.status()) == "EntityNotFoundException") {
      return std::optional<Existing>();
    }
    return answer.status();
  }
  const json doc = json::parse(*answer, nullptr, false);
  if (!doc.is_object() || !doc.contains("Table") || !doc["Table"].is_object()) {
    return BadAnswer("GetTable", "no Table");
  }
  Existing e = ExistingFrom(doc["Table"]);
  e.name = name;
  return std::optional<Existing>(std::move(e));
}

namespace {

// Whether Glue's entry `e` is the Iceberg table of lake table `p` (written by a lake at this or
// another location: a migrated lake re-points its tables).
bool Ours(const std::map<std::string, std::string>& params, const IcebergTablePointer& p) {
  auto get = [&](const char* k) {
    auto it = params.find(k);
    return it == params.end() ? std::string() : it->second;
  };
  if (ToLower(get("table_type")) != "iceberg") return false;
  return get("watershed_table") == p.table ||
         get("metadata_location").starts_with(StrCat(p.location, "/metadata/"));
}

Status NotOurs(const std::string& database, const std::string& glue_name,
               const std::string& table) {
  return absl::FailedPreconditionError(
      StrCat("Glue table ", database, ".", glue_name,
             " exists and is not the Iceberg table of lake table ", table,
             ": drop or rename it in Glue, or register the lake in another database "
             "(catalogs.glue.database)"));
}

}  // namespace

StatusOr<GlueRegistration::Action> GlueCatalog::Put(const IcebergTablePointer& table,
                                                    std::optional<Existing> existing) {
  const json input = GlueTableInput(table);
  const std::string glue_name = input["Name"];
  for (int attempt = 1;; ++attempt) {
    if (!existing) {
      auto made =
          Call("CreateTable", {{"DatabaseName", settings_.database}, {"TableInput", input}});
      if (made.ok()) return GlueRegistration::Action::kCreated;
      if (net::AwsErrorCode(made.status()) != "AlreadyExistsException" ||
          attempt >= kConflictTries) {
        return made.status();
      }
      WS_ASSIGN_OR_RETURN(existing, GetTable(glue_name));  // created meanwhile: update it
      continue;
    }
    if (!Ours(existing->parameters, table)) {
      return NotOurs(settings_.database, glue_name, table.table);
    }
    const std::string& current = existing->parameters["metadata_location"];
    if (current == table.metadata_location ||
        (current.starts_with(StrCat(table.location, "/metadata/")) &&
         IcebergMetadataVersion(current) > table.metadata_version)) {
      return GlueRegistration::Action::kUnchanged;  // as new, or newer (another process)
    }
    json request = {{"DatabaseName", settings_.database},
                    {"TableInput", input},
                    {"SkipArchive", true},
                    {"VersionId", existing->version_id}};
    auto updated = Call("UpdateTable", request);
    if (updated.ok()) return GlueRegistration::Action::kUpdated;
    const std::string code = net::AwsErrorCode(updated.status());
    if ((code != "ConcurrentModificationException" && code != "EntityNotFoundException") ||
        attempt >= kConflictTries) {
      return updated.status();
    }
    // Changed (or dropped) since it was read: read it again and decide again.
    WS_ASSIGN_OR_RETURN(existing, GetTable(glue_name));
  }
}

StatusOr<std::vector<GlueRegistration>> GlueCatalog::Register(
    const std::vector<IcebergTablePointer>& tables) {
  std::map<std::string, const IcebergTablePointer*> by_name;
  for (const IcebergTablePointer& t : tables) {
    auto [it, fresh] = by_name.emplace(GlueTableName(t.table), &t);
    if (!fresh && it->second->table != t.table) {
      return absl::InvalidArgumentError(StrCat("lake tables ", it->second->table, " and ", t.table,
                                               " have one Glue name, ", it->first,
                                               ": rename one of them"));
    }
    if (it->first.size() > 255) {
      return absl::InvalidArgumentError(
          StrCat("lake table ", t.table, ": its Glue name is longer than 255 characters"));
    }
  }
  if (by_name.empty()) return std::vector<GlueRegistration>{};
  WS_RETURN_IF_ERROR(EnsureDatabase());
  // A commit's few tables are read one by one; more through GetTables' pages.
  std::map<std::string, Existing> existing;
  if (by_name.size() <= 3) {
    for (const auto& [name, t] : by_name) {
      WS_ASSIGN_OR_RETURN(auto e, GetTable(name));
      if (e) existing.emplace(name, *std::move(e));
    }
  } else {
    WS_ASSIGN_OR_RETURN(auto listed, ListTables());
    for (Existing& e : listed) {
      if (by_name.contains(e.name)) existing.emplace(e.name, std::move(e));
    }
  }
  for (const auto& [name, t] : by_name) {
    auto it = existing.find(name);
    if (it != existing.end() && !Ours(it->second.parameters, *t)) {
      return NotOurs(settings_.database, name, t->table);
    }
  }
  std::vector<GlueRegistration> out;
  for (const auto& [name, t] : by_name) {
    auto it = existing.find(name);
    std::optional<Existing> e;
    if (it != existing.end()) e = it->second;
    auto action = Put(*t, std::move(e));
    if (!action.ok())
      return Annotate(action.status(), StrCat("registering ", t->table, " in Glue"));
    out.push_back({t->table, name, *action, t->metadata_version});
  }
  return out;
}

Status GlueCatalog::Publish(const std::vector<IcebergTablePointer>& tables) {
  return Register(tables).status();
}

}  // namespace watershed::lake
