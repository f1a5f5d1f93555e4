// cli/lineage_view.cc — see lineage_view.h.
#include "watershed/cli/lineage_view.h"

#include <nlohmann/json.hpp>

#include "watershed/base/strings.h"

namespace watershed::cli {
namespace {

using json = nlohmann::json;
using observe::LineageTree;

void FormatTree(const LineageTree& t, const std::string& prefix, bool last, bool root,
                std::string& out) {
  if (!root) out += prefix + (last ? "└─ " : "├─ ");
  out += t.node;
  if (!t.data_type.empty()) out += StrCat(" (", t.data_type, ")");
  if (!root) {
    out += "  [";
    out += t.transformation == "TABLE" ? "table-level" : t.transformation;
    if (!t.subtype.empty()) out += StrCat(" ", t.subtype);
    for (const std::string& a : t.also) out += StrCat(" + ", a);
    out += StrCat(", ", t.edge_kind, " ", t.via, "]");
  }
  if (t.cycle) out += "  (cycle)";
  if (t.truncated) out += "  ...";
  out += "\n";
  const std::string next = root ? "" : prefix + (last ? "   " : "│  ");
  for (size_t i = 0; i < t.children.size(); ++i) {
    FormatTree(t.children[i], next, i + 1 == t.children.size(), false, out);
  }
}

json TreeJson(const LineageTree& t) {
  json j = {{"node", t.node}, {"kind", t.kind}};
  if (!t.data_type.empty()) j["type"] = t.data_type;
  if (!t.edge_kind.empty()) {
    j["edge"] = {{"kind", t.edge_kind},
                 {"transformation", t.transformation},
                 {"subtype", t.subtype},
                 {"via", t.via},
                 {"also", t.also}};
  }
  if (t.cycle) j["cycle"] = true;
  if (t.truncated) j["truncated"] = true;
  j["children"] = json::array();
  for (const LineageTree& c : t.children) j["children"].push_back(TreeJson(c));
  return j;
}

}  // namespace

StatusOr<LineageFormat> ParseLineageFormat(const std::string& name) {
  if (name == "tree") return LineageFormat::kTree;
  if (name == "json") return LineageFormat::kJson;
  return absl::InvalidArgumentError(StrCat("--format must be tree or json, not '", name, "'"));
}

std::string FormatLineageTree(const LineageTree& tree) {
  std::string out;
  FormatTree(tree, "", true, true, out);
  return out;
}

std::string FormatLineageJson(const LineageTree& tree) { return TreeJson(tree).dump(2) + "\n"; }

std::string RenderLineage(const LineageTree& tree, LineageFormat format) {
  return format == LineageFormat::kJson ? FormatLineageJson(tree) : FormatLineageTree(tree);
}

}  // namespace watershed::cli
