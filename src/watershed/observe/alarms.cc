// observe/alarms.cc — see alarms.h.
#include "watershed/observe/alarms.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "watershed/audit/audit_log.h"
#include "watershed/base/clock.h"
#include "watershed/base/columns.h"
#include "watershed/base/log.h"
#include "watershed/base/redact.h"
#include "watershed/net/http_client.h"

namespace watershed::observe {
namespace {

Status FieldError(const std::string& alarm, std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(StrCat("alarms.", alarm, ".", field, ": ", what));
}

std::optional<std::string> Scalar(const YAML::Node& n) {
  if (!n || !n.IsScalar()) return std::nullopt;
  return n.Scalar();
}

std::optional<double> ParseNumber(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end == nullptr || *end != '\0' || std::isnan(v)) return std::nullopt;
  return v;
}

StatusOr<AlarmSpec> ParseOne(const std::string& name, const YAML::Node& node) {
  AlarmSpec a;
  a.name = name;
  if (!node.IsMap()) {
    return absl::InvalidArgumentError(
        StrCat("alarms.", name, ": must be a map with metric, comparison, threshold, window"));
  }
  static const std::set<std::string>& kFields = *new std::set<std::string>{"metric",    "labels",      "comparison",
                                                "threshold", "window",      "statistic",
                                                "webhook",   "description", "missing"};
  for (const auto& kv : node) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
    if (!kFields.contains(key)) {
      return FieldError(name, key,
                        "unknown field (known: metric, labels, comparison, threshold, window, "
                        "statistic, missing, webhook, description)");
    }
  }
  // metric
  auto metric = Scalar(node["metric"]);
  if (!node["metric"] || !metric || metric->empty()) {
    return FieldError(name, "metric",
                      "required: the metric to watch, e.g. "
                      "watershed_task_failures_total");
  }
  for (size_t i = 0; i < metric->size(); ++i) {
    const char c = (*metric)[i];
    const bool ok = std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':' ||
                    (i > 0 && std::isdigit(static_cast<unsigned char>(c)));
    if (!ok) return FieldError(name, "metric", StrCat("'", *metric, "' is not a metric name"));
  }
  a.metric = *metric;
  // labels
  if (const YAML::Node& labels = node["labels"]; labels && !labels.IsNull()) {
    if (!labels.IsMap()) return FieldError(name, "labels", "must be a map of label: value");
    for (const auto& kv : labels) {
      auto k = Scalar(kv.first);
      auto v = Scalar(kv.second);
      if (!k || !v) return FieldError(name, "labels", "label names and values must be scalars");
      a.labels[*k] = *v;
    }
  }
  // comparison
  auto cmp = Scalar(node["comparison"]);
  if (!node["comparison"] || !cmp) {
    return FieldError(name, "comparison", "required: one of >, >=, <, <=, ==, !=");
  }
  static const std::vector<std::pair<std::string, Comparison>>& kComparisons = *new std::vector<std::pair<std::string, Comparison>>{
      {">", Comparison::kGreater}, {">=", Comparison::kGreaterOrEqual},
      {"<", Comparison::kLess},    {"<=", Comparison::kLessOrEqual},
      {"==", Comparison::kEqual},  {"!=", Comparison::kNotEqual}};
  auto c = std::find_if(kComparisons.begin(), kComparisons.end(),
                        [&](const auto& p) { return p.first == *cmp; });
  if (c == kComparisons.end()) {
    return FieldError(name, "comparison",
                      StrCat("'", *cmp, "' is not one of >, >=, <, <=, ==, !="));
  }
  a.comparison = c->second;
  // threshold
  auto threshold = Scalar(node["threshold"]);
  if (!node["threshold"] || !threshold) {
    return FieldError(name, "threshold", "required: a number");
  }
  auto t = ParseNumber(*threshold);
  if (!t) return FieldError(name, "threshold", StrCat("'", *threshold, "' is not a number"));
  a.threshold = *t;
  // window
  auto window = Scalar(node["window"]);
  if (!node["window"] || !window) {
    return FieldError(name, "window", "required: a duration such as 5m, 1h or 1d");
  }
  auto w = ParseWindowMicros(*window);
  if (!w.ok()) return FieldError(name, "window", MessageOf(w.status()));
  a.window_micros = *w;
  a.window_text = *window;
  // statistic
  if (node["statistic"]) {
    auto st = Scalar(node["statistic"]);
    static const std::vector<std::pair<std::string, Statistic>>& kStats = *new std::vector<std::pair<std::string, Statistic>>{
        {"sum", Statistic::kSum}, {"max", Statistic::kMax},   {"min", Statistic::kMin},
        {"avg", Statistic::kAvg}, {"last", Statistic::kLast}, {"count", Statistic::kCount}};
    auto s = std::find_if(kStats.begin(), kStats.end(),
                          [&](const auto& p) { return st && p.first == *st; });
    if (s == kStats.end()) {
      return FieldError(name, "statistic",
                        StrCat("'", st.value_or("?"),
                               "' is not one of sum, max, min, avg, "
                               "last, count"));
    }
    a.statistic = s->second;
  }
  // missing
  if (node["missing"]) {
    auto m = Scalar(node["missing"]);
    if (m && *m == "zero") {
      a.missing = MissingData::kZero;
    } else if (m && *m == "insufficient_data") {
      a.missing = MissingData::kInsufficientData;
    } else {
      return FieldError(name, "missing",
                        StrCat("'", m.value_or("?"), "' is not one of zero, insufficient_data"));
    }
  }
  // webhook
  if (node["webhook"] && !node["webhook"].IsNull()) {
    auto hook = Scalar(node["webhook"]);
    if (!hook || !(StartsWith(*hook, "http://") || StartsWith(*hook, "https://"))) {
      return FieldError(name, "webhook", "must be an http:// or https:// URL");
    }
    a.webhook = *hook;
  }
  if (node["description"]) a.description = Scalar(node["description"]).value_or("");
  return a;
}

