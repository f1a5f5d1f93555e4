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
  } else {  // incremental
    auto exists = (*conn)->Query(
        StrCat("SELECT count(*) FROM duckdb_tables() WHERE database_name = ",
               QuoteLiteral(m.mart), " AND table_name = ", QuoteLiteral(m.name)));
    const bool fresh = full_refresh || !exists.ok() || exists->GetInt64(0, 0) == 0;
    if (fresh) {
      s = (*conn)->Execute(StrCat("CREATE OR REPLACE TABLE ", target, " AS ", sql));
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
