// observe/metric_store.cc — the metric and alarm tables in the catalog database. See
// metric_store.h.
#include "watershed/observe/metric_store.h"

#include <unistd.h>

#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

namespace watershed::observe {
namespace {

constexpr char kMetricsSchemaV1[] = R"sql(
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

using store::Stmt;
using Txn = store::Transaction;

// The metric and alarm tables (docs/formats/metrics.md). Append migrations; never edit one.
const store::Schema& MetricsSchema() {
  static const store::Schema* schema = new store::Schema{"metrics", {kMetricsSchemaV1}};
  return *schema;
}

std::optional<MetricType> ParseType(std::string_view s) {
  if (s == "counter") return MetricType::kCounter;
  if (s == "gauge") return MetricType::kGauge;
  if (s == "histogram") return MetricType::kHistogram;
  return std::nullopt;
}

}  // namespace

Status FlushRegistry(MetricRegistry& registry, const std::string& catalog_path,
                     int64_t time_micros) {
  return registry.Flush(time_micros, [&](const std::vector<MetricPoint>& points) -> Status {
    WS_ASSIGN_OR_RETURN(auto store, MetricStore::Open(catalog_path));
    return store->Append(points);
  });
}

StatusOr<std::unique_ptr<MetricStore>> MetricStore::Open(const std::string& catalog_path) {
  WS_ASSIGN_OR_RETURN(std::unique_ptr<store::Connection> db, store::Connection::Open(catalog_path));
  WS_RETURN_IF_ERROR(Annotate(store::Migrate(*db, MetricsSchema()),
                              StrCat("opening metric tables in ", db->name())));
  return std::unique_ptr<MetricStore>(new MetricStore(std::move(db)));
}

MetricStore::~MetricStore() = default;

Status MetricStore::Append(const std::vector<MetricPoint>& points) {
  if (points.empty()) return absl::OkStatus();
  Txn txn(*db_);
  WS_RETURN_IF_ERROR(txn.Begin());
  Stmt family(*db_,
              "INSERT INTO metric_families(name, type, help) VALUES(?, ?, ?) "
              "ON CONFLICT(name) DO UPDATE SET help = excluded.help "
              "WHERE metric_families.help = '' AND excluded.help != ''");
  Stmt point(*db_,
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
  Stmt q(*db_, "SELECT type FROM metric_families WHERE name = ?");
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
    Stmt q(*db_, "SELECT name, type, help FROM metric_families");
    while (true) {
      WS_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      auto type = ParseType(q.Text(1));
      if (!type) continue;
      families[q.Text(0)] = {q.Text(0), *type, q.Text(2), {}};
    }
  }
  // Rows (family, sample, labels, value) of a query over (since, until] into their families.
  auto collect = [&](Stmt& q) -> Status {
    q.Bind(1, since_micros).Bind(2, until);
    while (true) {
      WS_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) return absl::OkStatus();
      auto it = families.find(q.Text(0));
      if (it == families.end()) continue;
      it->second.samples.push_back({q.Text(1), LabelsFromJson(q.Text(2)), q.Double(3)});
    }
  };
  // Counters and histograms: the sum of the deltas.
  {
    Stmt q(*db_,
           "SELECT p.family, p.sample, p.labels, SUM(p.value) FROM metric_points p "
           "JOIN metric_families f ON f.name = p.family "
           "WHERE f.type != 'gauge' AND p.time_micros > ? AND p.time_micros <= ? "
           "GROUP BY p.family, p.sample, p.labels");
    WS_RETURN_IF_ERROR(collect(q));
  }
  // Gauges: the newest value.
  {
    Stmt q(*db_,
           "SELECT family, sample, labels, value FROM ("
           "  SELECT p.family, p.sample, p.labels, p.value, ROW_NUMBER() OVER ("
           "    PARTITION BY p.sample, p.labels ORDER BY p.time_micros DESC, p.point_id DESC) AS rn"
           "  FROM metric_points p JOIN metric_families f ON f.name = p.family"
           "  WHERE f.type = 'gauge' AND p.time_micros > ? AND p.time_micros <= ?) AS ranked "
           "WHERE rn = 1");
    WS_RETURN_IF_ERROR(collect(q));
  }
  std::vector<MetricFamily> out;
  for (auto& [name, f] : families) {
    if (f.samples.empty()) continue;
    metrics::SortSamples(f);
    out.push_back(std::move(f));
  }
  return out;
}

StatusOr<std::vector<MetricPoint>> MetricStore::Points(const std::string& sample,
                                                       int64_t since_micros, int64_t until_micros) {
  Stmt q(*db_,
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
  Txn txn(*db_);
  WS_RETURN_IF_ERROR(txn.Begin());
  // Counters and histograms: one point per series with the sum.
  Stmt sums(*db_,
            "CREATE TEMP TABLE compacted AS "
            "SELECT p.family, p.sample, p.labels, SUM(p.value) AS value, COUNT(*) AS n "
            "FROM metric_points p JOIN metric_families f ON f.name = p.family "
            "WHERE f.type != 'gauge' AND p.time_micros < ? GROUP BY p.family, p.sample, p.labels "
            "HAVING COUNT(*) > 1");
  sums.Bind(1, before_micros);
  WS_RETURN_IF_ERROR(sums.Run());
  Stmt del(*db_,
           "DELETE FROM metric_points WHERE time_micros < ? AND EXISTS (SELECT 1 FROM compacted c "
           "WHERE c.sample = metric_points.sample AND c.labels = metric_points.labels)");
  del.Bind(1, before_micros);
  WS_RETURN_IF_ERROR(del.Run());
  const int64_t deleted = db_->Changes();
  Stmt ins(*db_,
           "INSERT INTO metric_points(time_micros, family, sample, labels, value, pid) "
           "SELECT ?, family, sample, labels, value, 0 FROM compacted");
  ins.Bind(1, before_micros - 1);
  WS_RETURN_IF_ERROR(ins.Run());
  const int64_t inserted = db_->Changes();
  WS_RETURN_IF_ERROR(db_->Exec("DROP TABLE compacted"));
  // Gauges: only the newest point of each series.
  Stmt gauges(*db_,
              "DELETE FROM metric_points WHERE point_id IN ("
              "  SELECT point_id FROM (SELECT p.point_id, ROW_NUMBER() OVER ("
              "    PARTITION BY p.sample, p.labels ORDER BY p.time_micros DESC, p.point_id DESC)"
              "    AS rn FROM metric_points p JOIN metric_families f ON f.name = p.family"
              "    WHERE f.type = 'gauge' AND p.time_micros < ?) AS ranked WHERE rn > 1)");
  gauges.Bind(1, before_micros);
  WS_RETURN_IF_ERROR(gauges.Run());
  const int64_t gauge_deleted = db_->Changes();
  WS_RETURN_IF_ERROR(txn.Commit());
  return deleted - inserted + gauge_deleted;
}

StatusOr<std::vector<MetricStore::AlarmRow>> MetricStore::AlarmRows() {
  Stmt q(*db_,
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
  Txn txn(*db_);
  WS_RETURN_IF_ERROR(txn.Begin());
  std::optional<AlarmRow> before;
  {
    Stmt q(*db_,
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
  Stmt up(*db_,
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
  Stmt del(*db_, "DELETE FROM alarm_state WHERE alarm = ?");
  for (const AlarmRow& r : rows) {
    if (names.contains(r.alarm)) continue;
    del.Bind(1, r.alarm);
    WS_RETURN_IF_ERROR(del.Run());
  }
  return absl::OkStatus();
}

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

}  // namespace watershed::observe
