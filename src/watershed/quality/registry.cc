// quality/registry.cc — see registry.h.
#include "watershed/quality/registry.h"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <regex>

#include "watershed/base/log.h"
#include "watershed/base/strings.h"
#include "watershed/quality/kinds/kinds.h"

namespace watershed::quality {

const std::vector<const CheckKind*>& Kinds() {
  // Listed explicitly (no self-registration: a static library drops unreferenced objects).
  static const auto* kinds = new std::vector<const CheckKind*>{kinds::NotNull().release(),
                                                               kinds::Unique().release(),
                                                               kinds::AcceptedValues().release(),
                                                               kinds::Range().release(),
                                                               kinds::Regex().release(),
                                                               kinds::RowCount().release(),
                                                               kinds::Freshness().release(),
                                                               kinds::Relationships().release(),
                                                               kinds::Schema().release(),
                                                               kinds::VolumeAnomaly().release(),
                                                               kinds::Sql().release()};
  return *kinds;
}

const CheckKind* FindKind(std::string_view name) {
  for (const CheckKind* k : Kinds()) {
    if (k->name() == name) return k;
  }
  return nullptr;
}

std::string KindNames() {
  std::vector<std::string> names;
  for (const CheckKind* k : Kinds()) names.emplace_back(k->name());
  return Join(names, ", ");
}

}  // namespace watershed::quality

// ---- dbt schema.yml tests -------------------------------------------------------------------

