// transform/dbt_project.h — what a dbt project's files add to model templates: dbt_project.yml
// (`vars:` and per-folder model defaults under `models: <project>: <mart>: <folder>:`, with or
// without `+`) and the macros in macros/**/*.sql.
//
// Owns: reading those files and answering "which defaults apply to a model in these folders".
// Only the keys in docs/formats/models.md ("dbt compatibility") are used; other dbt keys are
// logged as ignored (a warning), never an error. Does not own: rendering (jinja.h), models
// (model.h). Thread safety: a loaded DbtProject is a value, read-only after loading.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/transform/jinja.h"

namespace watershed::transform {

struct DbtProject {
  std::string name;                          // dbt_project.yml `name:` ("" without the file)
  std::map<std::string, jinja::Value> vars;  // `vars:` (top-level entries, and the project's)
  YAML::Node models;                         // `models:`, for FolderConfig
  std::vector<std::shared_ptr<const jinja::Template>> macros;  // macros/**/*.sql, parsed

  // The defaults for a model under models/<folders...>/: {materialized: view, ...}; deeper
  // folders win over shallower ones.
  std::map<std::string, std::string> FolderConfig(const std::vector<std::string>& folders) const;
};

// Reads `root`/dbt_project.yml (absent: no vars, no defaults) and parses `root`/macros/**/*.sql.
// Errors name the file (and line): a YAML error, a template error in a macro.
StatusOr<DbtProject> LoadDbtProject(const std::string& root);

// A YAML value as a template value: numbers, booleans, strings, lists, dicts.
jinja::Value FromYaml(const YAML::Node& n);

// The config() keys a Watershed model uses (materialized, unique_key, ...).
bool IsModelConfigKey(const std::string& key);

}  // namespace watershed::transform
