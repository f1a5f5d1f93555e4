// load/crunchbase.cc — see crunchbase.h.
#include "watershed/load/crunchbase.h"

#include "watershed/load/loader.h"

#include <chrono>
#include <cstdlib>
#include <set>

#include <yaml-cpp/yaml.h>

#include "watershed/packages/package_writer.h"

namespace watershed::load {
namespace {

using sources::crunchbase::TableKey;

// The Sink over a LoadSession: records are normalized into the session, raw bodies go to the
// package, a checkpoint seals the package part and commits with the cursor.
class SessionSink : public sources::crunchbase::Sink {
 public:
  SessionSink(LoadSession& session, packages::PackageWriter& package, lake::Catalog& catalog)
      : session_(session), package_(package), catalog_(catalog) {}

  Status Add(const std::string& table, const TableKey& key, std::string_view json) override {
    return AddJson(table, key, json, {});
  }

  Status AddTombstone(const std::string& table, const TableKey& key,
                      std::string_view json) override {
    const normalize::SystemValue deleted[] = {
        {normalize::kDeletedColumn, ColumnType::kBoolean, 1, {}}};
    return AddJson(table, key, json, deleted);
  }

  Status AddJson(const std::string& table, const TableKey& key, std::string_view json,
                 std::span<const normalize::SystemValue> system) {
    if (!keyed_.contains(table)) {
      WS_RETURN_IF_ERROR(session_.SetTableKey(table, key.column, key.mode));
      keyed_.insert(table);
    }
    Status s = session_.AddJson(table, json, false, system);
    if (!s.ok()) {
      // A record the normalizer refuses (a contract) is quarantined, never lost.
      session_.Quarantine(table, {"crunchbase", 0, 0, std::string(MessageOf(s)), json});
      ++quarantined_;
    }
    return session_.MaybeFlush();
  }

  Status AddElement(const std::string& table, const TableKey& key,
                    simdjson::dom::element record) override {
    if (!keyed_.contains(table)) {
      WS_RETURN_IF_ERROR(session_.SetTableKey(table, key.column, key.mode));
      keyed_.insert(table);
    }
    Status s = session_.AddElement(table, record);
    if (!s.ok()) {
      const std::string json = simdjson::minify(record);
      session_.Quarantine(table, {"crunchbase", 0, 0, std::string(MessageOf(s)), json});
      ++quarantined_;
    }
    return session_.MaybeFlush();
  }

  Status Raw(const std::string& request, std::string_view body) override {
    return package_.Add(request, body);
  }

  Status Checkpoint(const std::string& cursor_key, const std::string& cursor_value,
                    const nlohmann::json& summary) override {
    WS_RETURN_IF_ERROR(package_.Seal());
    nlohmann::json s = summary;
    s["package"] = package_.folder();
    WS_ASSIGN_OR_RETURN(int64_t snapshot,
                        session_.Commit({{"crunchbase", cursor_key, cursor_value}}, s));
    if (snapshot > 0) last_snapshot_ = snapshot;
    return absl::OkStatus();
  }

  StatusOr<std::optional<std::string>> Cursor(const std::string& cursor_key) override {
    return catalog_.GetCursor("crunchbase", cursor_key);
  }

  int64_t last_snapshot() const { return last_snapshot_; }
  int64_t quarantined() const { return quarantined_; }

 private:
  LoadSession& session_;
  packages::PackageWriter& package_;
  lake::Catalog& catalog_;
  std::set<std::string> keyed_;
  int64_t last_snapshot_ = 0;
  int64_t quarantined_ = 0;
};

// YAML (from watershed.yml) to JSON, for predicates passed through to the API.
nlohmann::json YamlToJson(const YAML::Node& n) {
  if (n.IsMap()) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& kv : n) j[kv.first.as<std::string>()] = YamlToJson(kv.second);
    return j;
  }
  if (n.IsSequence()) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& v : n) j.push_back(YamlToJson(v));
    return j;
  }
  if (n.IsScalar()) {
    const std::string v = n.Scalar();
    if (n.Tag() != "!") {  // unquoted: numbers and booleans keep their type
      if (v == "true" || v == "false") return v == "true";
      char* end = nullptr;
      long long i = std::strtoll(v.c_str(), &end, 10);
      if (!v.empty() && *end == '\0') return i;
      double d = std::strtod(v.c_str(), &end);
      if (!v.empty() && *end == '\0') return d;
    }
    return v;
  }
  return nullptr;
}

