// observe/metrics.cc — flushing the process registry, catalog-derived gauges, the current
// view. See metrics.h.
#include "watershed/observe/metrics.h"

#include <algorithm>
#include <map>
#include <mutex>

#include "watershed/base/columns.h"

namespace watershed::observe {

Status FlushMetrics(project::Project& project) {
  // One store per process, reopened when another project's catalog is flushed (tests).
  static std::mutex mu;
  static std::string* store_path = new std::string;
  static MetricStore* store = nullptr;
  const std::string& path = project.config().catalog_path;
  return Annotate(ProcessMetrics().Flush(NowMicros(),
                                         [&](const std::vector<MetricPoint>& points) -> Status {
                                           std::lock_guard<std::mutex> lock(mu);
                                           if (store == nullptr || *store_path != path) {
                                             delete store;
                                             store = nullptr;
                                             WS_ASSIGN_OR_RETURN(auto opened,
                                                                 MetricStore::Open(path));
                                             store = opened.release();
                                             *store_path = path;
                                           }
                                           return store->Append(points);
                                         }),
                  "flushing metrics");
}

// ---- metrics from the catalog ----

namespace {
std::mutex gauge_sources_mu;
std::vector<GaugeSource>& GaugeSources() {
  static auto* sources = new std::vector<GaugeSource>;
  return *sources;
}
}  // namespace

void AddGaugeSource(GaugeSource source) {
  std::lock_guard<std::mutex> lock(gauge_sources_mu);
  GaugeSources().push_back(std::move(source));
}

StatusOr<std::vector<MetricFamily>> CatalogMetrics(project::Project& project) {
  WS_ASSIGN_OR_RETURN(lake::Catalog * catalog, project.catalog());
  MetricFamily rows{"watershed_catalog_table_rows",
                    MetricType::kGauge,
                    "Rows of each lake table at the latest snapshot.",
                    {}};
  MetricFamily files{"watershed_catalog_table_files",
                     MetricType::kGauge,
                     "Live data files of each lake table at the latest snapshot.",
                     {}};
  MetricFamily bytes{"watershed_catalog_table_bytes",
                     MetricType::kGauge,
                     "Bytes of the live data files of each lake table.",
                     {}};
  WS_ASSIGN_OR_RETURN(auto tables, catalog->ListTables());
  for (const lake::TableInfo& t : tables) {
    auto state = catalog->GetTableState(t.name);
    if (!state.ok()) continue;  // dropped meanwhile
    int64_t size = 0;
    for (const auto& f : state->files) size += f.size_bytes;
    rows.samples.push_back({rows.name, {{"table", t.name}}, static_cast<double>(state->row_count)});
    files.samples.push_back(
        {files.name, {{"table", t.name}}, static_cast<double>(state->files.size())});
    bytes.samples.push_back({bytes.name, {{"table", t.name}}, static_cast<double>(size)});
  }
  MetricFamily snapshot{
      "watershed_catalog_snapshot", MetricType::kGauge, "Id of the newest catalog snapshot.", {}};
  WS_ASSIGN_OR_RETURN(int64_t latest, catalog->LatestSnapshot());
  snapshot.samples.push_back({snapshot.name, {}, static_cast<double>(latest)});
  MetricFamily loads{"watershed_catalog_loads",
                     MetricType::kGauge,
                     "Loads recorded in the catalog, per status.",
                     {}};
  WS_ASSIGN_OR_RETURN(auto load_records, catalog->Loads());
  std::map<std::string, int64_t> by_status;
  for (const auto& l : load_records) ++by_status[l.status];
  for (const auto& [status, n] : by_status) {
    loads.samples.push_back({loads.name, {{"status", status}}, static_cast<double>(n)});
  }
  MetricFamily alarms{"watershed_alarm_state",
                      MetricType::kGauge,
                      "1 for the current state of each alarm (OK, ALARM, INSUFFICIENT_DATA).",
                      {}};
  WS_ASSIGN_OR_RETURN(auto store, MetricStore::Open(project.config().catalog_path));
  WS_ASSIGN_OR_RETURN(auto alarm_rows, store->AlarmRows());
  for (const auto& r : alarm_rows) {
    alarms.samples.push_back({alarms.name, {{"alarm", r.alarm}, {"state", r.state}}, 1});
  }
  std::vector<MetricFamily> out;
  for (MetricFamily* f : {&alarms, &loads, &snapshot, &bytes, &files, &rows}) {
    if (f->samples.empty()) continue;
    metrics::SortSamples(*f);
    out.push_back(std::move(*f));
  }
  std::vector<GaugeSource> sources;
  {
    std::lock_guard<std::mutex> lock(gauge_sources_mu);
    sources = GaugeSources();
  }
  for (const GaugeSource& source : sources) {
    WS_ASSIGN_OR_RETURN(auto more, source(project));
    for (MetricFamily& f : more) {
      if (f.samples.empty()) continue;
      metrics::SortSamples(f);
      out.push_back(std::move(f));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const MetricFamily& a, const MetricFamily& b) { return a.name < b.name; });
  return out;
}

StatusOr<std::vector<MetricFamily>> CurrentMetrics(project::Project& project) {
  WS_RETURN_IF_ERROR(FlushMetrics(project));
  WS_ASSIGN_OR_RETURN(auto store, MetricStore::Open(project.config().catalog_path));
  WS_ASSIGN_OR_RETURN(auto stored, store->Aggregate());
  WS_ASSIGN_OR_RETURN(auto derived, CatalogMetrics(project));
  std::map<std::string, MetricFamily> all;
  for (auto& f : stored) all[f.name] = std::move(f);
  for (auto& f : derived) all[f.name] = std::move(f);  // derived names never collide
  std::vector<MetricFamily> out;
  for (auto& [name, f] : all) out.push_back(std::move(f));
  return out;
}

}  // namespace watershed::observe
