// cli/observe_view.cc — see observe_view.h.
#include "watershed/cli/observe_view.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "watershed/base/columns.h"
#include "watershed/observe/metrics_prometheus.h"

namespace watershed::cli {
namespace {

using observe::MetricFamily;
using observe::MetricSample;
using observe::MetricType;

std::string JoinLabels(const observe::MetricLabels& labels) {
  std::string out;
  for (const auto& [k, v] : labels) out += StrCat(out.empty() ? "" : ",", k, "=", v);
  return out;
}

std::string Dump(const nlohmann::json& j) {
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

// ---- metrics --------------------------------------------------------------------------------

StatusOr<MetricsFormat> ParseMetricsFormat(std::string_view name) {
  if (name == "prometheus" || name.empty()) return MetricsFormat::kPrometheus;
  if (name == "table") return MetricsFormat::kTable;
  if (name == "csv") return MetricsFormat::kCsv;
  if (name == "json") return MetricsFormat::kJson;
  return absl::InvalidArgumentError(
      StrCat("unknown metrics format '", name, "' (use prometheus, table, csv or json)"));
}

TextTable MetricsTable(const std::vector<MetricFamily>& families) {
  TextTable t;
  t.header = {"metric", "labels", "value"};
  t.numeric = {false, false, true};
  for (const MetricFamily& f : families) {
    for (const MetricSample& s : f.samples) {
      if (f.type == MetricType::kHistogram && EndsWith(s.name, "_bucket")) continue;
      t.rows.push_back({s.name, JoinLabels(s.labels), observe::FormatMetricValue(s.value)});
    }
  }
  return t;
}

void RenderMetrics(const std::vector<MetricFamily>& families, MetricsFormat format,
                   std::ostream& out) {
  switch (format) {
    case MetricsFormat::kPrometheus:
      out << observe::RenderPrometheusText(families);
      return;
    case MetricsFormat::kJson: {
      nlohmann::json arr = nlohmann::json::array();
      for (const MetricFamily& f : families) {
        for (const MetricSample& s : f.samples) {
          nlohmann::json labels = nlohmann::json::object();
          for (const auto& [k, v] : s.labels) labels[k] = v;
          arr.push_back({{"name", s.name},
                         {"family", f.name},
                         {"type", std::string(observe::MetricTypeName(f.type))},
                         {"labels", labels},
                         {"value", std::isfinite(s.value)
                                       ? nlohmann::json(s.value)
                                       : nlohmann::json(observe::FormatMetricValue(s.value))}});
        }
      }
      out << Dump(nlohmann::json{{"metrics", arr}}) << "\n";
      return;
    }
    case MetricsFormat::kCsv:
      Print(MetricsTable(families), OutputFormat::kCsv, out);
      return;
    case MetricsFormat::kTable: {
      const TextTable t = MetricsTable(families);
      Print(t, OutputFormat::kTable, out);
      if (t.rows.empty()) out << "(no metrics recorded yet)\n";
      return;
    }
  }
}

void RenderCloudWatchPush(const observe::CloudWatchPushSummary& s, std::ostream& out) {
  out << "pushed " << s.datums << " datums to CloudWatch namespace " << s.ns << " ("
      << s.destination << ")";
  if (s.datums > 0) {
    out << ", " << (s.since_micros > 0 ? IsoUtc(s.since_micros, false) : "the first point")
        << " to " << IsoUtc(s.until_micros, false);
  }
  out << "\n";
}

Status MetricsCommand(project::Project& project, std::string_view format, std::string_view push,
                      std::ostream& out) {
  if (!push.empty()) {
    if (push != "cloudwatch") {
      return absl::InvalidArgumentError(StrCat("--push ", push, ": the only target is cloudwatch"));
    }
    WS_ASSIGN_OR_RETURN(observe::CloudWatchPushSummary summary,
                        observe::PushMetricsToCloudWatch(project));
    RenderCloudWatchPush(summary, out);
    return absl::OkStatus();
  }
  WS_ASSIGN_OR_RETURN(MetricsFormat f, ParseMetricsFormat(format));
  WS_ASSIGN_OR_RETURN(auto families, observe::CurrentMetrics(project));
  RenderMetrics(families, f, out);
  return absl::OkStatus();
}

// ---- alarms ---------------------------------------------------------------------------------

TextTable AlarmsTable(const std::vector<observe::AlarmStatus>& alarms) {
  TextTable t;
  t.header = {"alarm", "state", "value", "metric", "condition", "since"};
  t.numeric = {false, false, true, false, false, false};
  for (const observe::AlarmStatus& a : alarms) {
    const auto& stored = a.stored;
    t.rows.push_back({a.spec.name, stored ? stored->state : "-",
                      stored && stored->value ? observe::FormatMetricValue(*stored->value) : "-",
                      a.selector, a.condition, stored ? IsoUtc(stored->since_micros, false) : "-"});
  }
  return t;
}

void RenderAlarms(const std::vector<observe::AlarmStatus>& alarms, OutputFormat format,
                  std::ostream& out) {
  if (format == OutputFormat::kJson) {
    nlohmann::json arr = nlohmann::json::array();
    for (const observe::AlarmStatus& a : alarms) {
      nlohmann::json j = {{"name", a.spec.name},
                          {"metric", a.spec.metric},
                          {"labels", a.spec.labels},
                          {"condition", a.condition},
                          {"threshold", a.spec.threshold},
                          {"state", nullptr},
                          {"value", nullptr},
                          {"since", nullptr},
                          {"reason", nullptr}};
      if (a.stored) {
        j["state"] = a.stored->state;
        if (a.stored->value) j["value"] = *a.stored->value;
        j["since"] = IsoUtc(a.stored->since_micros, false);
        j["evaluated"] = IsoUtc(a.stored->evaluated_micros, false);
        j["reason"] = a.stored->reason;
      }
      arr.push_back(std::move(j));
    }
    out << Dump(nlohmann::json{{"alarms", arr}}) << "\n";
    return;
  }
  if (alarms.empty() && format == OutputFormat::kTable) {
    out << "no alarms: declare them under `alarms:` in watershed.yml\n";
    return;
  }
  Print(AlarmsTable(alarms), format, out);
}

Status AlarmsCommand(project::Project& project, std::string_view format, bool evaluate,
                     std::ostream& out) {
  StatusOr<OutputFormat> f = format.empty() ? OutputFormat::kTable : ParseOutputFormat(format);
  if (!f.ok()) {
    return absl::InvalidArgumentError(
        StrCat("unknown alarms format '", format, "' (use table, csv or json)"));
  }
  WS_ASSIGN_OR_RETURN(auto alarms, observe::AlarmStatuses(project, evaluate));
  RenderAlarms(alarms, *f, out);
  return absl::OkStatus();
}

}  // namespace watershed::cli
