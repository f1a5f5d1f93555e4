// observe/metrics.h — metrics: counters, gauges and histograms with labels, kept per process,
// persisted in the catalog database and served as Prometheus text.
//
// Owns: the process registry (`metrics::GetCounter(name, labels).Inc()` and friends), the list of
// standard Watershed metrics (StandardMetrics(): name, type, help, buckets), the tables
// `metric_families`, `metric_points` and `alarm_state` (rows decided by alarms.h) in the
// catalog's SQLite file (docs/formats/metrics.md),
// aggregation of the points of every process (counters: sum of deltas; gauges: latest value),
// metrics derived from the catalog (table rows, loads, runs, alarm states), and the output
// formats: Prometheus text exposition 0.0.4, a table, JSON, and CloudWatch datums.
// Watershed commands are short processes (each task is one), so each process flushes what
// changed since its previous flush (counter deltas, gauge values) with a timestamp:
// FlushMetrics(project) — called by load sessions after each commit, by the executor after each
// task, by the scheduler after each tick, and (to be wired) by the CLI at exit.
// Does not own: alarms (alarms.h), the CloudWatch API (cloudwatch.h), HTTP serving (server/).
// Thread safety: the registry and every Counter/Gauge/Histogram are thread-safe; increments are
// lock-free atomics. Looking a series up takes a mutex, so hot loops keep the reference (it stays
// valid for the life of the process). A MetricStore is used by one thread; several processes
// may write one catalog at once (SQLite locking, busy timeout 30 s).
#pragma once

#include <atomic>
#include <functional>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "watershed/base/metrics.h"
#include "watershed/base/status.h"
#include "watershed/store/store.h"
#include "watershed/observe/cloudwatch.h"
#include "watershed/project/project.h"

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


// Writes what the process registry changed since its last flush into the project's catalog
// database, stamped now. Cheap when nothing changed (no database access).
Status FlushMetrics(project::Project& project);
// Flushes `registry` into the metric tables of the catalog database `catalog_path` (tests and
// tools with a registry of their own).
Status FlushRegistry(MetricRegistry& registry, const std::string& catalog_path,
                     int64_t time_micros);

// The metric tables in a catalog database file (its own connection; creates the tables).
class MetricStore {
 public:
  static StatusOr<std::unique_ptr<MetricStore>> Open(const std::string& catalog_path);
  ~MetricStore();
  MetricStore(const MetricStore&) = delete;
  MetricStore& operator=(const MetricStore&) = delete;

  // Appends `points` (and their families) in one transaction.
  Status Append(const std::vector<MetricPoint>& points);
  // Every series aggregated over all time up to `until_micros` (0 = no limit): counters and
  // histograms summed, gauges the latest value. Families in name order.
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

// Gauges derived from another module's tables that observe/ cannot see (orchestrate's runs):
// the CLI adds them at start-up (cli/main.cc), and CatalogMetrics includes them.
using GaugeSource = std::function<StatusOr<std::vector<MetricFamily>>(project::Project&)>;
void AddGaugeSource(GaugeSource source);

// Metrics the catalog already knows, as gauges: rows, files and bytes per table at the latest
// snapshot, loads by status, alarm states, and those of every GaugeSource.
StatusOr<std::vector<MetricFamily>> CatalogMetrics(project::Project& project);

// Stored metrics (after flushing this process's registry) merged with CatalogMetrics.
StatusOr<std::vector<MetricFamily>> CurrentMetrics(project::Project& project);

// Prometheus text exposition format 0.0.4 of `families` (HELP and TYPE lines, escaped labels).
std::string RenderPrometheusText(const std::vector<MetricFamily>& families);
// GET /metrics for `watershed serve`: CurrentMetrics as Prometheus text (content type
// "text/plain; version=0.0.4; charset=utf-8"). On error: a comment line naming it.
std::string RenderPrometheus(project::Project& project);

enum class MetricsFormat { kPrometheus, kTable, kJson };
StatusOr<MetricsFormat> ParseMetricsFormat(std::string_view name);  // prometheus|table|json
void WriteMetrics(const std::vector<MetricFamily>& families, MetricsFormat format,
                  std::ostream& out);
// `watershed metrics [--format prometheus|table|json]`.
Status PrintMetrics(project::Project& project, std::string_view format, std::ostream& out);

// CloudWatch datums (observe/cloudwatch.h): dimensions are the labels; unit "Seconds",
// "Bytes" or "Count" from the name.
// Datums for the window (since_micros, until_micros]: counters and histogram _sum/_count as the
// sum of their deltas in the window (series without points are left out), gauges as their
// latest value in the window. Buckets are not sent.
StatusOr<std::vector<MetricDatum>> CloudWatchDatums(project::Project& project,
                                                        int64_t since_micros, int64_t until_micros);
// `watershed metrics --push cloudwatch` sends the window since the previous push: read from and
// stored to the catalog cursor ("metrics", "cloudwatch_pushed_micros"). PendingCloudWatchDatums
// returns the datums and the window end; call MarkCloudWatchPushed(end) after PutMetricData
// succeeded.
StatusOr<std::pair<std::vector<MetricDatum>, int64_t>> PendingCloudWatchDatums(
    project::Project& project);
Status MarkCloudWatchPushed(project::Project& project, int64_t until_micros);

// Helpers shared with alarms.cc and tests.
std::string LabelsToJson(const MetricLabels& labels);  // {"a":"1","b":"2"} (keys sorted)
MetricLabels LabelsFromJson(std::string_view json);    // {} when not an object

}  // namespace watershed::observe
