// transform/schema_yml.h — dbt's schema files: any models/<mart>/**/*.yml whose top level has
// `version:` and `models:` (or `seeds:`/`sources:`); the other .yml files there are Watershed
// builder specs (builders.h).
//
// Owns: telling the two apart, and reading the model and column `description:`s (shown by
// `watershed docs`). The `tests:`/`data_tests:` of the same files become checks in quality/
// (quality/registry.h, SchemaYmlChecks). Thread safety: values only.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <utility>
#include <vector>

#include "watershed/base/status.h"

namespace watershed::transform {

bool IsSchemaYml(const YAML::Node& root);

struct ModelDoc {
  std::string file;  // the schema file, for messages
  std::string name;  // the model
  std::string description;
  std::vector<std::pair<std::string, std::string>> columns;  // name -> description ("" if none)
};

// The `models:` entries of a schema file; errors name the file and the line.
StatusOr<std::vector<ModelDoc>> ReadSchemaDocs(const YAML::Node& root, const std::string& file);

}  // namespace watershed::transform