bool Compare(double value, Comparison c, double threshold) {
  switch (c) {
    case Comparison::kGreater:
      return value > threshold;
    case Comparison::kGreaterOrEqual:
      return value >= threshold;
    case Comparison::kLess:
      return value < threshold;
    case Comparison::kLessOrEqual:
      return value <= threshold;
    case Comparison::kEqual:
      return value == threshold;
    case Comparison::kNotEqual:
      return value != threshold;
  }
  return false;
}

std::optional<AlarmState> ParseState(std::string_view s) {
  if (s == "OK") return AlarmState::kOk;
  if (s == "ALARM") return AlarmState::kAlarm;
  if (s == "INSUFFICIENT_DATA") return AlarmState::kInsufficientData;
  return std::nullopt;
}

std::string Selector(const AlarmSpec& a) {
  if (a.labels.empty()) return a.metric;
  std::string out = a.metric + "{";
  bool first = true;
  for (const auto& [k, v] : a.labels) {
    out += StrCat(first ? "" : ",", k, "=", v);
    first = false;
  }
  return out + "}";
}

std::string Condition(const AlarmSpec& a) {
  return StrCat(StatisticName(a.statistic), " ", ComparisonSymbol(a.comparison), " ",
                FormatMetricValue(a.threshold), " over ", a.window_text);
}

// The family a sample belongs to and its type (recorded, or from the standard list).
StatusOr<std::optional<MetricType>> TypeOfSample(MetricStore& store, const std::string& sample) {
  WS_ASSIGN_OR_RETURN(auto type, store.FamilyType(sample));
  if (type) return type;
  for (std::string_view suffix : {"_sum", "_count", "_bucket"}) {
    if (!EndsWith(sample, suffix)) continue;
    const std::string family = sample.substr(0, sample.size() - suffix.size());
    WS_ASSIGN_OR_RETURN(type, store.FamilyType(family));
    if (type == MetricType::kHistogram) return type;
    const MetricSpec* spec = FindStandardMetric(family);
    if (spec != nullptr && spec->type == MetricType::kHistogram) return spec->type;
  }
  if (const MetricSpec* spec = FindStandardMetric(sample)) return std::optional(spec->type);
  return std::optional<MetricType>();
}

