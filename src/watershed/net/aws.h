// net/aws.h — calling AWS services over HttpClient: configuration, the two wire
// protocols Watershed needs, and AWS errors as Status.
//
// Owns: AwsConfig (region, endpoint, credentials; from a YAML node with the standard AWS_*
// environment variables as fallback), the JSON 1.1 protocol (POST /, X-Amz-Target,
// application/x-amz-json-1.1: Kinesis) and the query protocol (POST /, form-encoded
// Action=...&Version=...: CloudWatch, IAM), both SigV4-signed through HttpClient, and the mapping
// of AWS error answers (JSON "__type"/"message" or XML <Code>/<Message>) to Status:
//   throttling (…Throttl…, ProvisionedThroughputExceeded, LimitExceeded, RequestLimitExceeded,
//               SlowDown)                                          -> kResourceExhausted
//   SignatureDoesNotMatch, InvalidClientTokenId, UnrecognizedClient, AccessDenied…, ExpiredToken,
//   IncompleteSignature, MissingAuthenticationToken                 -> kPermissionDenied
//   ResourceNotFound…, NotFound…, NoSuch…                           -> kNotFound
//   ExpiredIterator…, ResourceInUse…                                -> kFailedPrecondition
//   HTTP 5xx that HttpClient does not retry                         -> kUnavailable
//   any other 4xx                                                   -> kInvalidArgument
// Messages read "kinesis GetRecords: ExpiredIteratorException: Iterator expired"; the AWS code
// is also attached to the Status (AwsErrorCode). Secrets never reach messages or logs.
// Does not own: what a service's calls mean (sources/events/kinesis.h, observe/cloudwatch.h).
// Thread safety: functions are thread-safe (HttpClient is); AwsConfig is a value.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "watershed/base/config.h"
#include "watershed/base/status.h"
#include "watershed/net/http_client.h"
#include "yaml-cpp/yaml.h"

namespace watershed::net {

class CredentialProvider;  // net/aws_credentials.h

struct AwsConfig {
  std::string region;    // "eu-west-1"
  std::string endpoint;  // "http://127.0.0.1:PORT"; empty = the service's AWS endpoint
  std::string access_key_id;
  std::string secret_access_key;  // secret
  std::string session_token;      // optional; secret
  // Set when the credentials come from the AWS chain instead (a profile of ~/.aws, a role to
  // assume, EKS web identity): each call takes its current ones, so temporary credentials are
  // refreshed before they expire. Shared by copies of the config.
  std::shared_ptr<CredentialProvider> provider;

  // `endpoint` without a trailing '/', or "https://PREFIX.REGION.amazonaws.com"
  // ("https://iam.amazonaws.com" for the global IAM).
  std::string EndpointFor(std::string_view endpoint_prefix) const;
};

// Reads `node` (a map; missing or null = all from the environment):
//   region: eu-west-1                 # else $AWS_REGION, else $AWS_DEFAULT_REGION
//   endpoint: http://127.0.0.1:4566   # else $AWS_ENDPOINT_URL, else the AWS endpoint
//   access_key_id: AKIA...            # else $AWS_ACCESS_KEY_ID
//   secret_access_key: ...            # else $AWS_SECRET_ACCESS_KEY
//   session_token: ...                # else $AWS_SESSION_TOKEN (optional)
//   profile: etl                      # else $AWS_PROFILE: a profile of ~/.aws/credentials, config
//   role_arn: arn:aws:iam::1:role/x   # assumed (STS) on top of the credentials found
// Keys and secret are taken together: from the node when it names access_key_id, else from the
// environment; without either (or with profile/role_arn), from the rest of the AWS chain
// (net/aws_credentials.h: profiles, role_arn + source_profile, web identity), kept in
// `provider`. Other keys are ignored (a stream's settings map holds the source's own keys
// beside these). Missing region or credentials, a non-scalar value or an endpoint that is not
// http(s)://: kInvalidArgument naming what is wrong (never a secret). The secret and token are
// registered with the logger at once.
StatusOr<AwsConfig> AwsConfigFromYaml(const YAML::Node& node, const EnvLookup& getenv = RealGetenv);

// One AWS service: its name in messages, its SigV4 signing name and its endpoint prefix.
struct AwsService {
  std::string_view name;             // "kinesis", "cloudwatch"
  std::string_view signing_name;     // "kinesis", "monitoring"
  std::string_view endpoint_prefix;  // "kinesis", "monitoring"
};
inline constexpr AwsService kKinesisService{"kinesis", "kinesis", "kinesis"};
inline constexpr AwsService kCloudWatchService{"cloudwatch", "monitoring", "monitoring"};
inline constexpr AwsService kIamService{"iam", "iam", "iam"};

// JSON 1.1 protocol: POSTs `json_body` with X-Amz-Target `target_prefix`.`action`
// ("Kinesis_20131202", "GetRecords") and returns the response body (JSON) of a 2xx answer, or
// the mapped error "kinesis GetRecords: <Code>: <message>".
StatusOr<std::string> AwsJsonCall(HttpClient& client, const AwsConfig& config,
                                  const AwsService& service, std::string_view target_prefix,
                                  std::string_view action, std::string_view json_body);

using AwsQueryParams = std::vector<std::pair<std::string, std::string>>;

// Query protocol: POSTs Action=`action`&Version=`version`&<params, percent-encoded> and returns
// the response body (XML) of a 2xx answer, or the mapped error.
StatusOr<std::string> AwsQueryCall(HttpClient& client, const AwsConfig& config,
                                   const AwsService& service, std::string_view action,
                                   std::string_view version, const AwsQueryParams& params);

// The AWS error code attached to a Status returned by the calls above ("" when none).
std::string AwsErrorCode(const Status& status);

// The text of every <tag>…</tag> element in `xml`, in document order, with the five XML
// entities and numeric character references decoded. Enough for AWS query-protocol answers
// (no namespaces prefixes, no CDATA).
std::vector<std::string> XmlElementTexts(std::string_view xml, std::string_view tag);

// The Status for an AWS error answer (exposed for tests): `what` is "kinesis GetRecords".
Status AwsErrorStatus(std::string_view what, int http_status, std::string_view body);

}  // namespace watershed::net
