// base/metrics.cc — the registry and its series. See metrics.h.
#include "watershed/base/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include "watershed/base/log.h"
#include "watershed/base/strings.h"

namespace watershed::metrics {
namespace {

// ---- names ----

bool NameChar(char c, bool first, bool colon_ok) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (colon_ok && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

std::string SanitizeName(std::string_view name, bool colon_ok) {
  std::string out(name);
  if (out.empty()) return "_";
  for (size_t i = 0; i < out.size(); ++i) {
    if (!NameChar(out[i], i == 0, colon_ok)) out[i] = '_';
  }
  return out;
}

MetricLabels SanitizeLabels(const MetricLabels& labels) {
  bool clean = true;
  for (const auto& [k, v] : labels) clean &= SanitizeName(k, false) == k;
  if (clean) return labels;
  MetricLabels out;
  for (const auto& [k, v] : labels) out[SanitizeName(k, false)] = v;
  return out;
}


}  // namespace

// Sample order inside a family: by labels other than `le`, then buckets by ascending le, then
// _sum, then _count.
void SortSamples(MetricFamily& f) {
  auto key = [&f](const MetricSample& s) {
    MetricLabels base = s.labels;
    double le = 0;
    int kind = 0;
    if (f.type == MetricType::kHistogram) {
      if (s.name == f.name + "_bucket") {
        auto it = base.find("le");
        if (it != base.end()) {
          le = it->second == "+Inf" ? std::numeric_limits<double>::infinity()
                                    : std::strtod(it->second.c_str(), nullptr);
          base.erase(it);
        }
      } else if (s.name == f.name + "_sum") {
        kind = 1;
      } else {
        kind = 2;
      }
    }
    return std::make_tuple(base, kind, le);
  };
  std::stable_sort(f.samples.begin(), f.samples.end(),
                   [&](const MetricSample& a, const MetricSample& b) { return key(a) < key(b); });
}

std::string FormatMetricValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

std::string_view MetricTypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

const std::vector<double>& DefaultDurationBuckets() {
  static const std::vector<double>& kBuckets = *new std::vector<double>{0.01, 0.05, 0.1, 0.25, 0.5, 1,   2.5,  5,
                                               10,   30,   60,  120,  300, 600, 1800, 3600};
  return kBuckets;
}

const std::vector<MetricSpec>& StandardMetrics() {
  using T = MetricType;
  static const std::vector<MetricSpec>& kSpecs = *new std::vector<MetricSpec>{
      // Loads (load/session.cc) and other writers: label layer (lake, warehouse, mart), table.
      {"watershed_records_read_total",
       T::kCounter,
       "Records offered to a load, per root table (including those rejected).",
       {}},
      {"watershed_records_written_total",
       T::kCounter,
       "Rows committed, per layer and table (child tables and the quarantine included).",
       {}},
      {"watershed_records_quarantined_total",
       T::kCounter,
       "Records sent to the quarantine table, per target table.",
       {}},
      {"watershed_records_late_total",
       T::kCounter,
       "Records that arrived after their window closed, per stream or table.",
       {}},
      {"watershed_written_bytes_total",
       T::kCounter,
       "Bytes of data files committed, per layer and table.",
       {}},
      {"watershed_load_commit_duration_seconds",
       T::kHistogram,
       "Time to flush and commit one snapshot of a load session.",
       {}},
      {"watershed_load_sessions_total",
       T::kCounter,
       "Load sessions ended, per status (committed, empty, failed).",
       {}},
      // Pipelines (orchestrate/executor.cc): labels pipeline, task, status.
      {"watershed_task_attempts_total",
       T::kCounter,
       "Task process attempts, per pipeline, task and status (ok, failed, timeout, retrying).",
       {}},
      {"watershed_tasks_total",
       T::kCounter,
       "Tasks finished, per pipeline, task and final status (ok, failed, timeout, skipped).",
       {}},
      {"watershed_task_failures_total",
       T::kCounter,
       "Tasks that failed for good (failed or timeout), per pipeline and task.",
       {}},
      {"watershed_task_duration_seconds",
       T::kHistogram,
       "Duration of one task attempt, per pipeline and task.",
       {}},
      {"watershed_pipeline_runs_total",
       T::kCounter,
       "Pipeline runs finished, per pipeline and status (success, failed).",
       {}},
      {"watershed_pipeline_run_duration_seconds",
       T::kHistogram,
       "Duration of one pipeline run, per pipeline.",
       {}},
      // API sources (sources/crunchbase): label source.
      {"watershed_api_requests_total", T::kCounter, "HTTP requests sent to an API (attempts).", {}},
      {"watershed_api_retries_total", T::kCounter, "HTTP requests retried.", {}},
      {"watershed_api_throttled_total", T::kCounter, "HTTP 429 answers received.", {}},
      {"watershed_api_response_bytes_total", T::kCounter, "HTTP response body bytes received.", {}},
      // Streams (sources/events): label stream.
      {"watershed_stream_lag_events",
       T::kGauge,
       "Events behind the newest offset, per stream (and partition).",
       {}},
      {"watershed_stream_lag_seconds",
       T::kGauge,
       "Age of the newest event processed, per stream.",
       {}},
      {"watershed_stream_events_total", T::kCounter, "Events committed to the lake, per stream.", {}},
      {"watershed_stream_events_accepted_total",
       T::kCounter,
       "Events acknowledged by `watershed serve` ingest (durable in the stream's log).",
       {}},
      {"watershed_stream_events_quarantined_total",
       T::kCounter,
       "Malformed events sent to watershed.quarantine, per stream.",
       {}},
      {"watershed_stream_requests_total", T::kCounter, "Ingest requests received, per stream.", {}},
      {"watershed_stream_requests_throttled_total",
       T::kCounter,
       "Ingest requests answered 429 (backpressure), per stream.",
       {}},
      {"watershed_stream_last_commit_age_seconds",
       T::kGauge,
       "Seconds since the stream writer's last lake commit.",
       {}},
      // Quality checks (quality/): labels table, check.
      {"watershed_checks_passed_total", T::kCounter, "Data quality checks that passed.", {}},
      {"watershed_checks_failed_total", T::kCounter, "Data quality checks that failed.", {}},
      // Transforms (transform/): label model.
      {"watershed_model_build_duration_seconds",
       T::kHistogram,
       "Time to build one model, per model.",
       {}},
  };
  return kSpecs;
}

const MetricSpec* FindStandardMetric(std::string_view name) {
  for (const MetricSpec& s : StandardMetrics()) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

// ---- series ----

void Counter::Inc(double by) {
  if (!(by > 0)) return;  // negative, zero and NaN
  value_.fetch_add(by, std::memory_order_relaxed);
}

void Gauge::Set(double value) {
  value_.store(value, std::memory_order_relaxed);
  version_.fetch_add(1, std::memory_order_release);
}

void Gauge::Add(double delta) {
  value_.fetch_add(delta, std::memory_order_relaxed);
  version_.fetch_add(1, std::memory_order_release);
}

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  bounds_.erase(std::remove_if(bounds_.begin(), bounds_.end(),
                               [](double b) { return std::isnan(b) || std::isinf(b); }),
                bounds_.end());
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  counts_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0);
  flushed_cumulative_.assign(bounds_.size() + 1, 0);
}

void Histogram::Observe(double value) {
  if (std::isnan(value)) return;
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::CumulativeCounts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    out[i] = total;
  }
  return out;
}

