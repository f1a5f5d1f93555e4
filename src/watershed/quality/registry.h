// quality/registry.h — the kinds of check by name: the one table the parser consults.
//
// Owns: which kinds exist and the order they are listed in messages. Adding a kind: a file under
// quality/kinds/ with its factory declared in kinds/kinds.h, and one line in registry.cc.
// Does not own: what a kind checks (its file), parsing the rest of a check (check.cc).
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

}  // namespace watershed::quality
