// observe/cloudwatch_push.cc — the window of metrics since the last push, sent to CloudWatch.
// See cloudwatch_push.h.
#include "watershed/observe/cloudwatch_push.h"

#include <cmath>
#include <cstdlib>

#include "watershed/base/columns.h"
#include "watershed/observe/metric_store.h"
#include "watershed/observe/metrics.h"

namespace watershed::observe {
namespace {

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

StatusOr<std::vector<MetricDatum>> CloudWatchDatums(project::Project& project, int64_t since_micros,
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

StatusOr<PendingDatums> PendingCloudWatchDatums(project::Project& project) {
  WS_RETURN_IF_ERROR(FlushMetrics(project));
  WS_ASSIGN_OR_RETURN(lake::Catalog * catalog, project.catalog());
  WS_ASSIGN_OR_RETURN(auto cursor, catalog->GetCursor("metrics", "cloudwatch_pushed_micros"));
  int64_t since = 0;
  if (cursor) since = std::strtoll(cursor->c_str(), nullptr, 10);
  const int64_t until = NowMicros();
  WS_ASSIGN_OR_RETURN(auto datums, CloudWatchDatums(project, since, until));
  return PendingDatums{std::move(datums), since, until};
}

Status MarkCloudWatchPushed(project::Project& project, int64_t until_micros) {
  WS_ASSIGN_OR_RETURN(lake::Catalog * catalog, project.catalog());
  return catalog->SetCursor("metrics", "cloudwatch_pushed_micros", std::to_string(until_micros));
}

StatusOr<CloudWatchPushSummary> PushMetricsToCloudWatch(project::Project& project,
                                                        net::HttpClient* client) {
  const YAML::Node cw = project.config().raw["metrics"]["cloudwatch"];
  WS_ASSIGN_OR_RETURN(net::AwsConfig aws, net::AwsConfigFromYaml(cw ? cw : YAML::Node()));
  CloudWatchPushSummary summary;
  summary.ns = cw && cw["namespace"] ? cw["namespace"].as<std::string>() : "Watershed";
  summary.destination = aws.endpoint.empty() ? StrCat("region ", aws.region) : aws.endpoint;
  WS_ASSIGN_OR_RETURN(PendingDatums pending, PendingCloudWatchDatums(project));
  if (!pending.datums.empty()) {
    std::unique_ptr<net::HttpClient> own;
    if (client == nullptr) {
      own = std::make_unique<net::HttpClient>(net::HttpClientOptions{});
      client = own.get();
    }
    WS_RETURN_IF_ERROR(PutMetricData(*client, aws, summary.ns, pending.datums));
  }
  WS_RETURN_IF_ERROR(MarkCloudWatchPushed(project, pending.until_micros));
  summary.datums = pending.datums.size();
  summary.since_micros = pending.since_micros;
  summary.until_micros = pending.until_micros;
  return summary;
}

}  // namespace watershed::observe