// ---- registry ----

MetricRegistry::Family* MetricRegistry::FamilyFor(std::string_view raw_name, MetricType type,
                                                  std::string_view help,
                                                  std::vector<double> buckets) {
  const std::string name = SanitizeName(raw_name, true);
  auto it = families_.find(name);
  if (it == families_.end()) {
    const MetricSpec* spec = FindStandardMetric(name);
    Family f;
    f.type = type;
    f.help = !help.empty() ? std::string(help) : spec != nullptr ? spec->help : "";
    if (type == MetricType::kHistogram) {
      f.buckets = !buckets.empty()                            ? std::move(buckets)
                  : spec != nullptr && !spec->buckets.empty() ? spec->buckets
                                                              : DefaultDurationBuckets();
    }
    it = families_.emplace(name, std::move(f)).first;
  }
  if (it->second.type != type) {
    LogWarn("metric used with two types; this use is not exposed",
            {{"metric", name},
             {"registered", std::string(MetricTypeName(it->second.type))},
             {"asked", std::string(MetricTypeName(type))}});
    return nullptr;
  }
  if (it->second.help.empty() && !help.empty()) it->second.help = std::string(help);
  return &it->second;
}

Counter& MetricRegistry::GetCounter(std::string_view name, const MetricLabels& labels,
                                    std::string_view help) {
  static auto* discarded = new Counter();
  std::lock_guard<std::mutex> lock(mu_);
  Family* f = FamilyFor(name, MetricType::kCounter, help, {});
  if (f == nullptr) return *discarded;
  auto& slot = f->counters[SanitizeLabels(labels)];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& MetricRegistry::GetGauge(std::string_view name, const MetricLabels& labels,
                                std::string_view help) {
  static auto* discarded = new Gauge();
  std::lock_guard<std::mutex> lock(mu_);
  Family* f = FamilyFor(name, MetricType::kGauge, help, {});
  if (f == nullptr) return *discarded;
  auto& slot = f->gauges[SanitizeLabels(labels)];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& MetricRegistry::GetHistogram(std::string_view name, const MetricLabels& labels,
                                        std::string_view help, std::vector<double> buckets) {
  static auto* discarded = new Histogram(DefaultDurationBuckets());
  std::lock_guard<std::mutex> lock(mu_);
  Family* f = FamilyFor(name, MetricType::kHistogram, help, std::move(buckets));
  if (f == nullptr) return *discarded;
  MetricLabels clean = SanitizeLabels(labels);
  clean.erase("le");  // reserved for buckets
  auto& slot = f->histograms[clean];
  if (!slot) slot = std::make_unique<Histogram>(f->buckets);
  return *slot;
}

namespace {

void AppendHistogramSamples(const std::string& name, const MetricLabels& labels,
                            const std::vector<double>& bounds,
                            const std::vector<uint64_t>& cumulative, double sum,
                            std::vector<MetricSample>* out) {
  for (size_t i = 0; i < cumulative.size(); ++i) {
    MetricLabels l = labels;
    l["le"] = i < bounds.size() ? FormatMetricValue(bounds[i]) : "+Inf";
    out->push_back({name + "_bucket", std::move(l), static_cast<double>(cumulative[i])});
  }
  out->push_back({name + "_sum", labels, sum});
  out->push_back({name + "_count", labels, static_cast<double>(cumulative.back())});
}

}  // namespace

std::vector<MetricFamily> MetricRegistry::Collect() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<MetricFamily> out;
  for (const auto& [name, f] : families_) {
    MetricFamily mf{name, f.type, f.help, {}};
    for (const auto& [labels, c] : f.counters) mf.samples.push_back({name, labels, c->value()});
    for (const auto& [labels, g] : f.gauges) mf.samples.push_back({name, labels, g->value()});
    for (const auto& [labels, h] : f.histograms) {
      AppendHistogramSamples(name, labels, h->bounds(), h->CumulativeCounts(), h->sum(),
                             &mf.samples);
    }
    SortSamples(mf);
    out.push_back(std::move(mf));
  }
  return out;
}

std::vector<MetricPoint> MetricRegistry::TakeChanges(int64_t time_micros) {
  pending_counters_.clear();
  pending_gauges_.clear();
  pending_histograms_.clear();
  std::vector<MetricPoint> points;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, f] : families_) {
    for (const auto& [labels, c] : f.counters) {
      const double v = c->value();
      if (v == c->flushed_) continue;
      points.push_back({time_micros, name, f.type, f.help, name, labels, v - c->flushed_});
      pending_counters_.push_back({c.get(), v});
    }
    for (const auto& [labels, g] : f.gauges) {
      const uint64_t version = g->version_.load(std::memory_order_acquire);
      if (version == g->flushed_version_) continue;
      points.push_back({time_micros, name, f.type, f.help, name, labels, g->value()});
      pending_gauges_.push_back({g.get(), version});
    }
    for (const auto& [labels, h] : f.histograms) {
      // Read the sum before the buckets: an Observe racing with us shows up in the next flush.
      const double sum = h->sum();
      std::vector<uint64_t> cum = h->CumulativeCounts();
      if (cum.back() == h->flushed_cumulative_.back()) continue;
      for (size_t i = 0; i < cum.size(); ++i) {
        const double delta = static_cast<double>(cum[i] - h->flushed_cumulative_[i]);
        if (delta == 0) continue;
        MetricLabels l = labels;
        l["le"] = i < h->bounds().size() ? FormatMetricValue(h->bounds()[i]) : "+Inf";
        points.push_back(
            {time_micros, name, f.type, f.help, name + "_bucket", std::move(l), delta});
      }
      points.push_back(
          {time_micros, name, f.type, f.help, name + "_sum", labels, sum - h->flushed_sum_});
      points.push_back({time_micros, name, f.type, f.help, name + "_count", labels,
                        static_cast<double>(cum.back() - h->flushed_cumulative_.back())});
      pending_histograms_.push_back({h.get(), std::move(cum), sum});
    }
  }
  return points;
}

