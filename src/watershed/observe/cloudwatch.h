// observe/cloudwatch.h — publishing metrics to Amazon CloudWatch (PutMetricData).
//
// Owns: validating metric datums and sending them with the query protocol (Version
// 2010-08-01, signed with SigV4 through net/aws.h), split into calls within the API's
// limits: at most 1,000 datums and about 1 MB of request body per call, at most 30 dimensions
// per datum. A failed call stops the push: the datums of earlier calls are stored, later ones
// are not (the error says how many were sent).
// Does not own: which metrics exist or when they are pushed (callers), reading metrics back.
// Thread safety: PutMetricData is thread-safe (HttpClient is).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/net/aws.h"
#include "watershed/net/http_client.h"

namespace watershed::observe {

struct MetricDatum {
  std::string name;                               // "EventsWritten"
  std::map<std::string, std::string> dimensions;  // {"Stream": "clicks"}; at most 30
  double value = 0;                               // finite
  std::string unit = "None";                      // "Count", "Seconds", "Bytes", ... or "None"
  int64_t timestamp_micros = 0;                   // 0 = the time of the call (set by AWS)
};

// Sends `data` to namespace `ns`. Invalid input (empty namespace or name, a namespace starting
// with "AWS/", a non-finite value, more than 30 dimensions, an empty dimension name or value)
// fails with kInvalidArgument before anything is sent.
Status PutMetricData(net::HttpClient& client, const net::AwsConfig& aws,
                     const std::string& ns, const std::vector<MetricDatum>& data);

// The query parameters of one PutMetricData call for `data` (exposed for tests).
net::AwsQueryParams PutMetricDataParams(const std::string& ns,
                                            const std::vector<MetricDatum>& data);

}  // namespace watershed::observe
