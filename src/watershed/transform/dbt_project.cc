// transform/dbt_project.cc — see dbt_project.h.
#include "watershed/transform/dbt_project.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

#include "watershed/base/log.h"
#include "watershed/base/strings.h"

namespace watershed::transform {
namespace {

namespace fs = std::filesystem;

// dbt model configs Watershed does not use: accepted and ignored (one warning per key).
const std::set<std::string>& IgnoredConfigKeys() {
  static const auto* keys = new std::set<std::string>{"schema",         "database",
                                                      "alias",          "tags",
                                                      "enabled",        "docs",
                                                      "persist_docs",   "meta",
                                                      "grants",         "pre-hook",
                                                      "post-hook",      "pre_hook",
                                                      "post_hook",      "on_schema_change",
                                                      "contract",       "full_refresh",
                                                      "sql_header",     "quoting",
                                                      "group",          "access",
                                                      "cluster_by",     "partition_by",
                                                      "bind",           "sort",
                                                      "dist",           "transient",
                                                      "copy_grants",    "column_types",
                                                      "quote_columns",  "delimiter",
                                                      "event_time",     "batch_size",
                                                      "lookback_window"};
  return *keys;
}

void WarnOnce(const std::string& file, const std::string& what) {
  static std::mutex mu;
  static auto* seen = new std::set<std::string>();
  std::lock_guard<std::mutex> lock(mu);
  if (!seen->insert(file + what).second) return;
  LogWarn("dbt setting ignored", {{"file", file}, {"setting", what}});
}

std::string ConfigKey(const std::string& key) { return key.starts_with("+") ? key.substr(1) : key; }

std::string ScalarText(const YAML::Node& n) {
  if (n.IsScalar()) return n.as<std::string>();
  if (n.IsSequence()) {
    std::vector<std::string> parts;
    for (const auto& x : n) parts.push_back(x.IsScalar() ? x.as<std::string>() : "");
    return Join(parts, ",");
  }
  return "";
}

// The config keys of one level of models: into *out; warns about the ones Watershed ignores.
void ApplyLevel(const YAML::Node& level, std::map<std::string, std::string>* out) {
  if (!level || !level.IsMap()) return;
  for (const auto& kv : level) {
    const std::string raw = kv.first.as<std::string>();
    const std::string key = ConfigKey(raw);
    const bool is_config = raw.starts_with("+") || IsModelConfigKey(key) ||
                           IgnoredConfigKeys().contains(key) || !kv.second.IsMap();
    if (!is_config) continue;  // a folder
    if (IsModelConfigKey(key) && out != nullptr) (*out)[key] = ScalarText(kv.second);
  }
}

// Warns once per ignored key anywhere under models:.
void WarnIgnored(const YAML::Node& level, const std::string& path) {
  if (!level || !level.IsMap()) return;
  for (const auto& kv : level) {
    const std::string raw = kv.first.as<std::string>();
    const std::string key = ConfigKey(raw);
    if (IsModelConfigKey(key)) continue;
    if (raw.starts_with("+") || IgnoredConfigKeys().contains(key) || !kv.second.IsMap()) {
      WarnOnce("dbt_project.yml", StrCat(path, ".", raw));
    } else {
      WarnIgnored(kv.second, StrCat(path, ".", raw));
    }
  }
}

}  // namespace

bool IsModelConfigKey(const std::string& key) {
  static const auto* keys = new std::set<std::string>{
      "materialized", "unique_key", "incremental_strategy", "strategy", "updated_at", "check_cols",
      "dist_key",     "sort_keys",  "incremental_column",   "lookback"};
  return keys->contains(key);
}

jinja::Value FromYaml(const YAML::Node& n) {
  if (!n || n.IsNull()) return jinja::Value::None();
  if (n.IsSequence()) {
    jinja::List l;
    for (const auto& x : n) l.push_back(FromYaml(x));
    return jinja::Value(std::move(l));
  }
  if (n.IsMap()) {
    jinja::Dict d;
    for (const auto& kv : n) d.push_back({kv.first.as<std::string>(), FromYaml(kv.second)});
    return jinja::Value(std::move(d));
  }
  const std::string s = n.as<std::string>();
  if (n.Tag() == "!") return jinja::Value(s);  // quoted in the YAML: a string
  int64_t i;
  double f;
  bool b;
  if (YAML::convert<int64_t>::decode(n, i)) return jinja::Value(i);
  if (YAML::convert<double>::decode(n, f) && s.find_first_of("0123456789") != std::string::npos) {
    return jinja::Value(f);
  }
  if (YAML::convert<bool>::decode(n, b)) return jinja::Value(b);
  return jinja::Value(s);
}

std::map<std::string, std::string> DbtProject::FolderConfig(
    const std::vector<std::string>& folders) const {
  std::map<std::string, std::string> out;
  if (!models || !models.IsMap()) return out;
  ApplyLevel(models, &out);
  // Node::reset rebinds; operator= would overwrite the node that `level` refers to.
  YAML::Node level;
  level.reset(models);
  if (!name.empty() && models[name] && models[name].IsMap()) {
    level.reset(models[name]);
    ApplyLevel(level, &out);
  }
  for (const std::string& folder : folders) {
    YAML::Node next = level[folder];
    if (!next || !next.IsMap()) break;
    level.reset(next);
    ApplyLevel(level, &out);
  }
  return out;
}

StatusOr<DbtProject> LoadDbtProject(const std::string& root) {
  DbtProject p;
  const fs::path file = fs::path(root) / "dbt_project.yml";
  std::error_code ec;
  if (fs::exists(file, ec)) {
    try {
      YAML::Node y = YAML::LoadFile(file.string());
      if (y && y.IsMap()) {
        static const std::set<std::string>& kQuiet = *new std::set<std::string>{"name",           "version",
                                                     "config-version", "profile",
                                                     "model-paths",    "seed-paths",
                                                     "macro-paths",    "target-path",
                                                     "clean-targets",  "require-dbt-version",
                                                     "test-paths",     "analysis-paths",
                                                     "snapshot-paths", "docs-paths",
                                                     "asset-paths",    "packages-install-path",
                                                     "log-path"};
        for (const auto& kv : y) {
          const std::string key = kv.first.as<std::string>();
          if (key == "models" || key == "vars" || key == "seeds") continue;
          if (!kQuiet.contains(key)) WarnOnce(file.string(), key);
        }
        if (y["name"]) p.name = y["name"].as<std::string>();
        p.models.reset(y["models"]);
        WarnIgnored(p.models, "models");
        if (y["vars"] && y["vars"].IsMap()) {
          for (const auto& kv : y["vars"]) {
            const std::string key = kv.first.as<std::string>();
            if (key == p.name && kv.second.IsMap()) {  // vars scoped to this project
              for (const auto& inner : kv.second) {
                p.vars[inner.first.as<std::string>()] = FromYaml(inner.second);
              }
            } else {
              p.vars.emplace(key, FromYaml(kv.second));
            }
          }
        }
      }
    } catch (const YAML::Exception& e) {
      return absl::InvalidArgumentError(
          StrCat(file.string(), ":", e.mark.line + 1, ": ", e.msg, " (fix the YAML)"));
    }
  }
  const fs::path macros = fs::path(root) / "macros";
  if (fs::is_directory(macros, ec)) {
    std::vector<fs::path> files;
    for (auto it = fs::recursive_directory_iterator(macros, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file() && it->path().extension() == ".sql") files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());
    for (const fs::path& f : files) {
      std::ifstream in(f);
      std::stringstream ss;
      ss << in.rdbuf();
      const std::string rel = fs::relative(f, root, ec).string();
      WS_ASSIGN_OR_RETURN(auto t, jinja::Template::Parse(ss.str(), ec ? f.string() : rel));
      p.macros.push_back(std::move(t));
    }
  }
  return p;
}

}  // namespace watershed::transform
