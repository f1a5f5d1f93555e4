// project/schema_check.h — the keys of watershed.yml, checked against its JSON Schema.
//
// Owns: the JSON Schema of the project file (docs/formats/watershed.schema.json, the one source
// of truth: the build embeds that file, see CMakeLists.txt) and the key check that walks a
// parsed watershed.yml alongside it. A mapping key is allowed where the schema's `properties`,
// `patternProperties` or `additionalProperties` allow it; `$ref` is followed into `definitions`,
// and `allOf`/`anyOf`/`oneOf`/`then`/`else` branches are merged (a key known by any branch is
// allowed). A schema that says nothing about keys leaves the map open. Only keys are checked:
// types and values are the section parsers' business.
//   - An unknown key is kInvalidArgument naming file, line, where and a suggestion:
//     "watershed.yml:12: pipelines.daily: unknown key 'retrys' (did you mean 'retries'?); ..."
//   - Keys starting with `x-` in a map of fixed keys (every such map of the schema allows the
//     pattern ^x-) are extensions: removed from the tree so no section parser sees them.
//   - A file whose `version:` is newer than kProjectFormatVersion was written for a newer
//     Watershed: its unknown keys are warnings (returned, naming file and line) and are removed
//     from the tree, so that this binary ignores them rather than half-reading them.
// Does not belong here: the meaning of the keys (project.cc and the modules reading `raw`).
// Thread safety: thread-safe; the tree passed in is modified (keys removed) and must not be
// shared with another thread during the call.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "watershed/base/status.h"
#include "yaml-cpp/yaml.h"

namespace watershed::project {

// The format version of watershed.yml this binary implements (docs/formats/project.md).
inline constexpr int kProjectFormatVersion = 1;

// The text of docs/formats/watershed.schema.json as built into this binary.
std::string_view ProjectSchemaText();

// Checks every mapping key of `root` (a parsed watershed.yml, named `file` in messages) against
// the schema, removing `x-` keys (and, for a newer version, unknown keys) from the tree.
// Warnings, when any, are appended to `warnings` ("FILE:LINE: WHERE: unknown key ..."). A bad
// `version:` (not a whole number >= 1) is kInvalidArgument too.
Status CheckProjectKeys(YAML::Node root, std::string_view file, std::vector<std::string>* warnings);

}  // namespace watershed::project
