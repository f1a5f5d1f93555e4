// transform/graph.h — the models' dependency graph: validation, selection, build order.
//
// Owns: resolving refs (an unknown model is an error naming the model and its file), finding
// cycles (an error naming the cycle, a -> b -> a), selectors (`finance` a mart, `name` or
// `mart.name` a model, `+name` with everything upstream, `name+` with everything downstream),
// and the layers of a build (each layer depends only on earlier ones). Does not own: running.
// Thread safety: values only.
#pragma once

#include <string>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/transform/model.h"

namespace watershed::transform {

struct Graph {
  std::vector<Model> models;
  std::vector<std::vector<int>> upstream;    // per model: the models it refs
  std::vector<std::vector<int>> downstream;  // per model: the models that ref it
};

StatusOr<Graph> BuildGraph(std::vector<Model> models);
// The selected models (all when `selectors` is empty); an unknown selector is an error.
StatusOr<std::vector<int>> Select(const Graph& graph, const std::vector<std::string>& selectors);
// `selected` in build order, grouped into layers of mutually independent models.
std::vector<std::vector<int>> Layers(const Graph& graph, const std::vector<int>& selected);

}  // namespace watershed::transform
