// transform/runner.cc — see runner.h.
#include "watershed/transform/runner.h"

#include <chrono>
#include <filesystem>
#include <future>
#include <set>

#include "watershed/lake/reader.h"
#include "watershed/transform/graph.h"

namespace watershed::transform {
namespace {

namespace fs = std::filesystem;
using warehouse::QuoteIdent;
using warehouse::QuoteLiteral;

std::vector<std::string> MartNames(project::Project& project) {
  std::set<std::string> marts;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(project.root()) / "models", ec)) {
    if (e.is_directory()) marts.insert(e.path().filename().string());
  }
  return {marts.begin(), marts.end()};
}

bool TableExists(warehouse::Connection& conn, const Model& m) {
  auto exists = conn.Query(StrCat("SELECT count(*) FROM duckdb_tables() WHERE database_name = ",
                                  QuoteLiteral(m.mart), " AND table_name = ", QuoteLiteral(m.name)));
  return exists.ok() && exists->GetInt64(0, 0) > 0;
}

// SCD type 2: every version of a row, with valid_from, valid_to (NULL while current) and
// is_current. A changed row closes its current version and opens a new one; a key that is gone
// from the source has its current version closed (a hard delete). Strategy `timestamp`: a row
// changed when its updated_at column grew, and versions are stamped with updated_at; strategy
// `check`: a row changed when a hash of check_cols changed, stamped with the build's time.
Status RunSnapshot(warehouse::Connection& conn, const Model& m, const std::string& target,
                   const std::string& sql) {
  const std::string key = QuoteIdent(m.config.at("unique_key"));
  const bool by_time = !m.config.contains("strategy") || m.config.at("strategy") == "timestamp";
  WS_RETURN_IF_ERROR(conn.Execute(StrCat("CREATE OR REPLACE TEMP TABLE ws_src AS ", sql)));
  std::string hash = "NULL";
  if (!by_time) {
    std::vector<std::string> cols;
    if (m.config.at("check_cols") == "all") {
      WS_ASSIGN_OR_RETURN(auto d, conn.Query("SELECT column_name FROM (DESCRIBE ws_src)"));
      for (size_t i = 0; i < d.row_count(); ++i) cols.push_back(d.GetString(0, i));
    } else {
      std::string list = m.config.at("check_cols");
      for (size_t start = 0; start <= list.size();) {
        size_t comma = list.find(',', start);
        if (comma == std::string::npos) comma = list.size();
        std::string c = list.substr(start, comma - start);
        c.erase(0, c.find_first_not_of(' '));
        c.erase(c.find_last_not_of(' ') + 1);
        if (!c.empty()) cols.push_back(c);
        start = comma + 1;
      }
    }
    hash = "md5(concat_ws('||'";
    for (const auto& c : cols) hash += StrCat(", coalesce(CAST(", QuoteIdent(c), " AS VARCHAR), '')");
    hash += "))";
  }
  const std::string stamp =
      by_time ? StrCat("CAST(s.", QuoteIdent(m.config.at("updated_at")), " AS TIMESTAMP)")
              : "CAST(current_timestamp AS TIMESTAMP)";
  if (!TableExists(conn, m)) {
    return conn.Execute(StrCat("CREATE TABLE ", target, " AS SELECT s.*, ", hash,
                               " AS _ws_hashdiff, ", stamp, " AS valid_from, CAST(NULL AS "
                               "TIMESTAMP) AS valid_to, true AS is_current FROM ws_src s"));
  }
  const std::string changed =
      by_time ? StrCat("s.", QuoteIdent(m.config.at("updated_at")), " > t.",
                       QuoteIdent(m.config.at("updated_at")))
              : StrCat("t._ws_hashdiff IS DISTINCT FROM (SELECT ", hash,
                       " FROM ws_src s2 WHERE s2.", key, " = s.", key, ")");
  Status s = conn.Execute(StrCat(
      "BEGIN; ",
      // Versions that changed are closed...
      "UPDATE ", target, " AS t SET valid_to = ", stamp, ", is_current = false FROM ws_src s "
      "WHERE t.is_current AND t.", key, " = s.", key, " AND ", changed, "; ",
      // ...keys gone from the source are closed (hard deletes)...
      "UPDATE ", target, " AS t SET valid_to = CAST(current_timestamp AS TIMESTAMP), "
      "is_current = false WHERE t.is_current AND NOT EXISTS (SELECT 1 FROM ws_src s WHERE s.",
      key, " = t.", key, "); ",
      // ...and new and changed keys get a current version.
      "INSERT INTO ", target, " SELECT s.*, ", hash, ", ", stamp, ", NULL, true FROM ws_src s "
      "WHERE NOT EXISTS (SELECT 1 FROM ", target, " t WHERE t.", key, " = s.", key,
      " AND t.is_current); COMMIT"));
  if (!s.ok()) conn.Execute("ROLLBACK").IgnoreError();
  return s;
}

