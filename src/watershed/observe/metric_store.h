// observe/metric_store.h — the metric tables in the catalog database: `metric_families`,
// `metric_points` and `alarm_state` (docs/formats/metrics.md), on store/store.h.
//
// Owns: their schema and migrations (store::Schema "metrics"), appending a flush of points,
// aggregating the points of every process (counters and histograms: the sum of deltas; gauges:
// the latest value), reading one sample's points in a window, compaction for retention, the
// rows of alarm states (alarms.h decides them), and flushing a registry into a catalog file.
// Does not own: the registry (base/metrics.h), metrics derived from the catalog (metrics.h),
// output formats (metrics_prometheus.h, cli/observe_view.h), alarm logic (alarms.h).
// Thread safety: a MetricStore is used by one thread; several processes may write one catalog
// at once (SQLite locking through store::Connection).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "watershed/base/metrics.h"
#include "watershed/base/status.h"
#include "watershed/store/store.h"

namespace watershed::observe {

// The registry's types (base/metrics.h), used throughout observe/.
using metrics::Counter;
using metrics::DefaultDurationBuckets;
using metrics::FindStandardMetric;
using metrics::FormatMetricValue;
using metrics::Gauge;
using metrics::Histogram;
using metrics::MetricFamily;
using metrics::MetricLabels;
using metrics::MetricPoint;
using metrics::MetricRegistry;
using metrics::MetricSample;
using metrics::MetricSpec;
using metrics::MetricType;
using metrics::MetricTypeName;
using metrics::ProcessMetrics;
using metrics::StandardMetrics;

// The metric tables in a catalog database file (its own connection; creates the tables).
class MetricStore {
 public:
  static StatusOr<std::unique_ptr<MetricStore>> Open(const std::string& catalog_path);
  ~MetricStore();
  MetricStore(const MetricStore&) = delete;
  MetricStore& operator=(const MetricStore&) = delete;

  // Appends `points` (and their families) in one transaction.
  Status Append(const std::vector<MetricPoint>& points);
  // Every series aggregated over the points with since_micros < time <= until_micros
  // (until 0 = no limit): counters and histograms summed, gauges the latest value. Families in
  // name order.
  StatusOr<std::vector<MetricFamily>> Aggregate(int64_t since_micros = 0, int64_t until_micros = 0);
  // The points of sample `sample` with since_micros < time <= until_micros, oldest first.
  StatusOr<std::vector<MetricPoint>> Points(const std::string& sample, int64_t since_micros,
                                            int64_t until_micros);
  // The type of family `name` as recorded, nullopt when never recorded.
  StatusOr<std::optional<MetricType>> FamilyType(const std::string& name);
  // Rolls points older than `before_micros` into one point per series (counters: the sum at
  // `before_micros` - 1; gauges: the latest). Returns the number of rows removed.
  StatusOr<int64_t> Compact(int64_t before_micros);

  // The `alarm_state` table (alarms.h decides the states; it is stored here with the points).
  struct AlarmRow {
    std::string alarm;
    std::string state;  // OK, ALARM, INSUFFICIENT_DATA
    std::optional<double> value;
    int64_t since_micros = 0;
    int64_t evaluated_micros = 0;
    std::string reason;
  };
  StatusOr<std::vector<AlarmRow>> AlarmRows();
  // In one write transaction: reads the stored row of `next.alarm` and stores `next` — keeping
  // the stored since_micros when the state did not change. Returns the row stored before
  // (nullopt: none). Of several processes exchanging the same change, only one sees the old
  // state.
  StatusOr<std::optional<AlarmRow>> ExchangeAlarmRow(const AlarmRow& next);
  // Deletes the rows of alarms not in `keep`.
  Status RetainAlarmRows(const std::vector<std::string>& keep);

 private:
  explicit MetricStore(std::unique_ptr<store::Connection> db) : db_(std::move(db)) {}
  std::unique_ptr<store::Connection> db_;
};

// Flushes `registry` into the metric tables of the catalog database `catalog_path`, stamped
// `time_micros` (tests and tools with a registry of their own; FlushMetrics in metrics.h for
// the process registry).
Status FlushRegistry(MetricRegistry& registry, const std::string& catalog_path,
                     int64_t time_micros);

// How labels are stored in `metric_points.labels`.
std::string LabelsToJson(const MetricLabels& labels);  // {"a":"1","b":"2"} (keys sorted)
MetricLabels LabelsFromJson(std::string_view json);    // {} when not an object

}  // namespace watershed::observe
