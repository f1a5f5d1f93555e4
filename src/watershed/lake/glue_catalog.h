// lake/glue_catalog.h — every lake table registered in the AWS Glue Data Catalog as an Iceberg
// table, so Athena, Redshift Spectrum, EMR and Glue jobs find it (docs/formats/iceberg.md).
//
// Owns: `catalogs: {glue: ...}` of watershed.yml (GlueSettings), the Glue name of a table
// (lowercase `<namespace>_<name>`, as Athena requires), the TableInput Athena reads an Iceberg
// table from (TableType EXTERNAL_TABLE, Parameters table_type=ICEBERG, metadata_location,
// previous_metadata_location, the columns with their Iceberg field ids), and keeping those
// current: CreateTable for a new table, UpdateTable with the VersionId it read (Glue's
// compare-and-swap: a concurrent change makes it fail, and the table is read and tried again)
// and SkipArchive (no table version per commit: Glue caps a table's versions), GetTables in
// pages of at most 100, throttling answered with exponential back-off. A table is never moved
// back to an older metadata version than the one Glue names, and a Glue table of the same name
// that is not this lake's table is left alone (an error says so).
// Does not own: the Iceberg metadata (lake/iceberg_export.h), when publishes happen (after each
// catalog commit: IcebergExporter::Published), the AWS wire protocol (net/aws.h).
// Thread safety: a GlueCatalog is used by one thread (the catalog's).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nlohmann/json.hpp"
#include "watershed/base/clock.h"
#include "watershed/base/config.h"
#include "watershed/base/status.h"
#include "watershed/lake/iceberg_export.h"
#include "watershed/net/aws.h"
#include "watershed/net/http_client.h"
#include "yaml-cpp/yaml.h"

namespace watershed::lake {

inline constexpr net::AwsService kGlueService{"glue", "glue", "glue"};
// GetTables' largest page (Glue's MaxResults limit).
inline constexpr int kGluePageSize = 100;

struct GlueSettings {
  net::AwsConfig aws;
  std::string database;    // "watershed_lake": created when missing
  std::string catalog_id;  // the Data Catalog's account id; "" = the caller's account
};

// Reads `catalogs.glue`: `database` (required; lowercase letters, digits and `_`, at most 255),
// `catalog_id` (12 digits, optional) and the AWS keys of net/aws.h (region, endpoint,
// credentials, profile, role_arn). `where` names the section in errors ("watershed.yml:12").
StatusOr<GlueSettings> GlueSettingsFromYaml(const YAML::Node& node, const std::string& where,
                                            const EnvLookup& getenv = RealGetenv);

// The Glue name of a lake table: "Crunchbase.Organizations" -> "crunchbase_organizations"
// (lowercase; any character but a-z, 0-9 and `_` becomes `_`).
std::string GlueTableName(std::string_view table);
// The Hive type Glue lists for an Iceberg type: long -> bigint, string -> string, ...
std::string GlueColumnType(std::string_view iceberg_type);
// The TableInput of `table` (exposed for tests).
nlohmann::json GlueTableInput(const IcebergTablePointer& table);

// What a Register did, per table.
struct GlueRegistration {
  std::string table;       // the lake's name
  std::string glue_table;  // its Glue name
  enum class Action { kCreated, kUpdated, kUnchanged } action = Action::kUnchanged;
  int metadata_version = 0;
};

class GlueCatalog : public IcebergPublisher {
 public:
  // `client` may be null (one is made); `clock` null = the real clock (back-off sleeps).
  explicit GlueCatalog(GlueSettings settings, std::shared_ptr<net::HttpClient> client = nullptr,
                       Clock* clock = nullptr);

  std::string Name() const override { return "glue"; }
  Status Publish(const std::vector<IcebergTablePointer>& tables) override;

  // Creates the database when missing, then creates or updates every table's Glue entry.
  // Two lake tables with one Glue name, or a Glue table of that name that is not this lake's,
  // fail before anything is written.
  StatusOr<std::vector<GlueRegistration>> Register(const std::vector<IcebergTablePointer>& tables);

  const GlueSettings& settings() const { return settings_; }

 private:
  struct Existing;  // a table as Glue answers it
  static Existing ExistingFrom(const nlohmann::json& table);
  StatusOr<std::string> Call(std::string_view action, const nlohmann::json& body);
  Status EnsureDatabase();
  StatusOr<std::vector<Existing>> ListTables();
  StatusOr<std::optional<Existing>> GetTable(const std::string& name);
  StatusOr<GlueRegistration::Action> Put(const IcebergTablePointer& table,
                                         std::optional<Existing> existing);

  GlueSettings settings_;
  std::shared_ptr<net::HttpClient> client_;
  Clock* clock_;
  bool database_ready_ = false;
};

}  // namespace watershed::lake
