// base/config.h — reading YAML files (watershed.yml, source and pipeline files) with
// environment interpolation.
//
// Owns: the yaml-cpp adapter: parsing text or a file into a YAML::Node, catching every yaml-cpp
// exception and turning it into a Status that names file:line:column; and ${VAR} interpolation
// in every scalar (keys and values) after parsing:
//   ${VAR}          the variable's value; unset is an error naming the variable, file and line:
//                   "watershed.yml:12: environment variable CRUNCHBASE_API_KEY is not set"
//   ${VAR:-default} the value, or `default` when VAR is unset or empty (shell semantics)
//   ${file:PATH}    the content of the file PATH (relative: to the working directory), less
//                   one final newline: a secret (registered with RegisterSecret, so never
//                   logged); unreadable or empty is an error naming the file
//   $${             a literal "${"; any other '$' is literal
// Variable names match [A-Za-z_][A-Za-z0-9_]*. Interpolation happens once per node (aliases
// share a node), and substituted values are never interpolated again.
// Does not belong here: the meaning of any key (the project module validates its schema),
// secret registration (callers register secrets they read; see log.h).
// Thread safety: functions are thread-safe if `getenv` is; the returned nodes are not shared.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "watershed/base/status.h"
#include "yaml-cpp/yaml.h"

namespace watershed {

// Looks a variable up; nullopt when it is not set.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;

// The process environment (std::getenv).
std::optional<std::string> RealGetenv(std::string_view name);

// Reads and parses `path` (named as given in errors). Missing or unreadable file: kNotFound or
// the errno's code; bad YAML or a missing variable: kInvalidArgument.
StatusOr<YAML::Node> LoadYamlFile(const std::string& path, const EnvLookup& getenv = RealGetenv);

// A map anywhere in `root` that gives one key twice (YAML would keep only one of them):
// kInvalidArgument "NAME:LINE: key 'K' is given twice (first on line N); ...". ParseYaml and
// LoadYamlFile check it.
Status CheckNoDuplicateKeys(const YAML::Node& root, std::string_view name);
// A key of map `node` that is not in `known`: kInvalidArgument "NAME:LINE: unknown key 'K' in
// WHERE (did you mean 'X'?); known keys: ...". A node that is not a map passes.
Status CheckKnownKeys(const YAML::Node& node, const std::vector<std::string>& known,
                      std::string_view where, std::string_view name);

// Parses `text`; `name` (usually the file name) prefixes every error message.
StatusOr<YAML::Node> ParseYaml(std::string_view text, std::string_view name,
                               const EnvLookup& getenv = RealGetenv);

// The secret kept in file `path` for ${file:PATH}, registered with RegisterSecret.
// kInvalidArgument naming the file when it cannot be read or is empty.
StatusOr<std::string> ReadSecretFile(const std::string& path);

// Interpolates one string. Errors are kInvalidArgument without a location, e.g.
// "environment variable X is not set" (ParseYaml adds "name:line: ").
StatusOr<std::string> InterpolateEnv(std::string_view text, const EnvLookup& getenv);

}  // namespace watershed
