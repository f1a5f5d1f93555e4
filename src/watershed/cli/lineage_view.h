// cli/lineage_view.h — rendering a lineage tree (observe/lineage.h) for `watershed lineage`.
//
// Owns: the indented tree text (`└─ node  [DIRECT TRANSFORMATION, model finance.stg]`) and the
// JSON form ({"node","kind","type","edge":{...},"children":[...]}); both are the command's
// output format, asserted byte for byte by tests. Does not own: tracing (observe/lineage.h).
// Thread safety: pure functions.
#pragma once

#include <string>

#include "watershed/base/status.h"
#include "watershed/observe/lineage.h"

namespace watershed::cli {

enum class LineageFormat { kTree, kJson };
// "tree" or "json"; anything else is kInvalidArgument naming both.
StatusOr<LineageFormat> ParseLineageFormat(const std::string& name);

// An indented tree, one node per line.
std::string FormatLineageTree(const observe::LineageTree& tree);
// The tree as indented JSON, ending in a newline.
std::string FormatLineageJson(const observe::LineageTree& tree);
std::string RenderLineage(const observe::LineageTree& tree, LineageFormat format);

}  // namespace watershed::cli
