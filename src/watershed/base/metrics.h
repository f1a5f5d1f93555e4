// base/metrics.h — the metrics registry: counters, gauges and histograms with labels, kept per
// process. Code that only counts includes this header and nothing else of observe/.
//
// Owns: the process registry (`metrics::GetCounter(name, labels).Inc()` and friends), the list
// of standard Watershed metrics (StandardMetrics(): name, type, help, buckets), and handing the
// changes since the last flush to a sink. Does not own: where points are stored, aggregated or
// exported (observe/: metric_store.h the catalog tables, metrics_prometheus.h the Prometheus
// text, cloudwatch_push.h CloudWatch).
// Thread safety: the registry and every Counter/Gauge/Histogram are thread-safe; increments are
// lock-free atomics. Looking a series up takes a mutex, so hot loops keep the reference (it stays
// valid for the life of the process).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "watershed/base/status.h"

namespace watershed::metrics {

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

  // Hands what changed since the previous successful flush (non-zero counter and histogram
  // deltas, gauges set since), stamped `time_micros`, to `sink` (observe/ writes them to the
  // catalog). When the sink fails nothing is marked flushed: the next flush hands it again.
  // Nothing changed: the sink is not called.
  Status Flush(int64_t time_micros,
               const std::function<Status(const std::vector<MetricPoint>&)>& sink);

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
};

// The process-wide registry. Never destroyed.
MetricRegistry& ProcessMetrics();

// Shortcuts on the process registry — the API for instrumenting code:
//   metrics::GetCounter("watershed_records_written_total", {{"layer", "lake"}, {"table", t}}).Inc(n);
//   metrics::GetGauge("watershed_stream_lag_events", {{"stream", s}}).Set(lag);
//   metrics::GetHistogram("watershed_task_duration_seconds", {{"task", t}}).Observe(seconds);
Counter& GetCounter(std::string_view name, const MetricLabels& labels = {});
Gauge& GetGauge(std::string_view name, const MetricLabels& labels = {});
Histogram& GetHistogram(std::string_view name, const MetricLabels& labels = {});

// Orders a family's samples: by labels other than `le`, then buckets by ascending le, then
// _sum, then _count.
void SortSamples(MetricFamily& family);

// "3", "0.25", "+Inf", "NaN" (Prometheus' number format; also the `le` label of buckets).
std::string FormatMetricValue(double value);

}  // namespace watershed::metrics