StatusOr<AlarmResult> Evaluate(MetricStore& store, const AlarmSpec& a, int64_t now) {
  AlarmResult r;
  r.spec = a;
  WS_ASSIGN_OR_RETURN(auto points, store.Points(a.metric, now - a.window_micros, now));
  std::vector<double> values;
  int64_t last_time = std::numeric_limits<int64_t>::min();
  double last = 0;
  for (const MetricPoint& p : points) {
    bool match = true;
    for (const auto& [k, v] : a.labels) {
      auto it = p.labels.find(k);
      match &= it != p.labels.end() && it->second == v;
    }
    if (!match) continue;
    values.push_back(p.value);
    if (p.time_micros >= last_time) {  // points come oldest first: the newest wins
      last_time = p.time_micros;
      last = p.value;
    }
  }
  r.points = static_cast<int>(values.size());
  const std::string what =
      StrCat(StatisticName(a.statistic), " of ", Selector(a), " over ", a.window_text);
  if (values.empty()) {
    MissingData missing = a.missing;
    if (missing == MissingData::kDefault) {
      WS_ASSIGN_OR_RETURN(auto type, TypeOfSample(store, a.metric));
      missing =
          type && *type != MetricType::kGauge ? MissingData::kZero : MissingData::kInsufficientData;
    }
    if (missing == MissingData::kInsufficientData) {
      r.state = AlarmState::kInsufficientData;
      r.reason = StrCat("no data for ", Selector(a), " in the last ", a.window_text);
      return r;
    }
    values.push_back(0);  // nothing happened: zero
    last = 0;
  }
  double v = 0;
  switch (a.statistic) {
    case Statistic::kSum:
      for (double x : values) v += x;
      break;
    case Statistic::kMax:
      v = *std::max_element(values.begin(), values.end());
      break;
    case Statistic::kMin:
      v = *std::min_element(values.begin(), values.end());
      break;
    case Statistic::kAvg:
      for (double x : values) v += x;
      v /= static_cast<double>(values.size());
      break;
    case Statistic::kLast:
      v = last;
      break;
    case Statistic::kCount:
      v = r.points;
      break;
  }
  r.value = v;
  const bool firing = Compare(v, a.comparison, a.threshold);
  r.state = firing ? AlarmState::kAlarm : AlarmState::kOk;
  r.reason = StrCat(what, " = ", FormatMetricValue(v), firing ? " " : " not ",
                    ComparisonSymbol(a.comparison), " ", FormatMetricValue(a.threshold));
  return r;
}

