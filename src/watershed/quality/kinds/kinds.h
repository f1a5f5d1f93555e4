// quality/kinds/kinds.h — the factories of the check kinds, one per file in this folder
// (docs/formats/checks.md describes each). Only quality/registry.cc calls them.
// Thread safety: a kind is stateless; one instance serves every thread.
#pragma once

#include <memory>

#include "watershed/quality/check.h"

namespace watershed::quality::kinds {

std::unique_ptr<CheckKind> NotNull();         // not_null.cc: {not_null: col | [cols]}
std::unique_ptr<CheckKind> Unique();          // unique.cc: {unique: col | [cols]} (composite)
std::unique_ptr<CheckKind> AcceptedValues();  // accepted_values.cc: {column, values}
std::unique_ptr<CheckKind> Range();           // range.cc: {column, min, max}
std::unique_ptr<CheckKind> Regex();           // regex.cc: {column, pattern} (whole value)
std::unique_ptr<CheckKind> RowCount();        // row_count.cc: {min, max} rows
std::unique_ptr<CheckKind> Freshness();       // freshness.cc: {column, max_age}
std::unique_ptr<CheckKind> Relationships();   // relationships.cc: {column, to, field}
std::unique_ptr<CheckKind> Schema();          // schema.cc: {columns, exact}
std::unique_ptr<CheckKind> VolumeAnomaly();   // volume_anomaly.cc: {runs, tolerance}
std::unique_ptr<CheckKind> Sql();             // sql.cc: a SELECT of the failing rows

}  // namespace watershed::quality::kinds
