// net/http_client.h — HTTP for sources: libcurl with retries, backoff and a rate limit.
//
// Owns: sending one request and classifying its outcome (status, headers, body), retrying the
// transient ones (429, 5xx, timeouts, connection resets, truncated bodies) with exponential
// backoff and jitter — honouring Retry-After when present — and waiting on a RateLimiter before
// every attempt. Values of headers named in `secret_headers` or whose name is a credential
// (base/redact.h IsCredentialName: Authorization, Cookie, X-Api-Key, ...) and of credential
// query parameters are sent but never appear in errors or logs; URLs in messages go through
// RedactUrl (base/redact.h).
// Optionally signs a request with AWS Signature Version 4 (libcurl computes the signature for
// every attempt, so retries carry a fresh date); the secret key and session token are secrets.
// This is the only file that wraps libcurl.
// Outcome mapping (per attempt):
//   curl timeout                                    -> kDeadlineExceeded, retried
//   refused / reset / send / recv / truncated body /
//   empty reply / DNS / TLS handshake               -> kUnavailable, retried
//   HTTP 429                                        -> kResourceExhausted, retried (Retry-After)
//   HTTP 500, 502, 503, 504                         -> kUnavailable, retried (Retry-After)
//   any other HTTP status                           -> returned as an HttpResponse
//   other curl errors (bad URL, unsupported scheme) -> kInvalidArgument at once
// Does not own: what the requests mean (sources/crunchbase/), JSON parsing.
// Thread safety: an HttpClient may be used by several threads at once (one curl handle per call,
// taken from a small pool of idle handles so connections and TLS sessions are reused).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "watershed/base/clock.h"
#include "watershed/base/retry.h"
#include "watershed/base/status.h"
#include "watershed/net/rate_limiter.h"

namespace watershed::net {

// Credentials for AWS Signature Version 4.
struct AwsCredentials {
  std::string access_key_id;      // "AKIA..."; not a secret, but never logged either
  std::string secret_access_key;  // secret
  std::string session_token;      // optional (temporary credentials); secret
};

struct HttpRequest {
  std::string method = "GET";                                // GET POST PUT DELETE HEAD
  std::string url;                                           // full URL
  std::vector<std::pair<std::string, std::string>> headers;  // sent as given
  std::string body;  // POST/PUT body (POST: JSON unless Content-Type says otherwise)
  // AWS SigV4 signing: "aws:amz:REGION:SERVICE" (libcurl's CURLOPT_AWS_SIGV4 syntax), empty =
  // unsigned. A signed request also carries "x-amz-content-sha256: <hex SHA-256 of the body>"
  // (unless the request sets that header itself) and, with a session token,
  // "X-Amz-Security-Token"; both are signed. Signed POSTs keep curl's own Expect handling.
  std::string aws_sigv4;
  AwsCredentials aws_credentials;  // used only when aws_sigv4 is set; key id and secret required
};

struct HttpResponse {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  int attempts = 0;                            // attempts this call took
};

struct HttpClientOptions {
  RetryPolicy retry{.max_attempts = 8,
                    .initial_backoff = absl::Milliseconds(250),
                    .multiplier = 2.0,
                    .max_backoff = absl::Seconds(30),
                    .jitter = 0.3};
  absl::Duration connect_timeout = absl::Seconds(10);
  absl::Duration request_timeout = absl::Seconds(60);
  // Header names whose values are secrets beyond those IsCredentialName recognises: sent, never
  // printed.
  std::vector<std::string> secret_headers;
  RateLimiter* rate_limiter = nullptr;  // not owned; nullptr = no limit
  Clock* clock = nullptr;               // nullptr = Clock::Real(); used for backoff sleeps
  std::string user_agent = "watershed/0.1";
  // Offer gzip (Accept-Encoding). Off by default: on loopback and at 200 requests/minute the
  // server's compression costs more time than the smaller transfer saves.
  bool accept_gzip = false;
};

// Counters for progress lines and metrics (all calls on this client).
struct HttpStats {
  std::atomic<uint64_t> requests{0};  // attempts sent
  std::atomic<uint64_t> retries{0};
  std::atomic<uint64_t> throttled{0};  // 429 answers
  std::atomic<uint64_t> bytes{0};      // body bytes received (decoded), every attempt
};

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options);
  ~HttpClient();

  // Sends `request`, retrying transient failures. Returns the final response for any status
  // that is not retried (2xx, 3xx — redirects are not followed — and 4xx other than 429: the
  // caller decides what they mean), or an error: kUnavailable / kDeadlineExceeded /
  // kResourceExhausted after the retries ran out, e.g. "GET https://h/p?user_key=***: HTTP 503
  // after 8 attempts" (method, URL without secrets, last status or curl error, attempts).
  // Between attempts it sleeps on options.clock for the policy's back-off (seeded per call), or
  // for Retry-After (429/5xx; capped at 2 * max_backoff) when the server sent one.
  // Invalid requests (method other than GET/POST/PUT/DELETE/HEAD, a header with a line break, a bad URL or
  // scheme, aws_sigv4 without a key id or secret) fail with kInvalidArgument and are not
  // retried. POST bodies are sent with "Content-Type: application/json" and PUT bodies with
  // "application/octet-stream" unless the request sets its own.
  StatusOr<HttpResponse> Send(const HttpRequest& request);

  const HttpStats& stats() const { return stats_; }

 private:
  class HandlePool;  // idle curl easy handles, defined in http_client.cc

  bool IsSecretHeader(std::string_view name) const;

  HttpClientOptions options_;
  std::vector<std::string> secret_header_names_;  // lower-cased options_.secret_headers
  HttpStats stats_;
  std::unique_ptr<HandlePool> handles_;
};

// The wait a Retry-After header asks for: delay-seconds ("120") or an HTTP-date ("Wed, 21 Oct
// 2015 07:28:00 GMT", measured from `now`; a past date means zero). nullopt when unparseable.
std::optional<absl::Duration> ParseRetryAfter(std::string_view value, absl::Time now);

// Lower-case hex SHA-256 of `data` (the x-amz-content-sha256 value).
std::string Sha256Hex(std::string_view data);

}  // namespace watershed::net
