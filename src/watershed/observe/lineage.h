// observe/lineage.h — column lineage: where every lake column and mart column comes from.
//
// Owns: (1) load lineage — each lake column from the JSON path of the record it was flattened
// from (the inverse of the normalizer's naming rules, docs/formats/normalized-tables.md);
// (2) model lineage — for each output column of a model, the input columns it reads, from
// DuckDB's own parse of the model's SQL (json_serialize_sql: select lists, joins, CTEs,
// subqueries, set operations, `*` expanded from the inputs' real columns), with OpenLineage's
// transformation types (DIRECT: IDENTITY/TRANSFORMATION/AGGREGATION; INDIRECT: JOIN/FILTER/
// GROUP_BY/SORT/WINDOW/CONDITIONAL); (3) the `lineage_*` tables in the catalog's SQLite
// database (docs/formats/lineage.md) and (4) tracing a column upstream or downstream.
// Does not own: OpenLineage events (openlineage.h), building models (transform/), loads (load/).
// Thread safety: functions are thread-safe; each call opens its own SQLite connection (busy
// timeout 30 s), so several processes may record and read at once. A warehouse::Connection
// passed in is used by the calling thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "watershed/base/columns.h"
#include "watershed/base/status.h"
#include "watershed/project/project.h"
#include "watershed/warehouse/duckdb/database.h"

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

// The columns of an input table, by its qualified name as written in the SQL (catalog, schema,
// table — empty parts omitted); nullopt when unknown.
using SchemaLookup =
    std::function<std::optional<std::vector<std::string>>(const std::vector<std::string>& parts)>;

// Analyses one SELECT (a model compiled with lake tables as "memory"."ns"."table" and models as
// "mart"."name"). `conn` parses (json_serialize_sql), names aggregate functions
// (duckdb_functions()) and, when it can bind the query, gives the output names and types
// (DESCRIBE). When DuckDB cannot parse the SQL the result has column_level = false, a note, and
// no error. Errors: only when `conn` itself fails.
StatusOr<ModelLineage> AnalyzeModelSql(warehouse::Connection& conn, const std::string& model,
                                       const std::string& sql, const SchemaLookup& schemas);

// ---- what a load wrote ----

// A lake table as committed: name, parent ("" for a root table) and its columns.
struct LakeTableSchema {
  std::string name;
  std::string parent;
  std::vector<ColumnSpec> columns;
};

// The JSON path (relative to one record of the root table) a lake column was flattened from:
// `funding_total__value_usd` -> `$.funding_total.value_usd`, a child table's column
// `$.categories[*].value`, a scalar array element `$.tags[*]`, a variant column
// `rank__v_varchar` -> `$.rank`. nullopt for system columns (_ws_id, ...). `tables` must hold
// the table and its ancestors.
std::optional<std::string> JsonPathOf(const std::vector<LakeTableSchema>& tables,
                                      const std::string& table, const std::string& column);
// The root table a (child) table belongs to: "crunchbase.organizations__categories" ->
// "crunchbase.organizations".
std::string RootTableOf(const std::vector<LakeTableSchema>& tables, const std::string& table);

// ---- recording ----

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

// Records the lineage of each successful build (replacing the model's previous lineage) and
// emits OpenLineage START + COMPLETE/FAIL events when watershed.yml configures a sink. `conn`
// must see the lake views ("memory"."ns"."table") and the marts (attached by name), as a
// build's session does. Call in build order. A model DuckDB cannot parse gets table-level
// lineage and a warning. Errors: the catalog database could not be written.
Status RecordModelBuilds(project::Project& project, warehouse::Connection& conn,
                         const std::vector<ModelBuild>& builds);

// Records the lineage of the lake tables of one committed load (lake column <- JSON path) and
// emits OpenLineage events. Re-recording is idempotent (schemas only grow).
Status RecordLoadLineage(project::Project& project, int64_t load_id, int64_t snapshot_id,
                         const std::vector<LakeTableSchema>& tables);

// ---- reading ----

enum class Direction { kUpstream, kDownstream };

struct TraceOptions {
  Direction direction = Direction::kUpstream;
  int depth = 0;          // 0 = no limit
  bool indirect = false;  // also follow INDIRECT edges (joins, filters, grouping)
};

struct LineageTree {
  std::string node;       // "finance.fact_funding_round.amount_usd", "json:ns.t:$.a.b"
  std::string kind;       // json, lake, model, dataset
  std::string data_type;  // when known
  // The edge from the parent to this node (empty at the root).
  std::string edge_kind;       // load, model
  std::string transformation;  // DIRECT / INDIRECT
  std::string subtype;
  std::string via;                // the model or lake table that recorded the edge
  std::vector<std::string> also;  // further edges to the same node: "INDIRECT FILTER"
  bool cycle = false;             // already on the path: not expanded
  bool truncated = false;         // the depth limit stopped here (more edges exist)
  std::vector<LineageTree> children;
};

// Follows the recorded edges from `node`. An unknown node is kNotFound naming it and the closest
// known names.
StatusOr<LineageTree> TraceLineage(project::Project& project, const std::string& node,
                                   const TraceOptions& options);
// An indented tree (`└─ node  [DIRECT TRANSFORMATION via finance.stg_funding_rounds]`).
std::string FormatLineageTree(const LineageTree& tree);
// The same as JSON: {"node","kind","type","edge":{...},"children":[...]}.
std::string FormatLineageJson(const LineageTree& tree);

// `watershed lineage NODE [--upstream|--downstream] [--depth N] [--indirect]
// [--format tree|json]`: writes the tree to `out`.
Status LineageCommand(project::Project& project, const std::string& node,
                      const TraceOptions& options, const std::string& format, std::string* out);

// Every recorded node, for completion and suggestions.
StatusOr<std::vector<std::string>> ListLineageNodes(project::Project& project);

}  // namespace watershed::observe
