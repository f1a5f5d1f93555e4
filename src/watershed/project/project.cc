// project/project.cc — see project.h.
#include "watershed/project/project.h"

#include "watershed/base/strings.h"

#include "watershed/audit/audit_log.h"

#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>

#include "watershed/base/config.h"
#include "watershed/base/log.h"
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
    }
    if (lake.starts_with("s3://")) {
      return absl::UnimplementedError(
          StrCat(file, ": storage.lake ", lake, ": S3 lakes are not supported yet; use a folder"));
    }
    c.lake_path = Absolute(root, lake);
    c.catalog_path = Absolute(root, catalog);
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
  project->storage_ = std::make_unique<lake::LocalStorage>(project->config_.lake_path);
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
  }
  return catalog_.get();
}

}  // namespace watershed::project
