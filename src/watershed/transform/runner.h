// transform/runner.h — building models into per-department marts (embedded DuckDB files).
//
// Owns: `watershed build`: one DuckDB instance per build, with every mart's file attached under
// the mart's name (`marts/<mart>.duckdb` in the project) and the lake's tables as views; models
// run layer by layer, the models of a layer in parallel; materializations view, table
// (CREATE OR REPLACE: readers never see half a table) and incremental (delete + insert on the
// unique key, in one transaction; `--full-refresh` rebuilds). A failing model is reported with
// its file and DuckDB's message; its downstream models are skipped; other branches still build.
// Also opening a mart for `watershed query --mart`. Publishing is gated by checks (quality/):
// a DuckDB mart with error-severity checks on its models (or whose models ref such a mart) is
// built in a copy of its file under `marts/.staging/`, its checks run on the copy, and only when
// none fails is the copy renamed over `marts/<mart>.duckdb` (readers see the old mart or the new
// one); otherwise the copy is dropped and the mart's models are reported as errors.
// PostgreSQL/Redshift marts are not gated. Does not own: the graph (graph.h), checks (quality/).
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
// views. `mart_files` attaches other files under some marts' names (the build's staging copies).
// `read_only` attaches the marts READ_ONLY (`watershed query --mart` without --write): a mart
// not built yet is then left out, and `use_mart` must have been built.
struct MartSession {
  std::unique_ptr<warehouse::Database> db;
  std::unique_ptr<warehouse::Connection> conn;
};
StatusOr<MartSession> OpenMarts(project::Project& project, const std::string& use_mart,
                                bool read_only = false);
StatusOr<MartSession> OpenMarts(project::Project& project, const std::string& use_mart,
                                const std::map<std::string, std::string>& mart_files,
                                bool read_only = false);

}  // namespace watershed::transform