void Notify(project::Project& project, const AlarmResult& r, int64_t now) {
  const std::string state(AlarmStateName(r.state));
  const std::string previous = r.previous ? std::string(AlarmStateName(*r.previous)) : "";
  const std::string value = r.value ? FormatMetricValue(*r.value) : "";
  LogFields fields = {{"event", "alarm"},     {"alarm", r.spec.name}, {"state", state},
                      {"previous", previous}, {"value", value},       {"reason", r.reason}};
  if (r.state == AlarmState::kAlarm) {
    LogWarn("alarm state changed", fields);
  } else {
    LogInfo("alarm state changed", fields);
  }
  audit::AuditLog audit(StrCat(project.root(), "/.watershed/audit.log"));
  Status s = audit.Append(
      {0, "", "watershed", "alarm", r.spec.name,
       StrCat(state, previous.empty() ? "" : StrCat(" (was ", previous, ")"), ": ", r.reason)});
  if (!s.ok()) {
    LogWarn("alarm not written to the audit log",
            {{"alarm", r.spec.name}, {"error", std::string(MessageOf(s))}});
  }
  if (r.spec.webhook.empty()) return;
  nlohmann::json body = {{"event", "alarm_state_change"},
                         {"project", project.config().name},
                         {"alarm", r.spec.name},
                         {"state", state},
                         {"previous", r.previous ? nlohmann::json(previous) : nlohmann::json()},
                         {"value", r.value ? nlohmann::json(*r.value) : nlohmann::json()},
                         {"metric", r.spec.metric},
                         {"labels", r.spec.labels},
                         {"statistic", std::string(StatisticName(r.spec.statistic))},
                         {"comparison", std::string(ComparisonSymbol(r.spec.comparison))},
                         {"threshold", r.spec.threshold},
                         {"window", r.spec.window_text},
                         {"window_seconds", r.spec.window_micros / 1000000},
                         {"reason", r.reason},
                         {"description", r.spec.description},
                         {"time", IsoUtc(now)}};
  net::HttpClientOptions o;
  o.retry.max_attempts = 3;
  o.retry.initial_backoff = absl::Milliseconds(200);
  o.request_timeout = absl::Seconds(10);
  o.connect_timeout = absl::Seconds(5);
  net::HttpClient client(o);
  auto resp = client.Send({"POST",
                           r.spec.webhook,
                           {},
                           body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)});
  if (!resp.ok() || resp->status >= 300) {
    LogWarn("alarm webhook did not accept the event",
            {{"alarm", r.spec.name},
             {"webhook", RedactUrl(r.spec.webhook)},
             {"status",
              resp.ok() ? std::to_string(resp->status) : std::string(MessageOf(resp.status()))}});
  }
}

}  // namespace

std::string_view AlarmStateName(AlarmState state) {
  switch (state) {
    case AlarmState::kOk:
      return "OK";
    case AlarmState::kAlarm:
      return "ALARM";
    case AlarmState::kInsufficientData:
      return "INSUFFICIENT_DATA";
  }
  return "INSUFFICIENT_DATA";
}

std::string_view ComparisonSymbol(Comparison c) {
  switch (c) {
    case Comparison::kGreater:
      return ">";
    case Comparison::kGreaterOrEqual:
      return ">=";
    case Comparison::kLess:
      return "<";
    case Comparison::kLessOrEqual:
      return "<=";
    case Comparison::kEqual:
      return "==";
    case Comparison::kNotEqual:
      return "!=";
  }
  return "?";
}

std::string_view StatisticName(Statistic s) {
  switch (s) {
    case Statistic::kSum:
      return "sum";
    case Statistic::kMax:
      return "max";
    case Statistic::kMin:
      return "min";
    case Statistic::kAvg:
      return "avg";
    case Statistic::kLast:
      return "last";
    case Statistic::kCount:
      return "count";
  }
  return "?";
}

StatusOr<int64_t> ParseWindowMicros(std::string_view text) {
  WS_ASSIGN_OR_RETURN(absl::Duration d, ParseDuration(text));
  if (d <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(StrCat("'", std::string(text), "' must be positive"));
  }
  return absl::ToInt64Microseconds(d);
}

