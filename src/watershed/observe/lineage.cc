// observe/lineage.cc — see lineage.h.
#include "watershed/observe/lineage.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "watershed/base/strings.h"
#include "watershed/observe/lineage_store.h"
#include "watershed/observe/openlineage.h"

namespace watershed::observe {
namespace {

std::string JsonDataset(const std::string& root) { return StrCat("json:", root); }
std::string JsonNode(const std::string& root, const std::string& path) {
  return StrCat("json:", root, ":", path);
}

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] =
          std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

bool HasTable(const std::vector<normalize::TableSchema>& tables, const std::string& name) {
  return std::any_of(tables.begin(), tables.end(),
                     [&](const normalize::TableSchema& t) { return t.name == name; });
}

Status Trace(LineageStore& store, LineageTree& t, const TraceOptions& o, int level,
             std::set<std::string>& path) {
  const bool up = o.direction == Direction::kUpstream;
  WS_ASSIGN_OR_RETURN(std::vector<LineageEdge> edges, store.Edges(t.node, up));
  WS_ASSIGN_OR_RETURN(std::optional<LineageNode> node, store.Node(t.node));
  if (up && node && !node->field.empty() && node->dataset != t.node) {
    // Inputs of the whole dataset: indirect ones when asked, table-level ones always (a model
    // whose SQL could not be analysed has no column edges).
    WS_ASSIGN_OR_RETURN(std::vector<LineageEdge> dataset_edges, store.Edges(node->dataset, true));
    for (LineageEdge& e : dataset_edges) {
      if (e.transformation == "TABLE" || (o.indirect && e.transformation == "INDIRECT")) {
        edges.push_back(std::move(e));
      }
    }
  }
  edges.erase(std::remove_if(edges.begin(), edges.end(),
                             [&](const LineageEdge& e) {
                               return !o.indirect && e.transformation == "INDIRECT";
                             }),
              edges.end());
  if (edges.empty()) return absl::OkStatus();
  if (o.depth > 0 && level >= o.depth) {
    t.truncated = true;
    return absl::OkStatus();
  }
  // One child per neighbour; its strongest edge first (DIRECT sorts before INDIRECT), the
  // others listed with it.
  std::vector<std::pair<std::string, std::vector<LineageEdge>>> grouped;
  for (const LineageEdge& e : edges) {
    const std::string& other = up ? e.from : e.to;
    auto it = std::find_if(grouped.begin(), grouped.end(),
                           [&](const auto& g) { return g.first == other; });
    if (it == grouped.end()) {
      grouped.push_back({other, {e}});
    } else {
      it->second.push_back(e);
    }
  }
  for (auto& [other, group] : grouped) {
    std::stable_sort(group.begin(), group.end(), [](const LineageEdge& a, const LineageEdge& b) {
      return a.transformation < b.transformation;
    });
    const LineageEdge& e = group[0];
    LineageTree child;
    for (size_t i = 1; i < group.size(); ++i) {
      child.also.push_back(StrCat(group[i].transformation, " ", group[i].subtype));
    }
    child.node = other;
    WS_ASSIGN_OR_RETURN(std::optional<LineageNode> info, store.Node(child.node));
    child.kind = info ? (info->kind == "input" ? "column" : info->kind) : "column";
    child.data_type = info ? info->data_type : "";
    child.edge_kind = e.kind;
    child.transformation = e.transformation;
    child.subtype = e.subtype;
    child.via = e.owner;
    if (path.contains(child.node)) {
      child.cycle = true;
    } else {
      path.insert(child.node);
      Status s = Trace(store, child, o, level + 1, path);
      path.erase(child.node);
      WS_RETURN_IF_ERROR(s);
    }
    t.children.push_back(std::move(child));
  }
  return absl::OkStatus();
}

}  // namespace

