// observe/metrics_prometheus.h — the Prometheus text exposition format 0.0.4 of metric
// families: what GET /metrics of `watershed serve` answers and `watershed metrics` prints by
// default.
//
// Owns: HELP and TYPE lines, escaping of label values and help text, sample lines. Does not own:
// which metrics exist (metrics.h), HTTP serving (server/), the other formats (cli/observe_view).
// Thread safety: stateless functions.
#pragma once

#include <string>
#include <vector>

#include "watershed/base/metrics.h"
#include "watershed/project/project.h"

namespace watershed::observe {

// Prometheus text of `families` (families without samples are left out).
std::string RenderPrometheusText(const std::vector<metrics::MetricFamily>& families);
// GET /metrics: CurrentMetrics (metrics.h) as Prometheus text (content type
// "text/plain; version=0.0.4; charset=utf-8"). On error: a comment line naming it.
std::string RenderPrometheus(project::Project& project);

}  // namespace watershed::observe
