// project/project.cc — see project.h.
#include "watershed/project/project.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>

#include "watershed/audit/audit_log.h"
#include "watershed/base/config.h"
#include "watershed/base/log.h"
#include "watershed/base/strings.h"
#include "watershed/lake/iceberg_export.h"
#include "watershed/project/schema_check.h"

namespace watershed::project {
namespace fs = std::filesystem;

namespace {

constexpr const char* kTemplate = R"yml(# Watershed project — format: docs/formats/project.md
name: {NAME}
version: 1

storage:
  lake: lake                      # lake folder, relative to this file
  catalog: .watershed/catalog.db  # SQLite catalog (tables, snapshots, files, cursors)

# Per-table settings. Tables not listed use the defaults shown here.
tables:
  # crunchbase.organizations:
  #   contract: evolve            # evolve | freeze | discard_row
  #   partition_by: ingest_date   # or the name of a column
)yml";

std::string Absolute(const fs::path& root, const std::string& p) {
  fs::path path(p);
  return (path.is_absolute() ? path : root / path).lexically_normal().string();
}

// "10GB", "512MB", "1.5GiB", "4096" (bytes).
StatusOr<uint64_t> ParseByteSize(std::string_view text) {
  text = Trim(text);
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  const std::string number(text.substr(0, i));
  std::string unit = ToLower(Trim(text.substr(i)));
  char* end = nullptr;
  const double value = std::strtod(number.c_str(), &end);
  double scale = 0;
  if (unit.empty() || unit == "b") scale = 1;
  else if (unit == "kb" || unit == "kib" || unit == "k") scale = 1024.0;
  else if (unit == "mb" || unit == "mib" || unit == "m") scale = 1024.0 * 1024;
  else if (unit == "gb" || unit == "gib" || unit == "g") scale = 1024.0 * 1024 * 1024;
  else if (unit == "tb" || unit == "tib" || unit == "t") scale = 1024.0 * 1024 * 1024 * 1024;
  if (number.empty() || end == nullptr || *end != '\0' || scale == 0 || value < 0) {
    return absl::InvalidArgumentError(
        StrCat("'", text, "' is not a size (write e.g. 10GB, 512MB or a number of bytes)"));
  }
  return static_cast<uint64_t>(value * scale);
}

// storage.s3 (how to reach a bucket) and storage.cache (the local read cache of an S3 lake).
Status ParseS3Settings(const fs::path& root, const YAML::Node& storage, const std::string& file,
                       ProjectConfig& c) {
  lake::S3StorageOptions& o = c.s3;
  o.cache_dir = Absolute(root, ".watershed/cache");
  auto scalar = [&](const YAML::Node& n, const char* key, std::string& out) -> Status {
    const YAML::Node v = n[key];
    if (!v || v.IsNull()) return absl::OkStatus();
    if (!v.IsScalar()) {
      return absl::InvalidArgumentError(
          StrCat(file, ":", v.Mark().line + 1, ": storage.", key, " must be a string"));
    }
    out = v.Scalar();
    return absl::OkStatus();
  };
  if (const YAML::Node s3 = storage["s3"]; s3 && !s3.IsNull()) {
    if (!s3.IsMap()) {
      return absl::InvalidArgumentError(StrCat(file, ":", s3.Mark().line + 1,
                                               ": storage.s3 must be a map, e.g. {region: eu-west-1}"));
    }
    net::AwsIdentitySettings& id = o.identity;
    WS_RETURN_IF_ERROR(scalar(s3, "region", id.region));
    WS_RETURN_IF_ERROR(scalar(s3, "endpoint_url", id.endpoint));
    WS_RETURN_IF_ERROR(scalar(s3, "profile", id.profile));
    WS_RETURN_IF_ERROR(scalar(s3, "role_arn", id.role_arn));
    WS_RETURN_IF_ERROR(scalar(s3, "access_key_id", id.access_key_id));
    WS_RETURN_IF_ERROR(scalar(s3, "secret_access_key", id.secret_access_key));
    WS_RETURN_IF_ERROR(scalar(s3, "session_token", id.session_token));
    RegisterSecret(id.secret_access_key);
    RegisterSecret(id.session_token);
    if (!id.endpoint.empty() && !id.endpoint.starts_with("http://") &&
        !id.endpoint.starts_with("https://")) {
      return absl::InvalidArgumentError(StrCat(file, ": storage.s3.endpoint_url must start with "
                                                     "http:// or https://, not '", id.endpoint, "'"));
    }
    if (const YAML::Node cb = s3["create_bucket"]) o.create_bucket = cb.as<bool>();
    std::string parallel;
    WS_RETURN_IF_ERROR(scalar(s3, "parallel", parallel));
    if (!parallel.empty()) o.parallel = std::max(1, std::atoi(parallel.c_str()));
    for (auto [key, target] : {std::pair{"multipart_threshold", &o.multipart_threshold},
                               std::pair{"part_size", &o.part_size}}) {
      std::string text;
      WS_RETURN_IF_ERROR(scalar(s3, key, text));
      if (text.empty()) continue;
      auto bytes = ParseByteSize(text);
      if (!bytes.ok()) return Annotate(bytes.status(), StrCat(file, ": storage.s3.", key));
      if (*bytes < (5ull << 20)) {
        return absl::InvalidArgumentError(StrCat(file, ": storage.s3.", key, " is ", text,
                                                 "; S3's smallest part is 5MB"));
      }
      *target = *bytes;
    }
  }
  if (const YAML::Node cache = storage["cache"]; cache && !cache.IsNull()) {
    if (!cache.IsMap()) {
      return absl::InvalidArgumentError(StrCat(
          file, ":", cache.Mark().line + 1, ": storage.cache must be a map, e.g. {max_size: 10GB}"));
    }
    std::string path, max_size;
    WS_RETURN_IF_ERROR(scalar(cache, "path", path));
    WS_RETURN_IF_ERROR(scalar(cache, "max_size", max_size));
    if (!path.empty()) o.cache_dir = Absolute(root, path);
    if (!max_size.empty()) {
      auto bytes = ParseByteSize(max_size);
      if (!bytes.ok()) return Annotate(bytes.status(), StrCat(file, ": storage.cache.max_size"));
      o.cache_max_bytes = *bytes;
    }
  }
  return absl::OkStatus();
}

StatusOr<ProjectConfig> ParseConfig(const fs::path& root, const YAML::Node& y,
                                    const std::string& file) {
  ProjectConfig c;
  c.raw = y;
  // Every key of every section against the schema (docs/formats/watershed.schema.json): a
  // mistyped one is an error naming the line, with a suggestion, instead of a setting silently
  // ignored; `x-` keys (and, in a file for a newer version, unknown keys) are dropped here.
  std::vector<std::string> warnings;
  WS_RETURN_IF_ERROR(CheckProjectKeys(y, file, &warnings));
  {
    // A command may open the project more than once: each warning is logged once per process.
    static std::mutex mu;
    static auto* logged = new std::set<std::string>();
    std::lock_guard<std::mutex> lock(mu);
    for (const std::string& w : warnings) {
      if (logged->insert(w).second) LogWarn(w);
    }
  }
  try {
    c.name = y["name"] ? y["name"].as<std::string>() : root.filename().string();
    std::string lake = "lake", catalog = ".watershed/catalog.db";
    if (const YAML::Node s = y["storage"]) {
      if (s["lake"]) lake = s["lake"].as<std::string>();
      if (s["catalog"]) catalog = s["catalog"].as<std::string>();
      if (s["iceberg"]) c.iceberg = s["iceberg"].as<bool>();
    }
    // $WATERSHED_LAKE and $WATERSHED_CATALOG replace the file's storage.lake and storage.catalog
    // (a container or CI job points an unchanged project at S3 and PostgreSQL).
    for (auto [name, target] :
         {std::pair{"WATERSHED_LAKE", &lake}, std::pair{"WATERSHED_CATALOG", &catalog}}) {
      if (const char* v = std::getenv(name); v != nullptr && *v != '\0') *target = v;
    }
    // storage.s3 is read whatever the lake (`watershed migrate --to-lake s3://...` uses it).
    if (const YAML::Node s = y["storage"]; s && s.IsMap()) {
      WS_RETURN_IF_ERROR(ParseS3Settings(root, s, file, c));
    } else {
      c.s3.cache_dir = Absolute(root, ".watershed/cache");
    }
    if (lake.starts_with("s3://")) {
      c.lake_url = lake;
      c.s3.url = lake;
      c.lake_path = c.s3.cache_dir;
    } else {
      c.lake_path = Absolute(root, lake);
    }
    // A PostgreSQL catalog is a libpq URL (store/store.h); anything else is a SQLite file.
    c.catalog_path = catalog.starts_with("postgres://") || catalog.starts_with("postgresql://")
                         ? catalog
                         : Absolute(root, catalog);
    if (const YAML::Node t = y["tables"]; t && t.IsMap()) {
      for (const auto& kv : t) {
        TableConfig tc;
        const std::string name = kv.first.as<std::string>();
        if (kv.second["contract"]) {
          auto contract = normalize::ParseContract(kv.second["contract"].as<std::string>());
          if (!contract.ok()) return Annotate(contract.status(), StrCat(file, ": tables.", name));
          tc.contract = *contract;
        }
        if (kv.second["partition_by"])
          tc.partition_by = kv.second["partition_by"].as<std::string>();
        c.tables[name] = tc;
      }
    }
    if (y["access"]) {
      auto access = security::AccessPolicy::FromYaml(y["access"], file);
      if (!access.ok()) return access.status();
      c.access = *std::move(access);
    }
    if (const YAML::Node cat = y["catalogs"]; cat && cat.IsMap() && cat["glue"]) {
      const YAML::Node glue = cat["glue"];
      auto settings = lake::GlueSettingsFromYaml(glue, StrCat(file, ":", glue.Mark().line + 1));
      if (!settings.ok()) return settings.status();
      if (!c.iceberg) {
        return absl::InvalidArgumentError(
            StrCat(file, ":", glue.Mark().line + 1,
                   ": catalogs.glue registers the lake's Iceberg tables, but storage.iceberg is "
                   "false: remove one of the two"));
      }
      c.glue = *std::move(settings);
    }
    if (const YAML::Node sql = y["sql"]) {
      if (!sql.IsMap()) {
        return absl::InvalidArgumentError(StrCat(file, ":", sql.Mark().line + 1,
                                                 ": sql must be a map, e.g. sql: {sandbox: true}"));
      }
      if (const YAML::Node sandbox = sql["sandbox"]) {
        bool on = true;
        if (!sandbox.IsScalar() || !YAML::convert<bool>::decode(sandbox, on)) {
          return absl::InvalidArgumentError(
              StrCat(file, ":", sandbox.Mark().line + 1, ": sql.sandbox must be true or false"));
        }
        c.sql_sandbox = on;
      }
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(StrCat(file, ":", e.mark.line + 1, ": ", e.msg));
  }
  return c;
}

}  // namespace

StatusOr<std::unique_ptr<Project>> Project::Open(const std::string& dir) {
  fs::path root;
  std::error_code ec;
  if (!dir.empty()) {
    root = fs::absolute(dir, ec);
    if (!fs::exists(root / kProjectFile)) {
      return absl::NotFoundError(StrCat("no ", kProjectFile, " in ", root.string(),
                                        " (create a project with `watershed init DIR`)"));
    }
  } else {
    for (fs::path p = fs::current_path(ec); !p.empty(); p = p.parent_path()) {
      if (fs::exists(p / kProjectFile)) {
        root = p;
        break;
      }
      if (p == p.root_path()) break;
    }
    if (root.empty()) {
      return absl::NotFoundError(
          StrCat("not inside a Watershed project (no ", kProjectFile,
                 " here or above); run `watershed init DIR` or pass --project DIR"));
    }
  }
  const std::string file = (root / kProjectFile).string();
  WS_ASSIGN_OR_RETURN(YAML::Node y, LoadYamlFile(file));
  auto project = std::unique_ptr<Project>(new Project());
  project->root_ = root.lexically_normal().string();
  WS_ASSIGN_OR_RETURN(project->config_, ParseConfig(root, y, file));
  if (!project->config_.lake_url.empty()) {
    auto s3 = lake::S3Storage::Open(project->config_.s3);
    if (!s3.ok()) return Annotate(s3.status(), StrCat(file, ": storage.lake"));
    project->storage_ = *std::move(s3);
  } else {
    project->storage_ = std::make_unique<lake::LocalStorage>(project->config_.lake_path);
  }
  return project;
}

Status Project::Init(const std::string& dir, const std::string& name) {
  std::error_code ec;
  fs::path root = fs::absolute(dir, ec);
  if (fs::exists(root / kProjectFile)) {
    return absl::AlreadyExistsError(
        StrCat(root.string(), " already has a ", kProjectFile, "; nothing was changed"));
  }
  fs::create_directories(root / "models", ec);
  if (ec)
    return absl::UnavailableError(StrCat("cannot create ", root.string(), ": ", ec.message()));
  std::string text = kTemplate;
  text.replace(text.find("{NAME}"), 6, name.empty() ? root.filename().string() : name);
  std::ofstream(root / kProjectFile) << text;
  std::ofstream(root / ".gitignore", std::ios::app)
      << "# Watershed: the lake, the catalog and the marts are data, not "
         "source\nlake/\n.watershed/\nmarts/\n";
  std::ofstream(root / "models" / ".gitkeep");
  if (!fs::exists(root / kProjectFile)) {
    return absl::UnavailableError(StrCat("cannot write ", (root / kProjectFile).string()));
  }
  return absl::OkStatus();
}

TableConfig Project::TableConfigFor(const std::string& table) const {
  if (auto it = config_.tables.find(table); it != config_.tables.end()) return it->second;
  for (const auto& [name, config] : config_.tables) {  // one form per name: case does not matter
    if (ToLower(name) == ToLower(table)) return config;
  }
  return TableConfig{};
}

StatusOr<lake::Catalog*> Project::catalog() {
  if (!catalog_) {
    // The catalog's folder (.watershed/) and file are created owner-only by the store.
    WS_ASSIGN_OR_RETURN(catalog_, lake::Catalog::Open(config_.catalog_path));
    catalog_->AnchorAuditLog(audit::AuditLogPath(root_));
    if (config_.iceberg) {
      auto exporter = std::make_unique<lake::IcebergExporter>(storage_.get());
      if (config_.glue) exporter->AddPublisher(std::make_unique<lake::GlueCatalog>(*config_.glue));
      catalog_->SetObserver(std::move(exporter));
    }
  }
  return catalog_.get();
}

}  // namespace watershed::project
