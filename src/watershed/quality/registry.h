// quality/registry.h — the kinds of check by name: the one table the parser consults.
//
// Owns: which kinds exist and the order they are listed in messages. Adding a kind: a file under
// quality/kinds/ with its factory declared in kinds/kinds.h, and one line in registry.cc.
// Does not own: what a kind checks (its file), parsing the rest of a check (check.cc).
// Also: the generic tests of dbt schema files turned into checks (SchemaYmlChecks).
// Thread safety: the table is built once (thread-safe static) and never changes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "watershed/quality/check.h"

namespace watershed::quality {

// Every kind, in the order of docs/formats/checks.md.
const std::vector<const CheckKind*>& Kinds();
// The kind named `name` ("not_null"), or nullptr.
const CheckKind* FindKind(std::string_view name);
// "not_null, unique, ..., sql" (for messages).
std::string KindNames();

// The tests of dbt schema files — models/<mart>/**/*.yml whose top level has `version:` and
// `models:` — as checks on `<mart>.<model>`: unique, not_null, accepted_values (values:) and
// relationships (to: ref('x') or source('ns', 't'), field:), under `tests:` or `data_tests:`
// of a column (or of a model, with column_name:); severity error unless `config: {severity:
// warn}`. Other tests (dbt_utils.*, custom ones) are logged and skipped. Names as for
// watershed.yml checks (`<model>__<type>__<column>`, or `name:`). Errors name the file and line.
StatusOr<std::vector<Check>> SchemaYmlChecks(const std::string& models_dir);

}  // namespace watershed::quality
