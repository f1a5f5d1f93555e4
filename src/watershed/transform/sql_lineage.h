// transform/sql_lineage.h — model column lineage from DuckDB's own parse of a model's SQL.
//
// Owns: for each output column of a model, the input columns it reads (json_serialize_sql:
// select lists, joins, CTEs, subqueries, set operations, `*` expanded from the inputs' real
// columns), with OpenLineage's transformation types (DIRECT: IDENTITY/TRANSFORMATION/
// AGGREGATION; INDIRECT: JOIN/FILTER/GROUP_BY/SORT/WINDOW/CONDITIONAL).
// Does not own: the lineage model (observe/lineage.h), storing it (observe/lineage_store.h,
// through model_lineage.h). Thread safety: thread-safe; a warehouse::Connection passed in is
// used by the calling thread only.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/observe/lineage.h"
#include "watershed/warehouse/duckdb/database.h"

namespace watershed::transform {

// The columns of an input table, by its qualified name as written in the SQL (catalog, schema,
// table — empty parts omitted); nullopt when unknown.
using SchemaLookup =
    std::function<std::optional<std::vector<std::string>>(const std::vector<std::string>& parts)>;

// Analyses one SELECT (a model compiled with lake tables as "memory"."ns"."table" and models as
// "mart"."name"). `conn` parses (json_serialize_sql), names aggregate functions
// (duckdb_functions()) and, when it can bind the query, gives the output names and types
// (DESCRIBE). When DuckDB cannot parse the SQL the result has column_level = false, a note, and
// no error. Errors: only when `conn` itself fails.
StatusOr<observe::ModelLineage> AnalyzeModelSql(warehouse::Connection& conn,
                                                const std::string& model, const std::string& sql,
                                                const SchemaLookup& schemas);

// The lineage dataset a table name parsed from model SQL stands for: lake views
// ("memory"."ns"."t") -> "ns.t", marts ("mart"."model") -> "mart.model".
std::string LineageDatasetOf(const std::vector<std::string>& parts);

// The names and types of a query's (or a relation's) result, when DuckDB can bind it.
std::optional<std::vector<std::pair<std::string, std::string>>> DescribeColumns(
    warehouse::Connection& conn, const std::string& what);

}  // namespace watershed::transform
