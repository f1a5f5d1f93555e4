// project/project.h — a Watershed project: a folder with watershed.yml, models/ and its lake.
//
// Owns: finding the project (the given --project folder, or the nearest folder upwards from the
// working directory holding watershed.yml), reading watershed.yml (docs/formats/project.md),
// `watershed init`, and opening the project's storage and catalog. Does not own: what the
// commands do with them. Thread safety: a Project is used by one thread.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "watershed/base/status.h"
#include "watershed/lake/catalog.h"
#include "watershed/lake/glue_catalog.h"
#include "watershed/lake/s3_storage.h"
#include "watershed/lake/storage.h"
#include "watershed/normalize/normalizer.h"
#include "watershed/security/access.h"

namespace watershed::project {

inline constexpr std::string_view kProjectFile = "watershed.yml";

struct TableConfig {
  normalize::Contract contract = normalize::Contract::kEvolve;
  std::string partition_by = "ingest_date";
};

struct ProjectConfig {
  std::string name;
  std::string lake_path;     // absolute; for an S3 lake, the local read cache of its files
  std::string lake_url;      // "s3://bucket/prefix" for an S3 lake, else empty
  lake::S3StorageOptions s3;  // storage.s3 and storage.cache, for an S3 lake
  std::string catalog_path;  // absolute
  std::map<std::string, TableConfig> tables;
  // `sql: {sandbox: false}` turns it off: user SQL (queries, models, custom checks) may then
  // read and write any file the user can (project/sql_sandbox.h). Default on.
  bool sql_sandbox = true;
  // `storage: {iceberg: false}` stops writing Iceberg metadata beside the lake's tables
  // (lake/iceberg_export.h). Default on.
  bool iceberg = true;
  // `catalogs: {glue: {region, database}}`: every table also registered in the AWS Glue Data
  // Catalog as an Iceberg table, kept current by every commit (lake/glue_catalog.h).
  std::optional<lake::GlueSettings> glue;
  // `access:` (security/access.h): principals and grants, deny by default. None: a single-user
  // project, as before the section existed.
  std::optional<security::AccessPolicy> access;
  YAML::Node raw;  // the whole file, for sections other modules read
};

class Project {
 public:
  // `dir` empty: search upwards from the working directory.
  static StatusOr<std::unique_ptr<Project>> Open(const std::string& dir);
  // Creates watershed.yml, models/, .gitignore in `dir` (created if missing). An existing
  // watershed.yml is an error (nothing is overwritten).
  static Status Init(const std::string& dir, const std::string& name);

  const std::string& root() const { return root_; }
  const ProjectConfig& config() const { return config_; }
  TableConfig TableConfigFor(const std::string& table) const;

  lake::Storage& storage() { return *storage_; }
  const lake::Storage& storage() const { return *storage_; }
  // Opened on first use (creating the catalog when needed).
  StatusOr<lake::Catalog*> catalog();

 private:
  std::string root_;
  ProjectConfig config_;
  std::unique_ptr<lake::Storage> storage_;
  std::unique_ptr<lake::Catalog> catalog_;
};

}  // namespace watershed::project
