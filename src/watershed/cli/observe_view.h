// cli/observe_view.h — `watershed metrics` and `watershed alarms`: rendering what observe/
// returns.
//
// Owns: the metrics as a table (metric, labels `k=v,...`, value; histograms as _sum and _count
// only), CSV or JSON (`{"metrics":[{name, family, type, labels, value}]}`, docs/formats/
// metrics.md), Prometheus text through observe/metrics_prometheus.h; the summary of a
// CloudWatch push; the alarms as a table (alarm, state, value, metric, condition, since), CSV or
// JSON
// (`{"alarms":[...]}`). Tables and CSV go through cli/output.h.
// Does not own: collecting metrics, pushing them or evaluating alarms (observe/).
// Thread safety: stateless functions.
#pragma once

#include <ostream>
#include <string_view>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/cli/output.h"
#include "watershed/observe/alarms.h"
#include "watershed/observe/cloudwatch_push.h"
#include "watershed/observe/metrics.h"

namespace watershed::cli {

enum class MetricsFormat { kPrometheus, kTable, kCsv, kJson };
// prometheus (also ""), table, csv or json.
StatusOr<MetricsFormat> ParseMetricsFormat(std::string_view name);
TextTable MetricsTable(const std::vector<observe::MetricFamily>& families);
void RenderMetrics(const std::vector<observe::MetricFamily>& families, MetricsFormat format,
                   std::ostream& out);
// "pushed 12 datums to CloudWatch namespace Watershed (region us-east-1)".
void RenderCloudWatchPush(const observe::CloudWatchPushSummary& summary, std::ostream& out);
// `watershed metrics [--format ...] [--push cloudwatch]`.
Status MetricsCommand(project::Project& project, std::string_view format, std::string_view push,
                      std::ostream& out);

TextTable AlarmsTable(const std::vector<observe::AlarmStatus>& alarms);
void RenderAlarms(const std::vector<observe::AlarmStatus>& alarms, OutputFormat format,
                  std::ostream& out);
// `watershed alarms [--format table|csv|json] [--evaluate]`: with `evaluate`, evaluates now
// first (notifying changes); otherwise shows the stored states ("-" when never evaluated).
Status AlarmsCommand(project::Project& project, std::string_view format, bool evaluate,
                     std::ostream& out);

}  // namespace watershed::cli