namespace watershed::quality {
namespace {

namespace fs = std::filesystem;

// `ref('x')` -> mart.x, `ref('m', 'x')` -> m.x, `source('ns', 't')` -> ns.t; else as written.
std::string TableOf(const std::string& mart, const std::string& to) {
  static const std::regex& call = *new std::regex(R"(^\s*(ref|source)\(\s*['"]([^'"]+)['"]\s*(?:,\s*['"]([^'"]+)['"]\s*)?\)\s*$)");
  std::smatch m;
  if (!std::regex_match(to, m, call)) return to;
  if (m[3].matched) return StrCat(m[2].str(), ".", m[3].str());
  return m[1] == "ref" ? StrCat(mart, ".", m[2].str()) : m[2].str();
}

// A value that is there (yaml-cpp's default Node is a defined null, which tests true).
bool Has(const YAML::Node& n) { return n.IsDefined() && !n.IsNull(); }

// One test of a column: "unique" or {accepted_values: {values: [...], config: {...}}}.
Status AddTest(const std::string& file, const std::string& mart, const std::string& model,
               std::string column, const YAML::Node& test, std::vector<Check>* out) {
  std::string type;
  YAML::Node args;
  if (test.IsScalar()) {
    type = test.as<std::string>();
  } else if (test.IsMap() && test.size() == 1) {
    type = test.begin()->first.as<std::string>();
    args = test.begin()->second;
  } else {
    return absl::InvalidArgumentError(
        StrCat(file, ":", test.Mark().line + 1, ": models.", model,
               ": a test is a name (unique) or a map with one name ({accepted_values: ...})"));
  }
  const std::string where = StrCat(file, ":", test.Mark().line + 1, ": models.", model,
                                   column.empty() ? "" : ".columns." + column, " (", type, ")");
  if (type != "unique" && type != "not_null" && type != "accepted_values" &&
      type != "relationships") {
    LogWarn("schema.yml test skipped (Watershed runs unique, not_null, accepted_values and "
            "relationships)", {{"where", where}});
    return absl::OkStatus();
  }
  const YAML::Node none(YAML::NodeType::Undefined);
  auto get = [&](const char* key) -> YAML::Node {
    if (!Has(args) || !args.IsMap()) return none;
    if (Has(args[key])) return args[key];
    if (Has(args["arguments"]) && Has(args["arguments"][key])) return args["arguments"][key];
    return none;
  };
  Check c;
  c.type = type;
  c.kind = FindKind(type);
  c.table = StrCat(mart, ".", model);
  if (YAML::Node col = get("column_name"); Has(col) && col.IsScalar()) {
    column = col.as<std::string>();
  }
  if (column.empty()) {
    return absl::InvalidArgumentError(StrCat(where, ": a model-level test needs column_name:"));
  }
  const bool has_config = Has(args) && args.IsMap() && Has(args["config"]);
  YAML::Node severity = get("severity");
  if (!Has(severity) && has_config) severity.reset(args["config"]["severity"]);
  if (Has(severity) && ToLower(severity.as<std::string>()) == "warn") c.severity = Severity::kWarn;
  if ((has_config && Has(args["config"]["where"])) || Has(get("where"))) {
    LogWarn("schema.yml test skipped: where: is not supported", {{"where", where}});
    return absl::OkStatus();
  }
  YAML::Node spec;
  if (type == "unique" || type == "not_null") {
    spec = YAML::Node(column);
  } else {
    spec["column"] = column;
    if (type == "accepted_values") {
      if (Has(get("values"))) spec["values"] = get("values");
    } else {
      if (Has(get("to"))) spec["to"] = TableOf(mart, get("to").as<std::string>());
      if (Has(get("field"))) spec["field"] = get("field");
    }
  }
  WS_RETURN_IF_ERROR(c.kind->Parse(spec, SpecReader(where), c));
  YAML::Node name = get("name");
  c.name = Has(name) && name.IsScalar() ? name.as<std::string>()
                                   : StrCat(model, "__", type, "__", column);
  for (const Check& other : *out) {
    if (other.name == c.name) {
      return absl::InvalidArgumentError(
          StrCat(where, ": a check named '", c.name, "' already exists; give this test a name:"));
    }
  }
  out->push_back(std::move(c));
  return absl::OkStatus();
}

}  // namespace

StatusOr<std::vector<Check>> SchemaYmlChecks(const std::string& models_dir) {
  std::vector<Check> out;
  std::error_code ec;
  if (!fs::is_directory(models_dir, ec)) return out;
  std::vector<std::pair<std::string, fs::path>> files;  // mart, file
  for (const auto& mart : fs::directory_iterator(models_dir, ec)) {
    if (!mart.is_directory()) continue;
    for (auto it = fs::recursive_directory_iterator(mart.path(), ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      const std::string ext = it->path().extension().string();
      if (it->is_regular_file() && (ext == ".yml" || ext == ".yaml")) {
        files.push_back({mart.path().filename().string(), it->path()});
      }
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& [mart, path] : files) {
    const std::string file = path.string();
    YAML::Node root;
    try {
      root = YAML::LoadFile(file);
    } catch (const YAML::Exception&) {
      continue;  // not ours to report: model discovery names the file and line
    }
    // The same test as transform/schema_yml.h's IsSchemaYml (quality/ cannot include it).
    if (!root.IsMap() || !root["version"] || !root["models"] || !root["models"].IsSequence()) {
      continue;
    }
    try {
      for (const auto& m : root["models"]) {
        if (!m.IsMap() || !m["name"]) continue;  // schema_yml.cc reports it
        const std::string model = m["name"].as<std::string>();
        for (const char* key : {"tests", "data_tests"}) {
          if (!m[key] || !m[key].IsSequence()) continue;
          for (const auto& t : m[key]) WS_RETURN_IF_ERROR(AddTest(file, mart, model, "", t, &out));
        }
        if (!m["columns"] || !m["columns"].IsSequence()) continue;
        for (const auto& col : m["columns"]) {
          if (!col.IsMap() || !col["name"]) continue;
          const std::string column = col["name"].as<std::string>();
          for (const char* key : {"tests", "data_tests"}) {
            if (!col[key] || !col[key].IsSequence()) continue;
            for (const auto& t : col[key]) {
              WS_RETURN_IF_ERROR(AddTest(file, mart, model, column, t, &out));
            }
          }
        }
      }
    } catch (const YAML::Exception& e) {
      return absl::InvalidArgumentError(StrCat(file, ":", e.mark.line + 1, ": ", e.msg));
    }
  }
  return out;
}

}  // namespace watershed::quality
