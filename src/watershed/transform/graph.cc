// transform/graph.cc — see graph.h.
#include "watershed/transform/graph.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

namespace watershed::transform {

StatusOr<Graph> BuildGraph(std::vector<Model> models) {
  Graph g;
  g.models = std::move(models);
  std::map<std::string, int> index;
  for (size_t i = 0; i < g.models.size(); ++i) index[g.models[i].id()] = static_cast<int>(i);
  g.upstream.resize(g.models.size());
  g.downstream.resize(g.models.size());
  for (size_t i = 0; i < g.models.size(); ++i) {
    for (const std::string& ref : g.models[i].refs) {
      auto it = index.find(ref);
      if (it == index.end()) {
        return absl::InvalidArgumentError(StrCat(g.models[i].path, ": ref to unknown model '",
                                                 ref, "' (models are models/<mart>/<name>.sql)"));
      }
      g.upstream[i].push_back(it->second);
      g.downstream[it->second].push_back(static_cast<int>(i));
    }
  }
  // Cycles: depth-first search with colours; the path on the stack names the cycle.
  std::vector<int> colour(g.models.size(), 0), stack;
  std::string cycle;
  std::function<bool(int)> visit = [&](int v) {
    colour[v] = 1;
    stack.push_back(v);
    for (int u : g.upstream[v]) {
      if (colour[u] == 1) {
        auto from = std::find(stack.begin(), stack.end(), u);
        for (auto it = from; it != stack.end(); ++it) cycle += g.models[*it].id() + " -> ";
        cycle += g.models[u].id();
        return true;
      }
      if (colour[u] == 0 && visit(u)) return true;
    }
    stack.pop_back();
    colour[v] = 2;
    return false;
  };
  for (size_t i = 0; i < g.models.size(); ++i) {
    if (colour[i] == 0 && visit(static_cast<int>(i))) {
      return absl::InvalidArgumentError(StrCat("models ref each other in a cycle: ", cycle));
    }
  }
  return g;
}

StatusOr<std::vector<int>> Select(const Graph& g, const std::vector<std::string>& selectors) {
  std::set<int> chosen;
  if (selectors.empty()) {
    for (size_t i = 0; i < g.models.size(); ++i) chosen.insert(static_cast<int>(i));
  }
  auto walk = [&](int start, const std::vector<std::vector<int>>& edges) {
    std::vector<int> todo = {start};
    while (!todo.empty()) {
      int v = todo.back();
      todo.pop_back();
      if (!chosen.insert(v).second && v != start) continue;
      for (int u : edges[v]) todo.push_back(u);
    }
  };
  for (std::string sel : selectors) {
    const bool up = sel.starts_with("+");
    const bool down = sel.ends_with("+") && sel.size() > 1;
    if (up) sel = sel.substr(1);
    if (down) sel.pop_back();
    bool matched = false;
    for (size_t i = 0; i < g.models.size(); ++i) {
      const Model& m = g.models[i];
      if (sel == m.mart || sel == m.name || sel == m.id()) {
        matched = true;
        chosen.insert(static_cast<int>(i));
        if (up) walk(static_cast<int>(i), g.upstream);
        if (down) walk(static_cast<int>(i), g.downstream);
      }
    }
    if (!matched) {
      return absl::InvalidArgumentError(
          StrCat("--select ", sel, " matches no mart or model (see models/<mart>/<name>.sql)"));
    }
  }
  return std::vector<int>(chosen.begin(), chosen.end());
}

std::vector<std::vector<int>> Layers(const Graph& g, const std::vector<int>& selected) {
  std::set<int> todo(selected.begin(), selected.end()), done;
  std::vector<std::vector<int>> layers;
  while (!todo.empty()) {
    std::vector<int> layer;
    for (int v : todo) {
      bool ready = std::all_of(g.upstream[v].begin(), g.upstream[v].end(),
                               [&](int u) { return done.contains(u) || !todo.contains(u); });
      if (ready) layer.push_back(v);
    }
    for (int v : layer) {
      todo.erase(v);
      done.insert(v);
    }
    layers.push_back(std::move(layer));
  }
  return layers;
}

}  // namespace watershed::transform