std::vector<std::string> Strings(const YAML::Node& n) {
  std::vector<std::string> out;
  if (n) {
    for (const auto& v : n) out.push_back(v.as<std::string>());
  }
  return out;
}

}  // namespace

StatusOr<CrunchbaseRun> CrunchbaseSettings(const project::Project& project) {
  CrunchbaseRun run;
  try {
    const YAML::Node& raw = project.config().raw;
    YAML::Node cfg;
    if (raw["sources"] && raw["sources"].IsMap() && raw["sources"]["crunchbase"]) {
      cfg = raw["sources"]["crunchbase"];
    }
    if (cfg && cfg["mode"]) run.mode = cfg["mode"].as<std::string>();
    if (cfg && cfg["base_url"]) run.api.base_url = cfg["base_url"].as<std::string>();
    if (cfg && cfg["api_key"]) run.api.api_key = cfg["api_key"].as<std::string>();
    if (cfg && cfg["rate_limit"]) run.api.requests_per_minute = cfg["rate_limit"].as<int>();
    if (cfg) {
      run.unload.orgs = Strings(cfg["orgs"]);
      run.unload.cards = Strings(cfg["cards"]);
      if (cfg["collections"]) run.unload.collections = Strings(cfg["collections"]);
      if (cfg["field_ids"]) {
        for (const auto& kv : cfg["field_ids"]) {
          run.unload.field_ids[kv.first.as<std::string>()] = Strings(kv.second);
        }
      }
      if (cfg["query"]) {
        for (const auto& kv : cfg["query"]) {
          run.unload.predicates[kv.first.as<std::string>()] = YamlToJson(kv.second);
        }
      }
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(StrCat("watershed.yml: sources.crunchbase: ", e.what()));
  }
  if (const char* url = std::getenv("CRUNCHBASE_BASE_URL"); url != nullptr && *url) {
    run.api.base_url = url;
  }
  if (const char* key = std::getenv("CRUNCHBASE_API_KEY"); key != nullptr && *key) {
    run.api.api_key = key;
  }
  return run;
}

StatusOr<CrunchbaseResult> RunCrunchbase(project::Project& project, CrunchbaseRun run) {
  const auto start = std::chrono::steady_clock::now();
  if (run.mode != "full" && run.mode != "specific") {
    return absl::InvalidArgumentError(
        StrCat("--mode must be full or specific, not '", run.mode, "'"));
  }
  WS_ASSIGN_OR_RETURN(auto api, sources::crunchbase::Api::Create(run.api));
  WS_ASSIGN_OR_RETURN(lake::Catalog * catalog, project.catalog());
  WS_ASSIGN_OR_RETURN(const sources::InputLimits limits, ResolveLimits(project, {}));
  run.session.max_columns = limits.max_columns;
  run.session.max_depth = limits.max_depth;
  WS_ASSIGN_OR_RETURN(auto session,
                      LoadSession::Begin(project, StrCat("crunchbase --mode ", run.mode, " ",
                                                         api->base_url()),
                                         run.session));
  auto package = packages::PackageWriter::Create(project.storage(), "crunchbase",
                                                 session->load_id());
  if (!package.ok()) {
    session->Abort(package.status());
    return package.status();
  }
  SessionSink sink(*session, **package, *catalog);
  sources::crunchbase::Unloader unloader(*api, sink, run.unload);
  auto summary = run.mode == "full" ? unloader.RunFull() : unloader.RunSpecific();
  if (!summary.ok()) {
    // What was checkpointed stays committed; the rest is discarded and read again next run.
    (*package)->Finish().IgnoreError();
    session->Abort(summary.status());
    return summary.status();
  }
  WS_RETURN_IF_ERROR((*package)->Finish());
  session->Finish();
  CrunchbaseResult r;
  r.unload = *summary;
  r.load_id = session->load_id();
  r.last_snapshot = sink.last_snapshot();
  r.rows = session->committed_rows();
  r.requests = api->http_stats().requests;
  r.retries = api->http_stats().retries;
  r.throttled = api->http_stats().throttled;
  r.package = (*package)->folder();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace watershed::load
