// transform/runner.h — building models into per-department marts (embedded DuckDB files).
//
// Owns: `watershed build`: one DuckDB instance per build, with every mart's file attached under
// the mart's name (`marts/<mart>.duckdb` in the project) and the lake's tables as views; models
// run layer by layer, the models of a layer in parallel; materializations view, table
// (CREATE OR REPLACE: readers never see half a table) and incremental (delete + insert on the
// unique key, in one transaction; `--full-refresh` rebuilds). A failing model is reported with
// its file and DuckDB's message; its downstream models are skipped; other branches still build.
// Also opening a mart for `watershed query --mart`. Does not own: the graph (graph.h).
// Thread safety: one build at a time per project (DuckDB locks the mart files).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/project/project.h"
#include "watershed/warehouse/duckdb/database.h"

namespace watershed::transform {

struct BuildOptions {
  std::vector<std::string> select;
  bool full_refresh = false;
  int threads = 2;  // models built at once
};

struct ModelResult {
  std::string model;  // mart.name
  std::string materialized;
  std::string status;  // ok, error, skipped
  std::string message;
  int64_t rows = 0;
  double seconds = 0;
};

StatusOr<std::vector<ModelResult>> Build(project::Project& project, const BuildOptions& options);

// Where a mart lives (watershed.yml `marts: {finance: {target: postgres://..., type: redshift}}`):
// type duckdb (default: marts/<mart>.duckdb), postgres or redshift (target = a libpq URL).
// PostgreSQL/Redshift marts get their lake tables copied in (COPY, swapped in atomically) before
// their models run; models of a mart are schemas `<mart>` there.
struct MartTarget {
  std::string type = "duckdb";
  std::string target;
};
StatusOr<std::map<std::string, MartTarget>> MartTargets(project::Project& project);

// A DuckDB with the project's DuckDB marts attached (and `USE <mart>`) and the lake's tables as
// views.
struct MartSession {
  std::unique_ptr<warehouse::Database> db;
  std::unique_ptr<warehouse::Connection> conn;
};
StatusOr<MartSession> OpenMarts(project::Project& project, const std::string& use_mart);

}  // namespace watershed::transform
