// transform/schema_yml.cc — see schema_yml.h.
#include "watershed/transform/schema_yml.h"

#include "watershed/base/strings.h"

namespace watershed::transform {

bool IsSchemaYml(const YAML::Node& root) {
  return root && root.IsMap() && root["version"] &&
         (root["models"] || root["seeds"] || root["sources"]);
}

StatusOr<std::vector<ModelDoc>> ReadSchemaDocs(const YAML::Node& root, const std::string& file) {
  std::vector<ModelDoc> out;
  const YAML::Node models = root["models"];
  if (!models) return out;
  auto bad = [&](const YAML::Node& at, const std::string& what) {
    return absl::InvalidArgumentError(StrCat(file, ":", at.Mark().line + 1, ": ", what));
  };
  if (!models.IsSequence()) return bad(models, "models: must be a list of {name: ..., ...}");
  try {
    for (const auto& m : models) {
      if (!m.IsMap() || !m["name"] || !m["name"].IsScalar()) {
        return bad(m, "each entry of models: needs name: (the model's file name)");
      }
      ModelDoc d;
      d.file = file;
      d.name = m["name"].as<std::string>();
      if (m["description"]) d.description = m["description"].as<std::string>();
      if (m["columns"]) {
        if (!m["columns"].IsSequence()) {
          return bad(m["columns"], StrCat("models.", d.name, ".columns must be a list"));
        }
        for (const auto& c : m["columns"]) {
          if (!c.IsMap() || !c["name"]) {
            return bad(c, StrCat("models.", d.name, ": each column needs name:"));
          }
          d.columns.push_back({c["name"].as<std::string>(),
                               c["description"] ? c["description"].as<std::string>() : ""});
        }
      }
      out.push_back(std::move(d));
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(StrCat(file, ":", e.mark.line + 1, ": ", e.msg));
  }
  return out;
}

}  // namespace watershed::transform
