// transform/mart_query.h — `watershed query`: one SQL statement against a mart or the lake,
// whichever engine holds it, answered as a table of text cells.
//
// Owns: choosing the engine of a mart (its `marts:` target in watershed.yml: DuckDB by default,
// PostgreSQL or Redshift through libpq with `search_path` set to the mart's schema; the
// real-time mart of the streams), reading the lake at a snapshot (the lake's tables as DuckDB
// views), and turning either engine's result into a QueryResult. Does not own: which snapshot
// a read sees (the caller resolves --snapshot/--as-of), rendering (cli/output.h), or building
// marts (runner.h). Thread safety: each call opens its own connections; a Project is used by
// one thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/project/project.h"

namespace watershed::transform {

// A query's answer as text: DuckDB renders every type as text; PostgreSQL answers in text.
struct QueryResult {
  std::vector<std::string> columns;
  // Per column: a number or a boolean (DuckDB types; PostgreSQL columns are all false).
  std::vector<bool> numeric;
  std::vector<std::vector<std::string>> rows;  // at most max_rows; "" for NULL
  std::vector<std::vector<bool>> nulls;        // same shape as rows
  int64_t total_rows = 0;                      // rows the query returned
  std::string engine;                          // duckdb, postgres or redshift

  bool truncated() const { return static_cast<int64_t>(rows.size()) < total_rows; }
};

struct QueryOptions {
  size_t max_rows = 0;  // rows kept in QueryResult::rows; 0 = all
  bool write = false;   // a mart query may change the mart (else it is opened read-only)
};

// Runs `sql` in mart `mart`: its models by name, other DuckDB marts as <mart>.<model>, the
// lake's tables as namespace.name (DuckDB marts). kNotFound names the known marts when `mart`
// is none of them; SQL errors carry the engine's message.
StatusOr<QueryResult> QueryMart(project::Project& project, const std::string& mart,
                                const std::string& sql, const QueryOptions& options = {});

// Runs `sql` (DuckDB dialect) over the lake's tables as of `snapshot` (0: nothing was ever
// committed, so no tables exist), addressed as namespace.name.
StatusOr<QueryResult> QueryLake(project::Project& project, int64_t snapshot, const std::string& sql,
                                const QueryOptions& options = {});

}  // namespace watershed::transform
