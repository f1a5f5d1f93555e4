// observe/alarms.h — alarms on metrics, declared under `alarms:` in watershed.yml.
//
// Owns: parsing `alarms:` (docs/formats/metrics.md), evaluating each alarm over its window of
// `metric_points` (metric_store.h) to OK, ALARM or INSUFFICIENT_DATA, what goes into the
// `alarm_state` rows (one per alarm: state, value, since), and telling about state changes: a
// log line, a JSON POST to the alarm's webhook and an audit log entry (audit/audit_log.h). The
// state change is decided inside one catalog transaction, so when the scheduler and the server
// both evaluate, only one of them notifies; an alarm that stays in its state is never notified
// again. An alarm seen for the first time notifies only when it starts in ALARM.
// Does not own: recording metrics (metrics.h), the table rows (metric_store.h), rendering
// (cli/observe_view.h) or when evaluation runs (the scheduler calls MetricsTick after each
// tick; `watershed serve` calls it periodically).
// Thread safety: functions are safe to call from several threads and processes at once (each
// call uses its own database connection).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/observe/metrics.h"
#include "watershed/project/project.h"

namespace watershed::observe {

enum class AlarmState { kOk, kAlarm, kInsufficientData };
std::string_view AlarmStateName(AlarmState state);  // "OK", "ALARM", "INSUFFICIENT_DATA"

enum class Comparison { kGreater, kGreaterOrEqual, kLess, kLessOrEqual, kEqual, kNotEqual };
std::string_view ComparisonSymbol(Comparison c);  // ">", ">=", "<", "<=", "==", "!="

// How the points in the window become one value. On a counter each point is a delta; on a
// gauge each point is a value.
enum class Statistic { kSum, kMax, kMin, kAvg, kLast, kCount };
std::string_view StatisticName(Statistic s);

// What an empty window means: "zero" (the value is 0 — the default for counters and
// histograms, which write nothing when nothing happened) or "insufficient_data" (the default
// for gauges and for metrics never recorded).
enum class MissingData { kDefault, kZero, kInsufficientData };

struct AlarmSpec {
  std::string name;
  std::string metric;   // a sample name: a counter, a gauge, or a histogram's _sum/_count/_bucket
  MetricLabels labels;  // points must carry these labels (others may differ)
  Comparison comparison = Comparison::kGreater;
  double threshold = 0;
  int64_t window_micros = 0;
  std::string window_text;  // as written, for messages
  Statistic statistic = Statistic::kSum;
  MissingData missing = MissingData::kDefault;
  std::string webhook;  // http(s) URL, or empty
  std::string description;
};

// Parses the `alarms:` node (a map of name -> alarm; absent or null = no alarms). Errors name
// the alarm and the field: "alarms.load_failures.comparison: '=>' is not one of >, >=, <, <=,
// ==, !=". Unknown fields are errors (typos would otherwise silently do nothing).
StatusOr<std::vector<AlarmSpec>> ParseAlarms(const YAML::Node& alarms);
// "90s", "5m", "1h", "2d", "1h30m", or a plain number of seconds; must be > 0.
StatusOr<int64_t> ParseWindowMicros(std::string_view text);

struct AlarmResult {
  AlarmSpec spec;
  AlarmState state = AlarmState::kInsufficientData;
  std::optional<double> value;  // nullopt: no data
  int points = 0;               // points in the window that matched
  std::string reason;           // "sum of watershed_task_failures_total{...} over 1h = 3 > 0"
  bool changed = false;         // this evaluation changed the stored state (and notified)
  std::optional<AlarmState> previous;  // nullopt: first evaluation
  int64_t since_micros = 0;            // when the alarm entered `state`
};

// Evaluates every alarm of the project at `now_micros` over (now - window, now], stores the
// states and notifies the changes. Webhook failures are logged, not returned. Alarms removed
// from watershed.yml lose their stored state.
StatusOr<std::vector<AlarmResult>> EvaluateAlarms(project::Project& project, int64_t now_micros);

// The scheduler's and the server's periodic hook: flushes this process's metrics, evaluates
// the alarms at the current time (nothing when there are none) and, at most once an hour per
// process and catalog, compacts metric points older than `metrics: {retention: 30d}` (the default).
Status MetricsTick(project::Project& project);

// One alarm as `watershed alarms` shows it: its declaration and its stored state.
struct AlarmStatus {
  AlarmSpec spec;
  std::string selector;                         // "watershed_task_failures_total{task=x}"
  std::string condition;                        // "sum > 0 over 1h"
  std::optional<MetricStore::AlarmRow> stored;  // nullopt: never evaluated
};
// Every alarm of the project (in name order) with its stored state. With `evaluate`, flushes
// this process's metrics and evaluates now first (notifying changes).
StatusOr<std::vector<AlarmStatus>> AlarmStatuses(project::Project& project, bool evaluate);

}  // namespace watershed::observe
