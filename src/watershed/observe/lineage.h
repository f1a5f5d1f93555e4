// observe/lineage.h — column lineage: what it records and tracing it.
//
// Owns: the lineage model (what a model build read: ModelLineage; a build: ModelBuild), load
// lineage — each lake column from the JSON path of the record it was flattened from (the path
// comes from normalize/naming.h), recorded at every load commit — and tracing a column upstream
// or downstream through the recorded edges into a LineageTree.
// Does not own: the tables (lineage_store.h), analysing model SQL and recording builds
// (transform/sql_lineage.h, transform/model_lineage.h), OpenLineage events (openlineage.h),
// rendering a tree (cli/lineage_view.h).
// Thread safety: functions are thread-safe; each call opens its own catalog connection.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/normalize/naming.h"
#include "watershed/project/project.h"

namespace watershed::observe {

// ---- what a model reads ----

// One input column of an output column (or of the whole model, for dataset-level inputs).
struct InputField {
  std::string dataset;  // "crunchbase.organizations" (lake) or "finance.dim_investor" (model)
  std::string field;    // column name
  std::string type;     // "DIRECT" or "INDIRECT"
  std::string subtype;  // IDENTITY, TRANSFORMATION, AGGREGATION | JOIN, FILTER, GROUP_BY, ...
  bool operator==(const InputField&) const = default;
};

struct OutputColumn {
  std::string name;
  std::string data_type;           // DuckDB's type when the query could be described; else ""
  std::vector<InputField> inputs;  // direct and column-specific indirect (CASE WHEN, window)
};

struct ModelLineage {
  std::string model;                       // "finance.fact_investment"
  std::vector<OutputColumn> columns;       // in output order
  std::vector<InputField> dataset_inputs;  // INDIRECT inputs of every row: WHERE, JOIN, GROUP BY
  std::map<std::string, std::string> input_datasets;  // every table the SQL reads -> lake/model
  bool column_level = true;  // false: DuckDB could not parse it; only input_datasets are known
  std::string note;          // why column_level is false, or columns that could not be resolved
};

// A model that a build ran.
struct ModelBuild {
  std::string model;         // "finance.fact_investment"
  std::string path;          // its file, for messages
  std::string sql;           // compiled with lake tables as "memory"."ns"."table"
  std::string materialized;  // view, table, incremental, snapshot
  bool ok = true;
  std::string error;  // when !ok
  double seconds = 0;
};

// ---- what a load wrote ----

// Records the lineage of the lake tables of one committed load (lake column <- JSON path) and
// emits OpenLineage events. Re-recording is idempotent (schemas only grow).
Status RecordLoadLineage(project::Project& project, int64_t load_id, int64_t snapshot_id,
                         const std::vector<normalize::TableSchema>& tables);

// ---- reading ----

enum class Direction { kUpstream, kDownstream };

struct TraceOptions {
  Direction direction = Direction::kUpstream;
  int depth = 0;          // 0 = no limit
  bool indirect = false;  // also follow INDIRECT edges (joins, filters, grouping)
};

struct LineageTree {
  std::string node;       // "finance.fact_funding_round.amount_usd", "json:ns.t:$.a.b"
  std::string kind;       // json, lake, model, dataset, column
  std::string data_type;  // when known
  // The edge from the parent to this node (empty at the root).
  std::string edge_kind;       // load, model
  std::string transformation;  // DIRECT / INDIRECT / TABLE
  std::string subtype;
  std::string via;                // the model or lake table that recorded the edge
  std::vector<std::string> also;  // further edges to the same node: "INDIRECT FILTER"
  bool cycle = false;             // already on the path: not expanded
  bool truncated = false;         // the depth limit stopped here (more edges exist)
  std::vector<LineageTree> children;
  bool operator==(const LineageTree&) const = default;
};

// Follows the recorded edges from `node`. An unknown node is kNotFound naming it and the closest
// known names; a negative depth is kInvalidArgument.
StatusOr<LineageTree> TraceLineage(project::Project& project, const std::string& node,
                                   const TraceOptions& options);

// Every recorded node, for completion and suggestions.
StatusOr<std::vector<std::string>> ListLineageNodes(project::Project& project);

}  // namespace watershed::observe