void MetricRegistry::MarkFlushed() {
  for (auto& [c, v] : pending_counters_) c->flushed_ = v;
  for (auto& [g, version] : pending_gauges_) g->flushed_version_ = version;
  for (auto& p : pending_histograms_) {
    p.histogram->flushed_cumulative_ = std::move(p.cumulative);
    p.histogram->flushed_sum_ = p.sum;
  }
  pending_counters_.clear();
  pending_gauges_.clear();
  pending_histograms_.clear();
}

Status MetricRegistry::Flush(
    int64_t time_micros, const std::function<Status(const std::vector<MetricPoint>&)>& sink) {
  std::lock_guard<std::mutex> lock(flush_mu_);
  std::vector<MetricPoint> points = TakeChanges(time_micros);
  if (points.empty()) return absl::OkStatus();
  WS_RETURN_IF_ERROR(sink(points));
  MarkFlushed();
  return absl::OkStatus();
}

MetricRegistry& ProcessMetrics() {
  static auto* registry = new MetricRegistry();
  return *registry;
}

Counter& GetCounter(std::string_view name, const MetricLabels& labels) {
  return ProcessMetrics().GetCounter(name, labels);
}
Gauge& GetGauge(std::string_view name, const MetricLabels& labels) {
  return ProcessMetrics().GetGauge(name, labels);
}
Histogram& GetHistogram(std::string_view name, const MetricLabels& labels) {
  return ProcessMetrics().GetHistogram(name, labels);
}

}  // namespace watershed::metrics
