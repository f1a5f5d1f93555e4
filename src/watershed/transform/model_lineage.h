// transform/model_lineage.h — recording the column lineage of the models a build ran.
//
// Owns: turning each successful build's analysed SQL (sql_lineage.h) into lineage nodes and
// edges written through observe::LineageStore (replacing the model's previous lineage), and the
// OpenLineage START + COMPLETE/FAIL events of each build. Does not own: the analysis
// (sql_lineage.h), the tables (observe/lineage_store.h), running models (runner.h).
// Thread safety: thread-safe; `conn` is used by the calling thread only.
#pragma once

#include <vector>

#include "watershed/base/status.h"
#include "watershed/observe/lineage.h"
#include "watershed/project/project.h"
#include "watershed/warehouse/duckdb/database.h"

namespace watershed::transform {

// Records the lineage of each successful build and emits OpenLineage events when watershed.yml
// configures a sink. `conn` must see the lake views ("memory"."ns"."table") and the marts
// (attached by name), as a build's session does. Call in build order. A model DuckDB cannot
// parse gets table-level lineage and a warning. Errors: the catalog database could not be
// written.
Status RecordModelBuilds(project::Project& project, warehouse::Connection& conn,
                         const std::vector<observe::ModelBuild>& builds);

}  // namespace watershed::transform
