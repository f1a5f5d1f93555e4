// observe/cloudwatch_push.h — `watershed metrics --push cloudwatch`: the metrics recorded since
// the previous push, as CloudWatch datums, sent with PutMetricData (cloudwatch.h).
//
// Owns: turning the window (since, until] of `metric_points` into datums (dimensions are the
// labels; unit "Seconds", "Bytes" or "Count" from the name; counters and histogram _sum/_count
// as the sum of their deltas in the window, gauges as their latest value; buckets and
// non-finite values are not sent), the push cursor in the catalog ("metrics",
// "cloudwatch_pushed_micros"), and the push itself from `metrics.cloudwatch` of watershed.yml
// (namespace, default "Watershed"; region, endpoint and credentials as net::AwsConfigFromYaml
// reads them). Does not own: the API calls and their limits (cloudwatch.h), rendering the
// summary (cli/observe_view.h).
// Thread safety: reentrant; each call opens its own catalog connections.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/net/http_client.h"
#include "watershed/observe/cloudwatch.h"
#include "watershed/project/project.h"

namespace watershed::observe {

// Datums for the window (since_micros, until_micros], stamped until_micros. Series without
// points in the window are left out.
StatusOr<std::vector<MetricDatum>> CloudWatchDatums(project::Project& project, int64_t since_micros,
                                                    int64_t until_micros);

// What is waiting to be pushed: the window since the previous push (after flushing this
// process's registry) up to now.
struct PendingDatums {
  std::vector<MetricDatum> datums;
  int64_t since_micros = 0;  // the cursor (0: never pushed)
  int64_t until_micros = 0;
};
StatusOr<PendingDatums> PendingCloudWatchDatums(project::Project& project);
// Moves the cursor to `until_micros`; call after PutMetricData succeeded.
Status MarkCloudWatchPushed(project::Project& project, int64_t until_micros);

struct CloudWatchPushSummary {
  size_t datums = 0;                           // datums sent
  int64_t since_micros = 0, until_micros = 0;  // the window they cover
  std::string ns;                              // the CloudWatch namespace
  std::string destination;                     // "region us-east-1", or the endpoint URL
};
// Sends the pending datums and moves the cursor (nothing sent when nothing is new; the cursor
// still moves). `client` null: a default HttpClient. A failed call leaves the cursor where it
// was, so the next push sends the window again (PutMetricData's error says how much was stored).
StatusOr<CloudWatchPushSummary> PushMetricsToCloudWatch(project::Project& project,
                                                        net::HttpClient* client = nullptr);

}  // namespace watershed::observe
