// normalize/naming.h — the one naming convention: JSON paths to lake names and back, and the
// system column names.
//
// Owns: the names of the system columns every module uses (`_ws_id`, `_ws_load_id`, ...; the
// `_ws_` prefix is reserved for them), the naming convention that turns any JSON key or CSV
// header into a name part (lower snake_case ASCII, never a system name), how parts join into a
// column name (`parent__child`), a child table name (`<table>__<path>`) and a variant column
// (`<column>__v_<type>`), the length bound and the stable hash suffix that tells apart two
// paths whose names would be equal, and the inverse: the JSON path a lake column was flattened
// from (for lineage). Specified in docs/formats/normalized-tables.md.
// Does not own: flattening records (normalizer.h), storing lineage (observe/).
// Thread safety: pure functions and constants.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "watershed/base/columns.h"

namespace watershed::normalize {

// ---- system columns -------------------------------------------------------------------------

// Every name that starts with this prefix belongs to Watershed.
inline constexpr std::string_view kSystemPrefix = "_ws_";
// In every normalized table: the row's id (load number << 40 | sequence) and its load.
inline constexpr std::string_view kIdColumn = "_ws_id";
inline constexpr std::string_view kLoadIdColumn = "_ws_load_id";
// In child tables: the parent row's `_ws_id` and the position in the array (from 0).
inline constexpr std::string_view kParentIdColumn = "_ws_parent_id";
inline constexpr std::string_view kIndexColumn = "_ws_idx";
// Stamped by writers: a tombstone (keyed tables, lake/reader.h) and a stream's event position.
inline constexpr std::string_view kDeletedColumn = "_ws_deleted";
inline constexpr std::string_view kPartitionColumn = "_ws_partition";
inline constexpr std::string_view kPositionColumn = "_ws_position";
inline constexpr std::string_view kArrivedAtColumn = "_ws_arrived_at";
// Written by model materializations (transform/): a snapshot row's hash of its tracked columns.
inline constexpr std::string_view kHashdiffColumn = "_ws_hashdiff";

// Joins the parts of a flattened path (`identifier` + `uuid` -> `identifier__uuid`).
inline constexpr std::string_view kPathSeparator = "__";
// Where a scalar (a non-object record, a scalar array element) goes.
inline constexpr std::string_view kValueColumn = "value";
// The lake's default partition column, which comes back as a column when a table is read.
inline constexpr std::string_view kIngestDateColumn = "ingest_date";

// True for a name under the reserved prefix.
bool IsSystemName(std::string_view name);
// The four columns the normalizer adds to link rows: _ws_id, _ws_load_id, _ws_parent_id, _ws_idx.
bool IsStructuralColumn(std::string_view name);

// ---- the naming convention ------------------------------------------------------------------

// The longest column name, and the longest table name after its namespace (PostgreSQL's
// identifier limit, so every mart engine accepts the names).
inline constexpr size_t kMaxNameLength = 63;

// One JSON key or CSV header as a name part, deterministically: camelCase splits at the case
// change (`fundingTotal` -> `funding_total`, `HTTPServer` -> `http_server`), ASCII letters are
// lower-cased, digits kept, every other byte (space, dot, slash, quote, NUL, non-ASCII, ...)
// becomes `_`; runs of `_` collapse to one and trailing ones are dropped, so a part never
// holds the `__` that joins parts. A part starting with a digit gets a leading `_`; one under
// the reserved prefix loses its first `_` (`_ws_position` -> `ws_position`); a key with no
// letter or digit becomes `k_<hash>` (hash: HashSuffix of the key).
std::string NormalizeKey(std::string_view key);
// 8 lowercase hex characters of the stable Fingerprint64 of `identity` (base/ids.h).
std::string HashSuffix(std::string_view identity);
// `name` when it fits kMaxNameLength; otherwise its first 54 characters (less trailing `_`),
// `_` and HashSuffix(identity). `identity` is what the name stands for (its JSON path).
std::string BoundName(std::string_view name, std::string_view identity);
// The name a path gets when `name` is already another path's: `name` (cut so the result fits)
// + `_` + HashSuffix(identity).
std::string DisambiguatedName(std::string_view name, std::string_view identity);
// BoundName for a table name "ns.local": bounds the local part.
std::string BoundTableName(std::string_view name, std::string_view identity);

// ---- JSON path -> names ---------------------------------------------------------------------

// `parent` (a flattened column name, "" at a table's root) extended by `segment`.
std::string JoinPath(std::string_view parent, std::string_view segment);
// The child table for the array at flattened path `path` of `table`.
std::string ChildTableName(std::string_view table, std::string_view path);
// The column that holds values of `type` that do not fit `column`'s own type.
std::string VariantColumnName(std::string_view column, ColumnType type);

// ---- names -> JSON path (lineage) -----------------------------------------------------------

// A lake table as committed: name, parent ("" for a root table) and its columns.
struct TableSchema {
  std::string name;    // "crunchbase.organizations__categories"
  std::string parent;  // "" for the root table
  std::vector<ColumnSpec> columns;
};

// One key of a JSON path in JSONPath notation: `.key`, or `['k.e\'y']` when the key is not a
// plain identifier (control bytes and non-ASCII bytes are written `\xHH`).
std::string JsonPathSegment(std::string_view key);

// The JSON path (relative to one record of the root table) a lake column was flattened from:
// the column's recorded `source` when it has one; for tables written before sources were kept,
// derived from the name: `funding_total__value_usd` -> `$.funding_total.value_usd`, a child
// table's column `$.categories[*].value`, a scalar array element `$.tags[*]`, a variant column
// `rank__v_varchar` -> `$.rank`. nullopt for the structural columns. `tables` must hold the
// table and its ancestors.
std::optional<std::string> JsonPathOf(const std::vector<TableSchema>& tables,
                                      const std::string& table, const std::string& column);
// The root table a (child) table belongs to: "crunchbase.organizations__categories" ->
// "crunchbase.organizations".
std::string RootTableOf(const std::vector<TableSchema>& tables, const std::string& table);

}  // namespace watershed::normalize
