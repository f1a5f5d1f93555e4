// transform/model.h — SQL models: finding them, their config, and compiling their templates.
//
// Owns: the model file format (docs/formats/models.md): `models/<mart>/<name>.sql` holding one
// SELECT with `{{ ref('model') }}`, `{{ source('namespace', 'table') }}`, `{{ this }}` and an
// optional `{{ config(materialized='table', unique_key='id') }}`; parsing those, and compiling
// a model into the SQL its mart runs. Does not own: the dependency graph (graph.h) or running
// models (runner.h). Thread safety: values only.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "watershed/base/status.h"

namespace watershed::transform {

struct Model {
  std::string mart;  // the folder under models/
  std::string name;  // the file name without .sql
  std::string path;  // the file, for messages
  std::string sql;   // as written
  std::map<std::string, std::string> config;  // from {{ config(...) }}
  std::vector<std::string> refs;               // models it reads, as "mart.name"
  std::vector<std::string> sources;            // lake tables it reads, "namespace.table"

  std::string id() const { return mart + "." + name; }
  std::string materialized() const;  // view (default), table, incremental
};

// Every models/<mart>/*.sql under `models_dir`, parsed. Errors name the file and the problem.
StatusOr<std::vector<Model>> DiscoverModels(const std::string& models_dir);
// Parses one model's templates; `mart` and `name` identify it.
StatusOr<Model> ParseModel(const std::string& mart, const std::string& name,
                           const std::string& path, const std::string& sql);
// The SQL to run: refs become `"<mart>"."<name>"`, `{{ this }}` the model itself, sources
// `<source_prefix>"<namespace>"."<table>"` — in a build's DuckDB the lake tables are views in
// the in-memory catalog (prefix `"memory".`); in PostgreSQL they are loaded tables (prefix "").
std::string Compile(const Model& model, const std::string& source_prefix = "\"memory\".");

}  // namespace watershed::transform
