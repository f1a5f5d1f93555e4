// observe/metrics.h — metrics: counters, gauges and histograms with labels, kept per process,
// persisted in the catalog database and served as Prometheus text.
//
// Owns: the process registry (`metrics::Counter(name, labels).Inc()` and friends), the list of
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
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/observe/cloudwatch.h"
#include "watershed/project/project.h"

struct sqlite3;

namespace watershed::observe {

// Label name -> value. A std::map, so a series' labels are always in name order.
using MetricLabels = std::map<std::string, std::string>;

enum class MetricType { kCounter, kGauge, kHistogram };
std::string_view MetricTypeName(MetricType type);  // "counter", "gauge", "histogram"

// A standard metric: what it counts and how. Metrics not in the list may be used too (their
// HELP line is the help given at first use, or none).
struct MetricSpec {
  std::string name;
  MetricType type;
  std::string help;
  std::vector<double> buckets;  // histograms: upper bounds, ascending (+Inf is implicit)
};
const std::vector<MetricSpec>& StandardMetrics();
const MetricSpec* FindStandardMetric(std::string_view name);
// Upper bounds for durations in seconds: 0.01 s .. 1 h.
const std::vector<double>& DefaultDurationBuckets();

// A monotonically increasing count. Inc() with a negative or NaN amount is ignored.
class Counter {
 public:
  void Inc(double by = 1);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  friend class MetricRegistry;
  std::atomic<double> value_{0};
  double flushed_ = 0;  // guarded by MetricRegistry::flush_mu_
};

// A value that goes up and down (lag, queue depth). Only gauges set since the previous flush
// are written.
class Gauge {
 public:
  void Set(double value);
  void Add(double delta);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  friend class MetricRegistry;
  std::atomic<double> value_{0};
  std::atomic<uint64_t> version_{0};
  uint64_t flushed_version_ = 0;  // guarded by MetricRegistry::flush_mu_
};

// Observations counted into fixed buckets (upper bounds, +Inf implicit), with their sum.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);
  const std::vector<double>& bounds() const { return bounds_; }
  // Cumulative counts: element i counts observations <= bounds()[i]; the last is +Inf (= count).
  std::vector<uint64_t> CumulativeCounts() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  friend class MetricRegistry;
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // per bucket, not cumulative; size + 1
  std::atomic<double> sum_{0};
  std::atomic<uint64_t> count_{0};
  std::vector<uint64_t> flushed_cumulative_;  // guarded by MetricRegistry::flush_mu_
  double flushed_sum_ = 0;                    // guarded by MetricRegistry::flush_mu_
};

// One exposed value: `name` is the sample name (a histogram's are <family>_bucket with an `le`
// label, <family>_sum and <family>_count).
struct MetricSample {
  std::string name;
  MetricLabels labels;
  double value = 0;
};

struct MetricFamily {
  std::string name;
  MetricType type = MetricType::kCounter;
  std::string help;
  std::vector<MetricSample> samples;  // in label order; a histogram's buckets by ascending le
};

// One row of `metric_points`: a counter delta or a gauge value at a time.
class MetricStore;

struct MetricPoint {
  int64_t time_micros = 0;
  std::string family;
  MetricType type = MetricType::kCounter;
  std::string help;
  std::string sample;
  MetricLabels labels;
  double value = 0;
};

// A set of metric series. The process has one (ProcessMetrics()); tests make their own.
class MetricRegistry {
 public:
  MetricRegistry() = default;
  MetricRegistry(const MetricRegistry&) = delete;
  MetricRegistry& operator=(const MetricRegistry&) = delete;

  // The series `name` with `labels`, created at first use. Invalid characters in names become
  // '_' (names: [a-zA-Z_:][a-zA-Z0-9_:]*, label names: [a-zA-Z_][a-zA-Z0-9_]*). `help` and
  // `buckets` empty: taken from StandardMetrics(). Asking for a name already used with another
  // type logs a warning and returns a series that is never exposed.
  Counter& GetCounter(std::string_view name, const MetricLabels& labels = {},
                      std::string_view help = "");
  Gauge& GetGauge(std::string_view name, const MetricLabels& labels = {},
                  std::string_view help = "");
  Histogram& GetHistogram(std::string_view name, const MetricLabels& labels = {},
                          std::string_view help = "", std::vector<double> buckets = {});

  // The current values of every series, families in name order.
  std::vector<MetricFamily> Collect() const;

  // Writes what changed since the previous successful flush (non-zero counter and histogram
  // deltas, gauges set since), stamped `time_micros`, to the metric tables of the SQLite file
  // `catalog_path`. When the write fails nothing is marked flushed: the next flush retries it.
  Status Flush(const std::string& catalog_path, int64_t time_micros);

 private:
  struct Family {
    MetricType type;
    std::string help;
    std::vector<double> buckets;
    std::map<MetricLabels, std::unique_ptr<Counter>> counters;
    std::map<MetricLabels, std::unique_ptr<Gauge>> gauges;
    std::map<MetricLabels, std::unique_ptr<Histogram>> histograms;
  };
  Family* FamilyFor(std::string_view name, MetricType type, std::string_view help,
                    std::vector<double> buckets);
  // What changed since the last MarkFlushed; remembers it for MarkFlushed. flush_mu_ held.
  std::vector<MetricPoint> TakeChanges(int64_t time_micros);
  void MarkFlushed();

  mutable std::mutex mu_;  // guards families_ (the map; series are atomics)
  std::map<std::string, Family> families_;
  std::mutex flush_mu_;  // one TakeChanges..MarkFlushed at a time
  // Values taken by the last TakeChanges, applied by MarkFlushed.
  std::vector<std::pair<Counter*, double>> pending_counters_;
  std::vector<std::pair<Gauge*, uint64_t>> pending_gauges_;
  struct PendingHistogram {
    Histogram* histogram;
    std::vector<uint64_t> cumulative;
    double sum;
  };
  std::vector<PendingHistogram> pending_histograms_;
  std::string store_path_;              // guarded by flush_mu_
  std::unique_ptr<MetricStore> store_;  // guarded by flush_mu_; opened at the first flush
};

// The process-wide registry. Never destroyed.
MetricRegistry& ProcessMetrics();

// Shortcuts on the process registry — the API for instrumenting code:
//   metrics::Counter("watershed_records_written_total", {{"layer", "lake"}, {"table", t}}).Inc(n);
//   metrics::Gauge("watershed_stream_lag_events", {{"stream", s}}).Set(lag);
//   metrics::Histogram("watershed_task_duration_seconds", {{"task", t}}).Observe(seconds);
//   metrics::Counter("watershed_checks_failed_total", {{"table", t}, {"check", c}}).Inc();
namespace metrics {
observe::Counter& Counter(std::string_view name, const MetricLabels& labels = {});
observe::Gauge& Gauge(std::string_view name, const MetricLabels& labels = {});
observe::Histogram& Histogram(std::string_view name, const MetricLabels& labels = {});
}  // namespace metrics

// Writes what the process registry changed since its last flush into the project's catalog
// database, stamped now. Cheap when nothing changed (no database access).
Status FlushMetrics(project::Project& project);

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
  explicit MetricStore(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

// Metrics the catalog already knows, as gauges: rows, files and bytes per table at the latest
// snapshot, loads by status, pipeline runs by pipeline and status, alarm states.
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
std::string FormatMetricValue(double value);           // "3", "0.25", "+Inf", "NaN"

}  // namespace watershed::observe
