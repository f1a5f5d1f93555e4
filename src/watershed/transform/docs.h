// transform/docs.h — `watershed docs`: a browsable HTML description of the marts.
//
// Owns: one self-contained HTML page (no scripts, no network) listing every mart and model
// with its materialization, columns and types (from the built mart, when built), the lake
// tables it reads, its upstream and downstream models (as links), and its SQL.
// Does not own: building (runner.h). Thread safety: one call at a time per project.
#pragma once

#include <string>

#include "watershed/base/status.h"
#include "watershed/project/project.h"

namespace watershed::transform {

// Writes the page to `out_path` (created with its folder). Returns the number of models.
StatusOr<int> WriteDocs(project::Project& project, const std::string& out_path);

}  // namespace watershed::transform
