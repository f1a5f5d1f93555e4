// observe/metrics_prometheus.cc — Prometheus text exposition. See metrics_prometheus.h.
#include "watershed/observe/metrics_prometheus.h"

#include <algorithm>

#include "watershed/base/log.h"
#include "watershed/observe/metrics.h"

namespace watershed::observe {
namespace {

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

}  // namespace

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

}  // namespace watershed::observe