Status RecordLoadLineage(project::Project& project, int64_t load_id, int64_t snapshot_id,
                         const std::vector<normalize::TableSchema>& tables) {
  WS_ASSIGN_OR_RETURN(auto store, LineageStore::Open(project.config().catalog_path));
  std::unique_ptr<OpenLineageSink> sink = SinkForOrWarn(project);
  const OpenLineageNames names = NamesFor(project);
  const std::string run_id = NewUuid();
  const int64_t now = NowMicros();
  std::map<std::string, std::vector<normalize::TableSchema>> by_root;
  for (const normalize::TableSchema& t : tables) {
    if (t.name == "watershed.quarantine") continue;
    const std::string root = normalize::RootTableOf(tables, t.name);
    LineageRecord r{.owner = t.name,
                    .kind = "load",
                    .run_id = StrCat("load_", load_id),
                    .column_level = true,
                    .note = StrCat("snapshot ", snapshot_id)};
    r.nodes.push_back({t.name, t.name, "", "dataset", "", t.name});
    for (const ColumnSpec& c : t.columns) {
      const std::string to = LineageNodeName(t.name, c.name);
      r.nodes.push_back({to, t.name, c.name, "lake", std::string(ColumnTypeSql(c.type)), t.name});
      if (auto path = normalize::JsonPathOf(tables, t.name, c.name)) {
        const std::string from = JsonNode(root, *path);
        r.nodes.push_back({from, JsonDataset(root), *path, "json", "", t.name});
        r.edges.push_back({from, to, "load", "DIRECT", "IDENTITY", t.name});
      } else if (c.name == normalize::kParentIdColumn && !t.parent.empty()) {
        r.edges.push_back({LineageNodeName(t.parent, std::string(normalize::kIdColumn)), to, "load",
                           "DIRECT", "IDENTITY", t.name});
      }
    }
    WS_RETURN_IF_ERROR(store->Write(r));
    by_root[root].push_back(t);
  }
  std::vector<nlohmann::json> events;
  for (const auto& [root, group] : by_root) {
    // The tables' ancestors are needed for their paths, even when they had no rows this commit.
    std::vector<normalize::TableSchema> with_context = group;
    for (const normalize::TableSchema& t : tables) {
      if (!HasTable(with_context, t.name)) with_context.push_back(t);
    }
    nlohmann::json complete = LoadRunEvent(names, "COMPLETE", run_id, now, load_id, with_context);
    // Only this root's tables are outputs of this event.
    nlohmann::json outputs = nlohmann::json::array();
    for (const auto& o : complete["outputs"]) {
      if (normalize::RootTableOf(tables, o["name"].get<std::string>()) == root) {
        outputs.push_back(o);
      }
    }
    complete["outputs"] = outputs;
    nlohmann::json inputs = nlohmann::json::array();
    for (const auto& i : complete["inputs"]) {
      if (i["name"] == root) inputs.push_back(i);
    }
    complete["inputs"] = inputs;
    complete["job"]["name"] = StrCat("load.", root);
    complete["run"]["runId"] = NewUuid();
    nlohmann::json start = complete;
    start["eventType"] = "START";
    for (auto& o : start["outputs"]) o.erase("facets");
    events.push_back(start);
    events.push_back(complete);
  }
  EmitAll(sink.get(), events).IgnoreError();
  return absl::OkStatus();
}

StatusOr<std::vector<std::string>> ListLineageNodes(project::Project& project) {
  WS_ASSIGN_OR_RETURN(auto store, LineageStore::Open(project.config().catalog_path));
  return store->AllNodes();
}

StatusOr<LineageTree> TraceLineage(project::Project& project, const std::string& node,
                                   const TraceOptions& options) {
  if (options.depth < 0) {
    return absl::InvalidArgumentError(
        StrCat("--depth must be 0 (no limit) or more, not ", options.depth));
  }
  WS_ASSIGN_OR_RETURN(auto store, LineageStore::Open(project.config().catalog_path));
  WS_ASSIGN_OR_RETURN(std::optional<LineageNode> info, store->Node(node));
  if (!info) {
    std::vector<std::pair<size_t, std::string>> scored;
    const std::string key = ToLower(node);
    WS_ASSIGN_OR_RETURN(std::vector<std::string> all, store->AllNodes());
    for (const std::string& n : all) scored.emplace_back(EditDistance(key, ToLower(n)), n);
    std::sort(scored.begin(), scored.end());
    std::string hint;
    for (size_t i = 0; i < scored.size() && i < 3; ++i) {
      if (scored[i].first > std::max<size_t>(3, node.size() / 2)) break;
      hint += (hint.empty() ? "" : ", ") + scored[i].second;
    }
    return absl::NotFoundError(
        StrCat("lineage: no column or table named '", node, "' was recorded",
               hint.empty() ? std::string(" (lineage is recorded by loads and builds)")
                            : StrCat("; did you mean ", hint, "?")));
  }
  LineageTree tree;
  tree.node = node;
  tree.kind = info->kind == "input" ? "column" : info->kind;
  tree.data_type = info->data_type;
  std::set<std::string> path{node};
  WS_RETURN_IF_ERROR(Trace(*store, tree, options, 0, path));
  return tree;
}

}  // namespace watershed::observe
