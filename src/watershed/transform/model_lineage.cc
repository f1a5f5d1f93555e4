// transform/model_lineage.cc — see model_lineage.h.
#include "watershed/transform/model_lineage.h"

#include "watershed/base/columns.h"
#include "watershed/base/log.h"
#include "watershed/base/strings.h"
#include "watershed/observe/lineage_store.h"
#include "watershed/observe/openlineage.h"
#include "watershed/transform/sql_lineage.h"

namespace watershed::transform {
namespace {

using observe::InputField;
using observe::ModelBuild;
using observe::OutputColumn;

std::optional<std::vector<std::pair<std::string, std::string>>> DescribeParts(
    warehouse::Connection& conn, const std::vector<std::string>& parts) {
  std::string name;
  for (const std::string& p : parts) name += (name.empty() ? "" : ".") + warehouse::QuoteIdent(p);
  return DescribeColumns(conn, name);
}

}  // namespace

Status RecordModelBuilds(project::Project& project, warehouse::Connection& conn,
                         const std::vector<ModelBuild>& builds) {
  WS_ASSIGN_OR_RETURN(auto store, observe::LineageStore::Open(project.config().catalog_path));
  std::unique_ptr<observe::OpenLineageSink> sink = observe::SinkForOrWarn(project);
  const observe::OpenLineageNames names = observe::NamesFor(project);
  Status first_error;
  for (const ModelBuild& b : builds) {
    const std::string run_id = observe::NewUuid();
    const int64_t end = NowMicros();
    const int64_t start = end - static_cast<int64_t>(b.seconds * 1e6);
    if (!b.ok) {
      observe::EmitAll(sink.get(),
                       {observe::ModelRunEvent(names, "START", run_id, start, b, nullptr),
                        observe::ModelRunEvent(names, "FAIL", run_id, end, b, nullptr)})
          .IgnoreError();
      continue;
    }
    SchemaLookup lookup =
        [&](const std::vector<std::string>& parts) -> std::optional<std::vector<std::string>> {
      if (auto d = DescribeParts(conn, parts)) {
        std::vector<std::string> cols;
        for (const auto& [name, type] : *d) cols.push_back(name);
        return cols;
      }
      std::vector<std::string> known = store->Fields(LineageDatasetOf(parts));
      if (known.empty()) return std::nullopt;
      return known;
    };
    auto lineage = AnalyzeModelSql(conn, b.model, b.sql, lookup);
    if (!lineage.ok()) {
      LogWarn("lineage: model not analysed",
              {{"model", b.model}, {"error", std::string(MessageOf(lineage.status()))}});
      continue;
    }
    if (!lineage->column_level) {
      LogWarn("lineage: table-level only", {{"model", b.model}, {"why", lineage->note}});
    }
    // Columns the materialization adds (snapshots: valid_from, valid_to, ...) are nodes too.
    const size_t dot = b.model.find('.');
    if (dot != std::string::npos) {
      if (auto target = DescribeParts(conn, {b.model.substr(0, dot), b.model.substr(dot + 1)})) {
        for (const auto& [name, type] : *target) {
          bool known = false;
          for (OutputColumn& c : lineage->columns) {
            if (ToLower(c.name) == ToLower(name)) {
              known = true;
              if (c.data_type.empty()) c.data_type = type;
            }
          }
          if (!known) lineage->columns.push_back({name, type, {}});
        }
      }
    }
    observe::LineageRecord r{.owner = b.model,
                             .kind = "model",
                             .run_id = run_id,
                             .column_level = lineage->column_level,
                             .note = lineage->note,
                             .replace = true};
    std::vector<observe::LineageNode>& nodes = r.nodes;
    std::vector<observe::LineageEdge>& edges = r.edges;
    nodes.push_back({b.model, b.model, "", "dataset", "", b.model});
    for (const OutputColumn& c : lineage->columns) {
      const std::string to = observe::LineageNodeName(b.model, c.name);
      nodes.push_back({to, b.model, c.name, "model", c.data_type, b.model});
      for (const InputField& f : c.inputs) {
        if (f.dataset == b.model) continue;  // {{ this }}: the model reading itself
        nodes.push_back({observe::LineageNodeName(f.dataset, f.field), f.dataset, f.field, "input",
                         "", f.dataset});
        edges.push_back({observe::LineageNodeName(f.dataset, f.field), to, "model", f.type,
                         f.subtype, b.model});
      }
    }
    for (const InputField& f : lineage->dataset_inputs) {
      if (f.dataset == b.model) continue;
      nodes.push_back({observe::LineageNodeName(f.dataset, f.field), f.dataset, f.field, "input",
                       "", f.dataset});
      edges.push_back({observe::LineageNodeName(f.dataset, f.field), b.model, "model", f.type,
                       f.subtype, b.model});
    }
    for (const auto& [dataset, kind] : lineage->input_datasets) {
      if (dataset == b.model) continue;
      nodes.push_back({dataset, dataset, "", "dataset", "", dataset});
      if (!lineage->column_level) {
        edges.push_back({dataset, b.model, "model", "TABLE", "", b.model});
      }
    }
    Status s = store->Write(r);
    if (!s.ok()) {
      if (first_error.ok()) first_error = s;
      continue;
    }
    observe::EmitAll(sink.get(),
                     {observe::ModelRunEvent(names, "START", run_id, start, b, &*lineage),
                      observe::ModelRunEvent(names, "COMPLETE", run_id, end, b, &*lineage)})
        .IgnoreError();
  }
  return first_error;
}

}  // namespace watershed::transform
