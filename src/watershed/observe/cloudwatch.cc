// observe/cloudwatch.cc — PutMetricData in batches. See cloudwatch.h.
#include "watershed/observe/cloudwatch.h"

#include <cmath>

#include "watershed/base/columns.h"

namespace watershed::observe {
namespace {

constexpr size_t kMaxDatumsPerCall = 1000;
constexpr size_t kMaxBodyBytes = 1000 * 1000;  // below the 1 MB request limit
constexpr size_t kMaxDimensions = 30;

// Bytes a datum adds to the form body (close upper bound; names are percent-encoded).
size_t DatumBytes(const MetricDatum& d) {
  size_t bytes = 120 + 3 * (d.name.size() + d.unit.size());
  for (const auto& [name, value] : d.dimensions) bytes += 90 + 3 * (name.size() + value.size());
  return bytes;
}

std::string FormatValue(double value) { return fmt::format("{}", value); }

}  // namespace

net::AwsQueryParams PutMetricDataParams(const std::string& ns,
                                            const std::vector<MetricDatum>& data) {
  net::AwsQueryParams params = {{"Namespace", ns}};
  for (size_t i = 0; i < data.size(); ++i) {
    const MetricDatum& d = data[i];
    const std::string prefix = StrCat("MetricData.member.", i + 1, ".");
    params.emplace_back(prefix + "MetricName", d.name);
    size_t k = 1;
    for (const auto& [name, value] : d.dimensions) {
      params.emplace_back(StrCat(prefix, "Dimensions.member.", k, ".Name"), name);
      params.emplace_back(StrCat(prefix, "Dimensions.member.", k, ".Value"), value);
      ++k;
    }
    params.emplace_back(prefix + "Value", FormatValue(d.value));
    params.emplace_back(prefix + "Unit", d.unit.empty() ? "None" : d.unit);
    if (d.timestamp_micros != 0) {
      params.emplace_back(prefix + "Timestamp", IsoUtc(d.timestamp_micros / 1000 * 1000));
    }
  }
  return params;
}

Status PutMetricData(net::HttpClient& client, const net::AwsConfig& aws,
                     const std::string& ns, const std::vector<MetricDatum>& data) {
  const std::string what = StrCat("cloudwatch PutMetricData ", ns);
  auto invalid = [&](size_t i, std::string_view why) {
    return Status(absl::StatusCode::kInvalidArgument, StrCat(what, ": datum ", i, ": ", why));
  };
  if (ns.empty() || ns.starts_with("AWS/") || ns.size() > 255) {
    return Status(absl::StatusCode::kInvalidArgument,
                  StrCat(what, ": namespace must be 1..255 characters and not start with AWS/"));
  }
  for (size_t i = 0; i < data.size(); ++i) {
    const MetricDatum& d = data[i];
    if (d.name.empty() || d.name.size() > 255) return invalid(i, "name must be 1..255 characters");
    if (!std::isfinite(d.value)) return invalid(i, StrCat(d.name, ": value is not finite"));
    if (d.dimensions.size() > kMaxDimensions) {
      return invalid(i, StrCat(d.name, ": more than 30 dimensions"));
    }
    for (const auto& [name, value] : d.dimensions) {
      if (name.empty() || value.empty()) {
        return invalid(i, StrCat(d.name, ": dimension names and values must not be empty"));
      }
    }
  }
  size_t begin = 0;
  while (begin < data.size()) {
    size_t end = begin;
    size_t bytes = 200 + ns.size() * 3;
    while (end < data.size() && end - begin < kMaxDatumsPerCall &&
           (end == begin || bytes + DatumBytes(data[end]) <= kMaxBodyBytes)) {
      bytes += DatumBytes(data[end]);
      ++end;
    }
    const std::vector<MetricDatum> batch(data.begin() + static_cast<std::ptrdiff_t>(begin),
                                         data.begin() + static_cast<std::ptrdiff_t>(end));
    StatusOr<std::string> answer =
        net::AwsQueryCall(client, aws, net::kCloudWatchService, "PutMetricData",
                              "2010-08-01", PutMetricDataParams(ns, batch));
    if (!answer.ok()) {
      return Annotate(answer.status(), StrCat("namespace ", ns, ", datums ", begin, "..", end - 1,
                                              " (", begin, " already stored)"));
    }
    begin = end;
  }
  return Status();
}

}  // namespace watershed::observe
