// transform/model.h — SQL models: finding them, their config, and compiling their templates.
//
// Owns: the model file format (docs/formats/models.md): `models/<mart>/**/<name>.sql` holding
// one SELECT, a Jinja template (jinja.h) with `{{ ref('model') }}`, `{{ source('namespace',
// 'table') }}`, `{{ this }}`, `{{ config(materialized='table', unique_key='id') }}`, `var()`,
// `env_var()`, `is_incremental()` and the project's macros (dbt_project.h); rendering those
// (once with is_incremental() false, and for incremental models once with it true), recording
// refs and sources, dbt folder defaults, schema.yml descriptions (schema_yml.h), refs to seeds
// (seeds.h), and compiling a model into the SQL its mart runs. Does not own: the dependency
// graph (graph.h) or running models (runner.h). Thread safety: values only.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/transform/jinja.h"

namespace watershed::transform {

struct Model {
  std::string mart;                           // the folder under models/
  std::string name;                           // the file name without .sql
  std::string path;                           // the file, for messages
  std::string sql;                            // as written
  std::map<std::string, std::string> config;  // from {{ config(...) }}
  std::vector<std::string> refs;              // models it reads, as "mart.name"
  std::vector<std::string> sources;           // lake tables it reads, "namespace.table"
  std::vector<std::string> seeds;             // seeds it reads, "mart.seed" (seeds.h)
  // The rendered template, refs/sources/this left as markers that Compile resolves: with
  // is_incremental() false, and true (the same unless the model is incremental).
  std::string rendered, rendered_incremental;
  std::string description;                                               // from schema.yml
  std::vector<std::pair<std::string, std::string>> column_descriptions;  // column -> text

  std::string id() const { return mart + "." + name; }
  std::string materialized() const;  // view (default), table, incremental
};

// What a model's template sees besides ref/source/this/config: dbt_project.yml's vars, the
// project's macros, and the folder defaults of its config (its own config() wins).
struct TemplateContext {
  std::map<std::string, jinja::Value> vars;
  std::vector<std::shared_ptr<const jinja::Template>> macros;
  std::map<std::string, std::string> defaults;
};

// Every models/<mart>/**/*.sql under `models_dir` (and builder .yml files), parsed, with the
// project's dbt_project.yml, macros/ and seeds/ (beside `models_dir`) applied and schema.yml
// descriptions attached. A model is named by its file (two files with one name in a mart are an
// error naming both). Errors name the file, the line and the problem.
StatusOr<std::vector<Model>> DiscoverModels(const std::string& models_dir);
// Parses one model's template; `mart` and `name` identify it.
StatusOr<Model> ParseModel(const std::string& mart, const std::string& name,
                           const std::string& path, const std::string& sql,
                           const TemplateContext& context = {});
// The SQL to run: refs become `"<mart>"."<name>"`, `{{ this }}` the model itself, sources
// `<source_prefix>"<namespace>"."<table>"` — in a build's DuckDB the lake tables are views in
// the in-memory catalog (prefix `"memory".`); in PostgreSQL they are loaded tables (prefix "").
// `incremental`: the SQL of an incremental run (is_incremental() true: the model's table exists
// and this is no full refresh).
std::string Compile(const Model& model, const std::string& source_prefix = "\"memory\".",
                    bool incremental = false);

}  // namespace watershed::transform