ModelResult RunModel(warehouse::Database& db, const Model& m, bool full_refresh) {
  const auto start = std::chrono::steady_clock::now();
  ModelResult r{m.id(), m.materialized(), "ok", "", 0, 0};
  auto conn = db.Connect();
  if (!conn.ok()) {
    r.status = "error";
    r.message = std::string(MessageOf(conn.status()));
    return r;
  }
  const std::string target = StrCat(QuoteIdent(m.mart), ".", QuoteIdent(m.name));
  const std::string sql = Compile(m);
  Status s;
  if (r.materialized == "view") {
    s = (*conn)->Execute(StrCat("CREATE OR REPLACE VIEW ", target, " AS ", sql));
  } else if (r.materialized == "table") {
    s = (*conn)->Execute(StrCat("CREATE OR REPLACE TABLE ", target, " AS ", sql));
  } else if (r.materialized == "snapshot") {
    s = RunSnapshot(**conn, m, target, sql);
  } else {  // incremental
    const bool fresh = full_refresh || !TableExists(**conn, m);
    const bool append = m.config.contains("incremental_strategy") &&
                        m.config.at("incremental_strategy") == "append_new";
    if (fresh) {
      s = (*conn)->Execute(StrCat("CREATE OR REPLACE TABLE ", target, " AS ", sql));
    } else if (append) {  // insert-only: rows whose key is new
      const std::string key = QuoteIdent(m.config.at("unique_key"));
      s = (*conn)->Execute(StrCat("INSERT INTO ", target, " BY NAME SELECT * FROM (", sql,
                                  ") n WHERE NOT EXISTS (SELECT 1 FROM ", target, " t WHERE t.",
                                  key, " = n.", key, ")"));
    } else {
      const std::string key = QuoteIdent(m.config.at("unique_key"));
      s = (*conn)->Execute(StrCat(
          "BEGIN; CREATE TEMP TABLE ws_new AS ", sql, "; DELETE FROM ", target, " WHERE ", key,
          " IN (SELECT ", key, " FROM ws_new); INSERT INTO ", target,
          " BY NAME SELECT * FROM ws_new; DROP TABLE ws_new; COMMIT"));
      if (!s.ok()) (*conn)->Execute("ROLLBACK").IgnoreError();
    }
  }
  if (s.ok()) {
    auto count = (*conn)->Query(StrCat("SELECT count(*) FROM ", target));
    if (count.ok()) r.rows = count->GetInt64(0, 0);
    else s = count.status();
  }
  if (!s.ok()) {
    r.status = "error";
    r.message = StrCat(m.path, ": ", MessageOf(s));
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace

StatusOr<MartSession> OpenMarts(project::Project& project, const std::string& use_mart) {
  MartSession s;
  WS_ASSIGN_OR_RETURN(s.db, warehouse::Database::Open(""));
  WS_ASSIGN_OR_RETURN(s.conn, s.db->Connect());
  WS_ASSIGN_OR_RETURN(lake::Catalog * catalog, project.catalog());
  WS_ASSIGN_OR_RETURN(int64_t snapshot, catalog->LatestSnapshot());
  if (snapshot > 0) {
    WS_RETURN_IF_ERROR(lake::AttachLakeViews(*s.conn, *catalog, project.storage(), snapshot, ""));
  }
  const fs::path dir = fs::path(project.root()) / "marts";
  std::error_code ec;
  fs::create_directories(dir, ec);
  bool found = use_mart.empty();
  for (const std::string& mart : MartNames(project)) {
    found |= mart == use_mart;
    WS_RETURN_IF_ERROR(s.conn->Execute(StrCat("ATTACH ", QuoteLiteral((dir / (mart + ".duckdb")).string()),
                                              " AS ", QuoteIdent(mart))));
  }
  if (!found) {
    return absl::NotFoundError(StrCat("no mart named '", use_mart, "' (marts are the folders in ",
                                      (fs::path(project.root()) / "models").string(), ")"));
  }
  if (!use_mart.empty()) WS_RETURN_IF_ERROR(s.conn->Execute(StrCat("USE ", QuoteIdent(use_mart))));
  return s;
}

StatusOr<std::vector<ModelResult>> Build(project::Project& project, const BuildOptions& options) {
  WS_ASSIGN_OR_RETURN(auto models,
                      DiscoverModels((fs::path(project.root()) / "models").string()));
  if (models.empty()) {
    return absl::NotFoundError(StrCat("no models: write SELECTs as models/<mart>/<name>.sql in ",
                                      project.root()));
  }
  WS_ASSIGN_OR_RETURN(Graph graph, BuildGraph(std::move(models)));
  WS_ASSIGN_OR_RETURN(auto selected, Select(graph, options.select));
  WS_ASSIGN_OR_RETURN(MartSession session, OpenMarts(project, ""));

  std::vector<ModelResult> results(graph.models.size());
  std::vector<bool> failed(graph.models.size(), false);
  std::vector<int> order;
  for (const auto& layer : Layers(graph, selected)) {
    std::vector<int> runnable;
    for (int v : layer) {
      order.push_back(v);
      int bad = -1;
      for (int u : graph.upstream[v]) {
        if (failed[u]) bad = u;
      }
      if (bad >= 0) {
        failed[v] = true;
        results[v] = {graph.models[v].id(), graph.models[v].materialized(), "skipped",
                      StrCat("upstream ", graph.models[bad].id(), " did not build"), 0, 0};
      } else {
        runnable.push_back(v);
      }
    }
    // The layer's models run in parallel, `threads` at a time.
    for (size_t i = 0; i < runnable.size(); i += std::max(1, options.threads)) {
      std::vector<std::future<ModelResult>> running;
      for (size_t j = i; j < runnable.size() && j < i + std::max(1, options.threads); ++j) {
        const Model& m = graph.models[runnable[j]];
        running.push_back(std::async(std::launch::async, [&session, &m, &options] {
          return RunModel(*session.db, m, options.full_refresh);
        }));
      }
      for (size_t j = 0; j < running.size(); ++j) {
        int v = runnable[i + j];
        results[v] = running[j].get();
        failed[v] = results[v].status != "ok";
      }
    }
  }
  std::vector<ModelResult> out;
  for (int v : order) out.push_back(results[v]);
  return out;
}

}  // namespace watershed::transform
