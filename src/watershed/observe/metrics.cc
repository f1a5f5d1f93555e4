// observe/metrics.cc — see metrics.h.
#include "watershed/observe/metrics.h"

#include "watershed/base/sqlite.h"

#include <fmt/format.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "watershed/base/columns.h"
#include "watershed/base/log.h"

namespace watershed::observe {
namespace {

constexpr char kSchemaSql[] = R"sql(
CREATE TABLE IF NOT EXISTS metric_families(
  name TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  help TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS metric_points(
  point_id INTEGER PRIMARY KEY,
  time_micros INTEGER NOT NULL,
  family TEXT NOT NULL,
  sample TEXT NOT NULL,
  labels TEXT NOT NULL,
  value REAL NOT NULL,
  pid INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS metric_points_by_sample ON metric_points(sample, time_micros);
CREATE INDEX IF NOT EXISTS metric_points_by_time ON metric_points(time_micros);
CREATE TABLE IF NOT EXISTS alarm_state(
  alarm TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  value REAL,
  since_micros INTEGER NOT NULL,
  evaluated_micros INTEGER NOT NULL,
  reason TEXT NOT NULL);
)sql";

// SQLite through base/sqlite.h (this file's own connection to the catalog database).
using sqlite::Exec;
using sqlite::Stmt;
using Txn = sqlite::Transaction;

std::optional<MetricType> ParseType(std::string_view s) {
  if (s == "counter") return MetricType::kCounter;
  if (s == "gauge") return MetricType::kGauge;
  if (s == "histogram") return MetricType::kHistogram;
  return std::nullopt;
}

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

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeHelp(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

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

std::string JoinLabels(const MetricLabels& labels) {
  std::string out;
  for (const auto& [k, v] : labels) out += StrCat(out.empty() ? "" : ",", k, "=", v);
  return out;
}

// CloudWatch unit of a sample, from the unit at the end of its family name.
std::string UnitOf(const std::string& sample) {
  for (const char* suffix : {"_total", "_sum", "_count", "_bucket"}) {
    if (EndsWith(sample, suffix)) {
      if (std::string_view(suffix) == "_count") return "Count";
      return UnitOf(sample.substr(0, sample.size() - std::string_view(suffix).size()));
    }
  }
  if (EndsWith(sample, "_seconds")) return "Seconds";
  if (EndsWith(sample, "_bytes")) return "Bytes";
  return "Count";
}

}  // namespace

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
  static const std::vector<double> kBuckets = {0.01, 0.05, 0.1, 0.25, 0.5, 1,   2.5,  5,
                                               10,   30,   60,  120,  300, 600, 1800, 3600};
  return kBuckets;
}

const std::vector<MetricSpec>& StandardMetrics() {
  using T = MetricType;
  static const std::vector<MetricSpec> kSpecs = {
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

Status MetricRegistry::Flush(const std::string& catalog_path, int64_t time_micros) {
  std::lock_guard<std::mutex> lock(flush_mu_);
  std::vector<MetricPoint> points = TakeChanges(time_micros);
  if (points.empty()) return absl::OkStatus();
  if (!store_ || store_path_ != catalog_path) {
    store_.reset();
    WS_ASSIGN_OR_RETURN(store_, MetricStore::Open(catalog_path));
    store_path_ = catalog_path;
  }
  WS_RETURN_IF_ERROR(store_->Append(points));
  MarkFlushed();
  return absl::OkStatus();
}

MetricRegistry& ProcessMetrics() {
  static auto* registry = new MetricRegistry();
  return *registry;
}

namespace metrics {
observe::Counter& Counter(std::string_view name, const MetricLabels& labels) {
  return ProcessMetrics().GetCounter(name, labels);
}
observe::Gauge& Gauge(std::string_view name, const MetricLabels& labels) {
  return ProcessMetrics().GetGauge(name, labels);
}
observe::Histogram& Histogram(std::string_view name, const MetricLabels& labels) {
  return ProcessMetrics().GetHistogram(name, labels);
}
}  // namespace metrics

Status FlushMetrics(project::Project& project) {
  return Annotate(ProcessMetrics().Flush(project.config().catalog_path, NowMicros()),
                  "flushing metrics");
}

// ---- the store ----

StatusOr<std::unique_ptr<MetricStore>> MetricStore::Open(const std::string& catalog_path) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(catalog_path).parent_path(), ec);
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(catalog_path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                      nullptr) != SQLITE_OK) {
    std::string msg = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return absl::UnavailableError(StrCat("cannot open catalog ", catalog_path, ": ", msg));
  }
  sqlite3_busy_timeout(db, 30000);
  std::unique_ptr<MetricStore> store(new MetricStore(db));
  Status setup;
  for (int attempt = 0; attempt < 100; ++attempt) {
    setup = Exec(db, "PRAGMA journal_mode=WAL;");
    if (setup.ok()) {
      Txn txn(db);
      setup = txn.Begin();
      if (setup.ok()) setup = Exec(db, kSchemaSql);
      if (setup.ok()) setup = txn.Commit();
    }
    if (setup.ok() || setup.code() != absl::StatusCode::kUnavailable) break;
    usleep(50000);
  }
  WS_RETURN_IF_ERROR(Annotate(setup, StrCat("opening metric tables in ", catalog_path)));
  return store;
}

MetricStore::~MetricStore() { sqlite3_close(db_); }

Status MetricStore::Append(const std::vector<MetricPoint>& points) {
  if (points.empty()) return absl::OkStatus();
  Txn txn(db_);
  WS_RETURN_IF_ERROR(txn.Begin());
  Stmt family(db_,
              "INSERT INTO metric_families(name, type, help) VALUES(?, ?, ?) "
              "ON CONFLICT(name) DO UPDATE SET help = excluded.help "
              "WHERE metric_families.help = '' AND excluded.help != ''");
  Stmt point(db_,
             "INSERT INTO metric_points(time_micros, family, sample, labels, value, pid) "
             "VALUES(?, ?, ?, ?, ?, ?)");
  std::set<std::string> seen;
  const int64_t pid = getpid();
  for (const MetricPoint& p : points) {
    if (seen.insert(p.family).second) {
      family.Bind(1, p.family).Bind(2, std::string(MetricTypeName(p.type))).Bind(3, p.help);
      WS_RETURN_IF_ERROR(family.Run());
    }
    point.Bind(1, p.time_micros)
        .Bind(2, p.family)
        .Bind(3, p.sample)
        .Bind(4, LabelsToJson(p.labels))
        .Bind(5, p.value)
        .Bind(6, pid);
    WS_RETURN_IF_ERROR(point.Run());
  }
  return txn.Commit();
}

StatusOr<std::optional<MetricType>> MetricStore::FamilyType(const std::string& name) {
  Stmt q(db_, "SELECT type FROM metric_families WHERE name = ?");
  q.Bind(1, name);
  WS_ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::optional<MetricType>();
  return ParseType(q.Text(0));
}

StatusOr<std::vector<MetricFamily>> MetricStore::Aggregate(int64_t since_micros,
                                                           int64_t until_micros) {
  const int64_t until = until_micros > 0 ? until_micros : std::numeric_limits<int64_t>::max();
  std::map<std::string, MetricFamily> families;
  {
    Stmt q(db_, "SELECT name, type, help FROM metric_families");
    while (true) {
      WS_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      auto type = ParseType(q.Text(1));
      if (!type) continue;
      families[q.Text(0)] = {q.Text(0), *type, q.Text(2), {}};
    }
  }
  // Counters and histograms: the sum of the deltas.
  {
    Stmt q(db_,
           "SELECT p.family, p.sample, p.labels, SUM(p.value) FROM metric_points p "
           "JOIN metric_families f ON f.name = p.family "
           "WHERE f.type != 'gauge' AND p.time_micros > ? AND p.time_micros <= ? "
           "GROUP BY p.family, p.sample, p.labels");
    q.Bind(1, since_micros).Bind(2, until);
    while (true) {
      WS_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      auto it = families.find(q.Text(0));
      if (it == families.end()) continue;
      it->second.samples.push_back({q.Text(1), LabelsFromJson(q.Text(2)), q.Double(3)});
    }
  }
  // Gauges: the newest value.
  {
    Stmt q(db_,
           "SELECT family, sample, labels, value FROM ("
           "  SELECT p.family, p.sample, p.labels, p.value, ROW_NUMBER() OVER ("
           "    PARTITION BY p.sample, p.labels ORDER BY p.time_micros DESC, p.point_id DESC) AS rn"
           "  FROM metric_points p JOIN metric_families f ON f.name = p.family"
           "  WHERE f.type = 'gauge' AND p.time_micros > ? AND p.time_micros <= ?) "
           "WHERE rn = 1");
    q.Bind(1, since_micros).Bind(2, until);
    while (true) {
      WS_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      auto it = families.find(q.Text(0));
      if (it == families.end()) continue;
      it->second.samples.push_back({q.Text(1), LabelsFromJson(q.Text(2)), q.Double(3)});
    }
  }
  std::vector<MetricFamily> out;
  for (auto& [name, f] : families) {
    if (f.samples.empty()) continue;
    SortSamples(f);
    out.push_back(std::move(f));
  }
  return out;
}

StatusOr<std::vector<MetricPoint>> MetricStore::Points(const std::string& sample,
                                                       int64_t since_micros, int64_t until_micros) {
  Stmt q(db_,
         "SELECT p.time_micros, p.family, f.type, p.labels, p.value FROM metric_points p "
         "JOIN metric_families f ON f.name = p.family "
         "WHERE p.sample = ? AND p.time_micros > ? AND p.time_micros <= ? "
         "ORDER BY p.time_micros, p.point_id");
  q.Bind(1, sample).Bind(2, since_micros).Bind(3, until_micros);
  std::vector<MetricPoint> out;
  while (true) {
    WS_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    MetricPoint p;
    p.time_micros = q.Int(0);
    p.family = q.Text(1);
    p.type = ParseType(q.Text(2)).value_or(MetricType::kGauge);
    p.sample = sample;
    p.labels = LabelsFromJson(q.Text(3));
    p.value = q.Double(4);
    out.push_back(std::move(p));
  }
  return out;
}

StatusOr<int64_t> MetricStore::Compact(int64_t before_micros) {
  Txn txn(db_);
  WS_RETURN_IF_ERROR(txn.Begin());
  // Counters and histograms: one point per series with the sum.
  Stmt sums(db_,
            "CREATE TEMP TABLE compacted AS "
            "SELECT p.family, p.sample, p.labels, SUM(p.value) AS value, COUNT(*) AS n "
            "FROM metric_points p JOIN metric_families f ON f.name = p.family "
            "WHERE f.type != 'gauge' AND p.time_micros < ? GROUP BY p.family, p.sample, p.labels "
            "HAVING n > 1");
  sums.Bind(1, before_micros);
  WS_RETURN_IF_ERROR(sums.Run());
  Stmt del(db_,
           "DELETE FROM metric_points WHERE time_micros < ? AND EXISTS (SELECT 1 FROM compacted c "
           "WHERE c.sample = metric_points.sample AND c.labels = metric_points.labels)");
  del.Bind(1, before_micros);
  WS_RETURN_IF_ERROR(del.Run());
  const int64_t deleted = sqlite3_changes64(db_);
  Stmt ins(db_,
           "INSERT INTO metric_points(time_micros, family, sample, labels, value, pid) "
           "SELECT ?, family, sample, labels, value, 0 FROM compacted");
  ins.Bind(1, before_micros - 1);
  WS_RETURN_IF_ERROR(ins.Run());
  const int64_t inserted = sqlite3_changes64(db_);
  WS_RETURN_IF_ERROR(Exec(db_, "DROP TABLE temp.compacted"));
  // Gauges: only the newest point of each series.
  Stmt gauges(db_,
              "DELETE FROM metric_points WHERE point_id IN ("
              "  SELECT point_id FROM (SELECT p.point_id, ROW_NUMBER() OVER ("
              "    PARTITION BY p.sample, p.labels ORDER BY p.time_micros DESC, p.point_id DESC)"
              "    AS rn FROM metric_points p JOIN metric_families f ON f.name = p.family"
              "    WHERE f.type = 'gauge' AND p.time_micros < ?) WHERE rn > 1)");
  gauges.Bind(1, before_micros);
  WS_RETURN_IF_ERROR(gauges.Run());
  const int64_t gauge_deleted = sqlite3_changes64(db_);
  WS_RETURN_IF_ERROR(txn.Commit());
  return deleted - inserted + gauge_deleted;
}

StatusOr<std::vector<MetricStore::AlarmRow>> MetricStore::AlarmRows() {
  Stmt q(db_,
         "SELECT alarm, state, value, since_micros, evaluated_micros, reason FROM alarm_state "
         "ORDER BY alarm");
  std::vector<AlarmRow> out;
  while (true) {
    WS_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    AlarmRow r{q.Text(0), q.Text(1), std::nullopt, q.Int(3), q.Int(4), q.Text(5)};
    if (!q.IsNull(2)) r.value = q.Double(2);
    out.push_back(std::move(r));
  }
  return out;
}

StatusOr<std::optional<MetricStore::AlarmRow>> MetricStore::ExchangeAlarmRow(const AlarmRow& next) {
  Txn txn(db_);
  WS_RETURN_IF_ERROR(txn.Begin());
  std::optional<AlarmRow> before;
  {
    Stmt q(db_,
           "SELECT alarm, state, value, since_micros, evaluated_micros, reason FROM alarm_state "
           "WHERE alarm = ?");
    q.Bind(1, next.alarm);
    WS_ASSIGN_OR_RETURN(bool row, q.Step());
    if (row) {
      before = AlarmRow{q.Text(0), q.Text(1), std::nullopt, q.Int(3), q.Int(4), q.Text(5)};
      if (!q.IsNull(2)) before->value = q.Double(2);
    }
  }
  const int64_t since =
      before && before->state == next.state ? before->since_micros : next.since_micros;
  Stmt up(db_,
          "INSERT INTO alarm_state(alarm, state, value, since_micros, evaluated_micros, reason) "
          "VALUES(?, ?, ?, ?, ?, ?) ON CONFLICT(alarm) DO UPDATE SET state = excluded.state, "
          "value = excluded.value, since_micros = excluded.since_micros, "
          "evaluated_micros = excluded.evaluated_micros, reason = excluded.reason");
  up.Bind(1, next.alarm).Bind(2, next.state);
  if (next.value) up.Bind(3, *next.value);  // unbound = NULL
  up.Bind(4, since).Bind(5, next.evaluated_micros).Bind(6, next.reason);
  WS_RETURN_IF_ERROR(up.Run());
  WS_RETURN_IF_ERROR(txn.Commit());
  return before;
}

Status MetricStore::RetainAlarmRows(const std::vector<std::string>& keep) {
  WS_ASSIGN_OR_RETURN(auto rows, AlarmRows());
  std::set<std::string> names(keep.begin(), keep.end());
  Stmt del(db_, "DELETE FROM alarm_state WHERE alarm = ?");
  for (const AlarmRow& r : rows) {
    if (names.contains(r.alarm)) continue;
    del.Bind(1, r.alarm);
    WS_RETURN_IF_ERROR(del.Run());
  }
  return absl::OkStatus();
}

// ---- metrics from the catalog ----

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
  MetricFamily runs{"watershed_catalog_runs",
                    MetricType::kGauge,
                    "Pipeline runs recorded in the catalog, per pipeline and status.",
                    {}};
  WS_ASSIGN_OR_RETURN(auto run_records, catalog->Runs());
  std::map<std::pair<std::string, std::string>, int64_t> by_run;
  for (const auto& r : run_records) ++by_run[{r.pipeline, r.status}];
  for (const auto& [key, n] : by_run) {
    runs.samples.push_back(
        {runs.name, {{"pipeline", key.first}, {"status", key.second}}, static_cast<double>(n)});
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
  for (MetricFamily* f : {&alarms, &loads, &runs, &snapshot, &bytes, &files, &rows}) {
    if (f->samples.empty()) continue;
    SortSamples(*f);
    out.push_back(std::move(*f));
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

// ---- output ----

std::string LabelsToJson(const MetricLabels& labels) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : labels) j[k] = v;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

MetricLabels LabelsFromJson(std::string_view json) {
  MetricLabels out;
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (!j.is_object()) return out;
  for (const auto& [k, v] : j.items()) {
    out[k] = v.is_string() ? v.get<std::string>() : v.dump();
  }
  return out;
}

std::string FormatMetricValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

std::string RenderPrometheusText(const std::vector<MetricFamily>& families) {
  std::string out;
  for (const MetricFamily& f : families) {
    if (f.samples.empty()) continue;
    const std::string help = f.help.empty() ? StrCat("Watershed metric ", f.name, ".") : f.help;
    out += StrCat("# HELP ", f.name, " ", EscapeHelp(help), "\n");
    out += StrCat("# TYPE ", f.name, " ", MetricTypeName(f.type), "\n");
    for (const MetricSample& s : f.samples) {
      out += s.name;
      if (!s.labels.empty()) {
        out += '{';
        bool first = true;
        for (const auto& [k, v] : s.labels) {
          out += StrCat(first ? "" : ",", k, "=\"", EscapeLabelValue(v), "\"");
          first = false;
        }
        out += '}';
      }
      out += StrCat(" ", FormatMetricValue(s.value), "\n");
    }
  }
  return out;
}

std::string RenderPrometheus(project::Project& project) {
  auto families = CurrentMetrics(project);
  if (!families.ok()) {
    std::string msg(MessageOf(families.status()));
    std::replace(msg.begin(), msg.end(), '\n', ' ');
    LogWarn("metrics unavailable", {{"error", msg}});
    return StrCat("# watershed metrics unavailable: ", msg, "\n");
  }
  return RenderPrometheusText(*families);
}

StatusOr<MetricsFormat> ParseMetricsFormat(std::string_view name) {
  if (name == "prometheus" || name.empty()) return MetricsFormat::kPrometheus;
  if (name == "table") return MetricsFormat::kTable;
  if (name == "json") return MetricsFormat::kJson;
  return absl::InvalidArgumentError(
      StrCat("unknown metrics format '", name, "' (use prometheus, table or json)"));
}

void WriteMetrics(const std::vector<MetricFamily>& families, MetricsFormat format,
                  std::ostream& out) {
  if (format == MetricsFormat::kPrometheus) {
    out << RenderPrometheusText(families);
    return;
  }
  if (format == MetricsFormat::kJson) {
    nlohmann::json arr = nlohmann::json::array();
    for (const MetricFamily& f : families) {
      for (const MetricSample& s : f.samples) {
        nlohmann::json labels = nlohmann::json::object();
        for (const auto& [k, v] : s.labels) labels[k] = v;
        nlohmann::json value;
        if (std::isfinite(s.value)) {
          value = s.value;
        } else {
          value = FormatMetricValue(s.value);
        }
        arr.push_back({{"name", s.name},
                       {"family", f.name},
                       {"type", std::string(MetricTypeName(f.type))},
                       {"labels", labels},
                       {"value", value}});
      }
    }
    out << nlohmann::json{{"metrics", arr}}.dump(2, ' ', false,
                                                 nlohmann::json::error_handler_t::replace)
        << "\n";
    return;
  }
  // Table: histograms show only _count and _sum.
  std::vector<std::array<std::string, 3>> rows;
  for (const MetricFamily& f : families) {
    for (const MetricSample& s : f.samples) {
      if (f.type == MetricType::kHistogram && EndsWith(s.name, "_bucket")) continue;
      rows.push_back({s.name, JoinLabels(s.labels), FormatMetricValue(s.value)});
    }
  }
  size_t w0 = 6, w1 = 6, w2 = 5;
  for (const auto& r : rows) {
    w0 = std::max(w0, r[0].size());
    w1 = std::max(w1, r[1].size());
    w2 = std::max(w2, r[2].size());
  }
  out << fmt::format("{:<{}}  {:<{}}  {:>{}}\n", "metric", w0, "labels", w1, "value", w2);
  for (const auto& r : rows) {
    out << fmt::format("{:<{}}  {:<{}}  {:>{}}\n", r[0], w0, r[1], w1, r[2], w2);
  }
  if (rows.empty()) out << "(no metrics recorded yet)\n";
}

Status PrintMetrics(project::Project& project, std::string_view format, std::ostream& out) {
  WS_ASSIGN_OR_RETURN(MetricsFormat f, ParseMetricsFormat(format));
  WS_ASSIGN_OR_RETURN(auto families, CurrentMetrics(project));
  WriteMetrics(families, f, out);
  return absl::OkStatus();
}

// ---- CloudWatch ----

StatusOr<std::vector<MetricDatum>> CloudWatchDatums(project::Project& project,
                                                        int64_t since_micros,
                                                        int64_t until_micros) {
  WS_ASSIGN_OR_RETURN(auto store, MetricStore::Open(project.config().catalog_path));
  WS_ASSIGN_OR_RETURN(auto families, store->Aggregate(since_micros, until_micros));
  std::vector<MetricDatum> out;
  for (const MetricFamily& f : families) {
    for (const MetricSample& s : f.samples) {
      if (f.type == MetricType::kHistogram && EndsWith(s.name, "_bucket")) continue;
      if (!std::isfinite(s.value)) continue;  // CloudWatch rejects NaN and infinities
      out.push_back({s.name, s.labels, s.value, UnitOf(s.name), until_micros});
    }
  }
  return out;
}

StatusOr<std::pair<std::vector<MetricDatum>, int64_t>> PendingCloudWatchDatums(
    project::Project& project) {
  WS_RETURN_IF_ERROR(FlushMetrics(project));
  WS_ASSIGN_OR_RETURN(lake::Catalog * catalog, project.catalog());
  WS_ASSIGN_OR_RETURN(auto cursor, catalog->GetCursor("metrics", "cloudwatch_pushed_micros"));
  int64_t since = 0;
  if (cursor) since = std::strtoll(cursor->c_str(), nullptr, 10);
  const int64_t until = NowMicros();
  WS_ASSIGN_OR_RETURN(auto datums, CloudWatchDatums(project, since, until));
  return std::make_pair(std::move(datums), until);
}

Status MarkCloudWatchPushed(project::Project& project, int64_t until_micros) {
  WS_ASSIGN_OR_RETURN(lake::Catalog * catalog, project.catalog());
  return catalog->SetCursor("metrics", "cloudwatch_pushed_micros", std::to_string(until_micros));
}

}  // namespace watershed::observe