StatusOr<std::vector<AlarmSpec>> ParseAlarms(const YAML::Node& alarms) {
  std::vector<AlarmSpec> out;
  if (!alarms || alarms.IsNull()) return out;
  if (!alarms.IsMap()) {
    return absl::InvalidArgumentError("alarms: must be a map of alarm name -> alarm");
  }
  try {
    for (const auto& kv : alarms) {
      if (!kv.first.IsScalar()) return absl::InvalidArgumentError("alarms: names must be text");
      WS_ASSIGN_OR_RETURN(AlarmSpec a, ParseOne(kv.first.Scalar(), kv.second));
      out.push_back(std::move(a));
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(StrCat("alarms: ", e.what()));
  }
  std::sort(out.begin(), out.end(),
            [](const AlarmSpec& a, const AlarmSpec& b) { return a.name < b.name; });
  return out;
}

StatusOr<std::vector<AlarmResult>> EvaluateAlarms(project::Project& project, int64_t now_micros) {
  WS_ASSIGN_OR_RETURN(auto specs, ParseAlarms(project.config().raw["alarms"]));
  WS_ASSIGN_OR_RETURN(auto store, MetricStore::Open(project.config().catalog_path));
  std::vector<std::string> names;
  for (const auto& a : specs) names.push_back(a.name);
  WS_RETURN_IF_ERROR(store->RetainAlarmRows(names));
  std::vector<AlarmResult> results;
  for (const AlarmSpec& a : specs) {
    WS_ASSIGN_OR_RETURN(AlarmResult r, Evaluate(*store, a, now_micros));
    MetricStore::AlarmRow row{
        a.name, std::string(AlarmStateName(r.state)), r.value, now_micros, now_micros, r.reason};
    WS_ASSIGN_OR_RETURN(auto before, store->ExchangeAlarmRow(row));
    r.since_micros = now_micros;
    if (before) {
      r.previous = ParseState(before->state);
      r.changed = before->state != row.state;
      if (!r.changed) r.since_micros = before->since_micros;
    } else {
      r.changed = r.state == AlarmState::kAlarm;  // a new alarm tells only when it fires
    }
    if (r.changed) Notify(project, r, now_micros);
    results.push_back(std::move(r));
  }
  return results;
}

Status MetricsTick(project::Project& project) {
  WS_RETURN_IF_ERROR(FlushMetrics(project));
  const YAML::Node& alarms = project.config().raw["alarms"];
  if (alarms && !alarms.IsNull()) {
    WS_RETURN_IF_ERROR(EvaluateAlarms(project, NowMicros()).status());
  }
  int64_t retention = int64_t{30} * 86400 * 1000000;
  const YAML::Node& m = project.config().raw["metrics"];
  if (m && m.IsMap() && m["retention"]) {
    auto r = ParseWindowMicros(m["retention"].IsScalar() ? m["retention"].Scalar() : "?");
    if (!r.ok()) return Annotate(r.status(), "metrics.retention");
    retention = *r;
  }
  // Retention: older points are rolled up (totals stay; old windows lose their detail).
  static std::mutex mu;
  static auto* last_compaction =
      new std::map<std::string, std::chrono::steady_clock::time_point>();  // per catalog
  {
    std::lock_guard<std::mutex> lock(mu);
    const auto now = std::chrono::steady_clock::now();
    auto [it, first] = last_compaction->try_emplace(project.config().catalog_path, now);
    if (!first && now - it->second < std::chrono::hours(1)) return absl::OkStatus();
    it->second = now;
  }
  WS_ASSIGN_OR_RETURN(auto store, MetricStore::Open(project.config().catalog_path));
  return store->Compact(NowMicros() - retention).status();
}

StatusOr<std::vector<AlarmStatus>> AlarmStatuses(project::Project& project, bool evaluate) {
  WS_ASSIGN_OR_RETURN(auto specs, ParseAlarms(project.config().raw["alarms"]));
  if (evaluate) {
    WS_RETURN_IF_ERROR(FlushMetrics(project));
    WS_RETURN_IF_ERROR(EvaluateAlarms(project, NowMicros()).status());
  }
  WS_ASSIGN_OR_RETURN(auto store, MetricStore::Open(project.config().catalog_path));
  WS_ASSIGN_OR_RETURN(auto rows, store->AlarmRows());
  std::map<std::string, MetricStore::AlarmRow> by_name;
  for (auto& r : rows) by_name[r.alarm] = std::move(r);
  std::vector<AlarmStatus> out;
  for (AlarmSpec& a : specs) {
    AlarmStatus st;
    st.selector = Selector(a);
    st.condition = Condition(a);
    auto it = by_name.find(a.name);
    if (it != by_name.end()) st.stored = std::move(it->second);
    st.spec = std::move(a);
    out.push_back(std::move(st));
  }
  return out;
}

}  // namespace watershed::observe
