// observe/metrics.h — a project's metrics: this process's registry flushed into the catalog,
// the gauges the catalog implies, and the merged current view.
//
// Watershed commands are short processes (each task is one), so each process flushes what its
// registry (base/metrics.h) changed since its previous flush (counter deltas, gauge values)
// with a timestamp: FlushMetrics(project) — called by load sessions after each commit, by the
// executor after each task, by the scheduler after each tick and by the CLI at exit.
// Owns: FlushMetrics, gauges derived from the catalog (rows, files and bytes per table, the
// newest snapshot, loads by status, alarm states) plus those other modules register
// (AddGaugeSource), and CurrentMetrics (stored points aggregated, merged with the derived
// gauges). Does not own: the registry (base/metrics.h), the tables (metric_store.h), Prometheus
// text (metrics_prometheus.h), CloudWatch (cloudwatch_push.h), alarms (alarms.h), rendering
// tables or JSON (cli/observe_view.h).
// Thread safety: FlushMetrics and AddGaugeSource are thread-safe; the rest is reentrant (each
// call opens its own connections).
#pragma once

#include <functional>
#include <vector>

#include "watershed/base/metrics.h"
#include "watershed/base/status.h"
#include "watershed/observe/metric_store.h"
#include "watershed/project/project.h"

namespace watershed::observe {

// Writes what the process registry changed since its last flush into the project's catalog
// database, stamped now. Cheap when nothing changed (no database access).
Status FlushMetrics(project::Project& project);

// Gauges derived from another module's tables that observe/ cannot see (orchestrate's runs):
// the CLI adds them at start-up (cli/main.cc), and CatalogMetrics includes them.
using GaugeSource = std::function<StatusOr<std::vector<MetricFamily>>(project::Project&)>;
void AddGaugeSource(GaugeSource source);

// Metrics the catalog already knows, as gauges: rows, files and bytes per table at the latest
// snapshot, loads by status, alarm states, and those of every GaugeSource.
StatusOr<std::vector<MetricFamily>> CatalogMetrics(project::Project& project);

// Stored metrics (after flushing this process's registry) merged with CatalogMetrics, families
// in name order.
StatusOr<std::vector<MetricFamily>> CurrentMetrics(project::Project& project);

}  // namespace watershed::observe
