// net/sigv4.h — AWS Signature Version 4 for requests whose path and query Watershed builds
// itself (S3 and STS).
//
// Owns: the canonical request (method, URI-encoded path kept as sent — S3 does not normalise or
// double-encode it —, the query parameters decoded, re-encoded with AWS's rules and sorted, every
// header of the request plus `host`, lower-cased and sorted, and the payload's SHA-256), the
// string to sign and the signing key (HMAC-SHA256 chain over date, region, service,
// "aws4_request"). SignV4 adds `x-amz-date`, `x-amz-content-sha256`, `x-amz-security-token`
// (with a session token) and `Authorization` to the request. libcurl's own signer (used for the
// POST-only JSON and query protocols, net/aws.h) sorts no query and mangles encoded paths in the
// libcurl of this Debian, which S3 refuses.
// Does not own: sending (net/http_client.h), credentials (net/aws_credentials.h).
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "watershed/base/status.h"
#include "watershed/net/http_client.h"

namespace watershed::net {

// AWS's URI encoding: every byte but A-Z a-z 0-9 - _ . ~ as %XX (upper case); '/' kept unless
// `encode_slash`.
std::string AwsUriEncode(std::string_view s, bool encode_slash);

// Signs `request` (its url, method, headers) for `region` and `service` ("s3", "sts") at `now`.
// `payload_sha256` is the hex SHA-256 of the body, or "UNSIGNED-PAYLOAD"; empty = computed from
// request.body. The request's aws_sigv4 must be empty (this replaces libcurl's signer).
// kInvalidArgument when the URL has no scheme or host or the credentials lack a key or secret.
Status SignV4(HttpRequest& request, const AwsCredentials& credentials, std::string_view region,
              std::string_view service, absl::Time now, std::string_view payload_sha256 = "");

}  // namespace watershed::net
