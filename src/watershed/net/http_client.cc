// net/http_client.cc — the libcurl adapter: one request, its retries and their
// classification. See http_client.h.
#include "watershed/net/http_client.h"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <limits>
#include <mutex>
#include <random>

#include "watershed/base/log.h"
#include "watershed/base/redact.h"

namespace watershed::net {
namespace {

constexpr size_t kMaxIdleHandles = 16;

void EnsureCurlGlobalInit() {
  static std::once_flag once;
  // Never paired with curl_global_cleanup: other threads may still hold handles at exit.
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// One seed per Send, so concurrent calls that fail together do not retry in lock step.
uint64_t CallSeed() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return engine();
}

// The query of `url` as [begin, end) offsets, without '?' and '#fragment' (begin == end when
// there is none).
std::pair<size_t, size_t> QuerySpan(std::string_view url) {
  size_t begin = url.find('?');
  if (begin == std::string_view::npos) return {url.size(), url.size()};
  size_t end = url.find('#', begin);
  if (end == std::string_view::npos) end = url.size();
  return {begin + 1, end};
}

// Values of secret query parameters and of a user-info password: registered and redacted
// wherever they appear, not only in their place in the URL.
void CollectUrlSecrets(std::string_view url, std::vector<std::string>& secrets) {
  auto [begin, end] = QuerySpan(url);
  std::string_view query = url.substr(begin, end - begin);
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view param = query.substr(0, amp);
    size_t eq = param.find('=');
    if (eq != std::string_view::npos && IsCredentialName(param.substr(0, eq)) &&
        eq + 1 < param.size()) {
      secrets.emplace_back(param.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return;
  std::string_view authority = url.substr(scheme + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return;
  std::string_view userinfo = authority.substr(0, at);
  size_t colon = userinfo.find(':');
  if (colon != std::string_view::npos && colon + 1 < userinfo.size()) {
    secrets.emplace_back(userinfo.substr(colon + 1));
  }
}

// `text` with every one of `secrets` (sorted longest first) and every registered secret
// replaced by "***".
std::string Redact(std::string_view text, const std::vector<std::string>& secrets) {
  std::string out(text);
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    size_t pos = 0;
    while ((pos = out.find(secret, pos)) != std::string::npos) {
      out.replace(pos, secret.size(), kRedacted);
      pos += kRedacted.size();
    }
  }
  return RedactSecrets(out);
}

// What one attempt wrote: the body and the headers of the final response.
struct Transfer {
  std::string body;
  std::map<std::string, std::string> headers;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  static_cast<Transfer*>(user)->body.append(data, size * count);
  return size * count;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  std::string_view line = Trim(std::string_view(data, size * count));
  if (line.starts_with("HTTP/")) {
    transfer->headers.clear();  // a new response (after 100 Continue): keep only the last one
  } else if (size_t colon = line.find(':'); colon != std::string_view::npos && colon > 0) {
    std::string name = ToLower(Trim(line.substr(0, colon)));
    std::string_view value = Trim(line.substr(colon + 1));
    auto [it, inserted] = transfer->headers.try_emplace(std::move(name), value);
    if (!inserted) it->second.append(", ").append(value);  // repeated header: join (RFC 9110)
  }
  return size * count;
}

// The Status code of a failed transfer; kInvalidArgument means "do not retry".
absl::StatusCode ClassifyCurlError(CURLcode code) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return absl::StatusCode::kDeadlineExceeded;
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_BAD_CONTENT_ENCODING:  // a gzip stream cut short
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return absl::StatusCode::kUnavailable;
    default:
      return absl::StatusCode::kInvalidArgument;
  }
}

long TimeoutMillis(absl::Duration d) {
  if (d <= absl::ZeroDuration() || d == absl::InfiniteDuration()) return 0;  // 0: no timeout
  return static_cast<long>(
      std::clamp<int64_t>(absl::ToInt64Milliseconds(d), 1, std::numeric_limits<int32_t>::max()));
}

bool HasLineBreak(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

// Appends `line` to `list`; false when curl is out of memory.
bool Append(Slist& list, const std::string& line) {
  curl_slist* grown = curl_slist_append(list.get(), line.c_str());
  if (grown == nullptr) return false;
  list.release();
  list.reset(grown);
  return true;
}

}  // namespace

// Idle easy handles. Taking one gives the caller sole use of it; returning it resets its
// options but keeps its connection, DNS and TLS-session caches for the next call.
class HttpClient::HandlePool {
 public:
  HandlePool() = default;
  HandlePool(const HandlePool&) = delete;
  HandlePool& operator=(const HandlePool&) = delete;
  ~HandlePool() {
    for (CURL* handle : idle_) curl_easy_cleanup(handle);
  }

  CURL* Take() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!idle_.empty()) {
        CURL* handle = idle_.back();
        idle_.pop_back();
        return handle;
      }
    }
    return curl_easy_init();
  }

  void Give(CURL* handle) {
    curl_easy_reset(handle);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (idle_.size() < kMaxIdleHandles) {
        idle_.push_back(handle);
        return;
      }
    }
    curl_easy_cleanup(handle);
  }

 private:
  std::mutex mu_;
  std::vector<CURL*> idle_;  // guarded by mu_
};

HttpClient::HttpClient(HttpClientOptions options)
    : options_(std::move(options)), handles_(std::make_unique<HandlePool>()) {
  EnsureCurlGlobalInit();
  if (options_.clock == nullptr) options_.clock = Clock::Real();
  for (const std::string& name : options_.secret_headers) {
    secret_header_names_.push_back(ToLower(Trim(name)));
  }
}

HttpClient::~HttpClient() = default;

bool HttpClient::IsSecretHeader(std::string_view name) const {
  if (IsCredentialName(Trim(name))) return true;
  std::string lower = ToLower(Trim(name));
  return std::find(secret_header_names_.begin(), secret_header_names_.end(), lower) !=
         secret_header_names_.end();
}

StatusOr<HttpResponse> HttpClient::Send(const HttpRequest& request) {
  // Secrets first, before anything can print them.
  std::vector<std::string> secrets;
  for (const auto& [name, value] : request.headers) {
    if (IsSecretHeader(name) && !Trim(value).empty()) {
      secrets.emplace_back(value);
      secrets.emplace_back(Trim(value));
    }
  }
  CollectUrlSecrets(request.url, secrets);
  const bool aws_signed = !request.aws_sigv4.empty();
  if (aws_signed) {
    if (!request.aws_credentials.secret_access_key.empty()) {
      secrets.push_back(request.aws_credentials.secret_access_key);
    }
    if (!request.aws_credentials.session_token.empty()) {
      secrets.push_back(request.aws_credentials.session_token);
    }
  }
  for (const std::string& secret : secrets) RegisterSecret(secret);
  std::sort(secrets.begin(), secrets.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });

  const std::string method = [&] {
    std::string upper(request.method);
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return upper;
  }();
  // "GET https://host/path?user_key=***": how every message names this request.
  const std::string what = Redact(StrCat(method, " ", RedactUrl(request.url)), secrets);
  auto fail = [&](absl::StatusCode code, std::string_view detail) {
    return Status(code, Redact(StrCat(what, ": ", detail), secrets));
  };

  if (method != "GET" && method != "POST" && method != "PUT" && method != "DELETE" &&
      method != "HEAD") {
    return fail(absl::StatusCode::kInvalidArgument,
                "unsupported method (GET, POST, PUT, DELETE or HEAD)");
  }
  const bool sends_body = method == "POST" || method == "PUT";
  if (aws_signed) {
    const AwsCredentials& credentials = request.aws_credentials;
    if (!request.aws_sigv4.starts_with("aws:amz:") || HasLineBreak(request.aws_sigv4)) {
      return fail(
          absl::StatusCode::kInvalidArgument,
          StrCat("aws_sigv4 must look like aws:amz:REGION:SERVICE, not '", request.aws_sigv4, "'"));
    }
    if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
      return fail(absl::StatusCode::kInvalidArgument,
                  "AWS signing needs an access key id and a secret access key");
    }
    if (HasLineBreak(credentials.access_key_id) ||
        credentials.access_key_id.find(':') != std::string::npos ||
        HasLineBreak(credentials.session_token)) {
      return fail(absl::StatusCode::kInvalidArgument,
                  "AWS access key id or session token has a line break or ':'");
    }
  }
  Slist header_list;
  bool has_content_type = false;
  bool has_content_sha = false;
  for (const auto& [name, value] : request.headers) {
    if (name.empty() || HasLineBreak(name) || name.find(':') != std::string::npos) {
      return fail(absl::StatusCode::kInvalidArgument, "invalid header name");
    }
    if (HasLineBreak(value)) {  // would smuggle extra headers; never print the value
      return fail(absl::StatusCode::kInvalidArgument,
                  StrCat("header ", name, " has a line break in its value"));
    }
    if (ToLower(name) == "content-type") has_content_type = true;
    if (ToLower(name) == "x-amz-content-sha256") has_content_sha = true;
    // "Name;" is curl's spelling of a header with an empty value ("Name:" would remove it).
    if (!Append(header_list, value.empty() ? StrCat(name, ";") : StrCat(name, ": ", value))) {
      return fail(absl::StatusCode::kInternal, "out of memory building headers");
    }
  }
  if (sends_body) {
    const char* content_type =
        method == "POST" ? "Content-Type: application/json" : "Content-Type: application/octet-stream";
    if (!has_content_type && !Append(header_list, content_type)) {
      return fail(absl::StatusCode::kInternal, "out of memory building headers");
    }
    // No "Expect: 100-continue" round trip for large bodies. Not when signing: curl would sign
    // the removed header without sending it, and the signature would not match.
    if (!aws_signed && !Append(header_list, "Expect:")) {
      return fail(absl::StatusCode::kInternal, "out of memory building headers");
    }
  }
  if (aws_signed) {
    // S3 refuses a signed request without it; every other service accepts it.
    if (!has_content_sha &&
        !Append(header_list, StrCat("x-amz-content-sha256: ", Sha256Hex(request.body)))) {
      return fail(absl::StatusCode::kInternal, "out of memory building headers");
    }
    if (!request.aws_credentials.session_token.empty() &&
        !Append(header_list,
                StrCat("X-Amz-Security-Token: ", request.aws_credentials.session_token))) {
      return fail(absl::StatusCode::kInternal, "out of memory building headers");
    }
  }

  // Declared before the handle guard: the handle points at them until it is reset.
  Transfer transfer;
  char error_buffer[CURL_ERROR_SIZE];
  CURL* curl = handles_->Take();
  if (curl == nullptr) return fail(absl::StatusCode::kInternal, "curl_easy_init failed");
  struct HandleReturn {
    HandlePool* pool;
    CURL* handle;
    ~HandleReturn() { pool->Give(handle); }
  } handle_return{handles_.get(), curl};

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  // Measured against the emulator: brotli costs the server ~1.5 s per 1.7 MB page, gzip ~25 ms.
  if (options_.accept_gzip) curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "gzip");
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, TimeoutMillis(options_.connect_timeout));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, TimeoutMillis(options_.request_timeout));
  curl_easy_setopt(curl, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list.get());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  if (aws_signed) {
    // Reset when the handle goes back to the pool (curl_easy_reset), so no later call inherits
    // the credentials.
    curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, request.aws_sigv4.c_str());
    curl_easy_setopt(curl, CURLOPT_USERNAME, request.aws_credentials.access_key_id.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, request.aws_credentials.secret_access_key.c_str());
  }
  if (sends_body) {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    if (method == "PUT") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "PUT");
  } else if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    if (method == "DELETE") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "DELETE");
  }

  const RetryPolicy& policy = options_.retry;
  const int max_attempts = std::max(1, policy.max_attempts);
  const uint64_t seed = CallSeed();
  Status last;  // the last transient failure, message without `what`
  for (int attempt = 1;; ++attempt) {
    if (options_.rate_limiter != nullptr) options_.rate_limiter->Acquire();
    stats_.requests.fetch_add(1, std::memory_order_relaxed);
    transfer = Transfer();
    error_buffer[0] = '\0';
    const CURLcode code = curl_easy_perform(curl);
    stats_.bytes.fetch_add(transfer.body.size(), std::memory_order_relaxed);

    std::optional<absl::Duration> retry_after;
    if (code != CURLE_OK) {
      std::string text = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
      const absl::StatusCode status_code = ClassifyCurlError(code);
      text = StrCat(text, " (curl error ", static_cast<int>(code), ")");
      if (status_code == absl::StatusCode::kInvalidArgument) return fail(status_code, text);
      last = Status(status_code, text);
    } else {
      long http_status = 0;
      curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http_status);
      const bool throttled = http_status == 429;
      const bool server_error =
          http_status == 500 || http_status == 502 || http_status == 503 || http_status == 504;
      if (!throttled && !server_error) {
        HttpResponse response;
        response.status = static_cast<int>(http_status);
        response.body = std::move(transfer.body);
        response.headers = std::move(transfer.headers);
        response.attempts = attempt;
        return response;
      }
      if (throttled) stats_.throttled.fetch_add(1, std::memory_order_relaxed);
      last =
          Status(throttled ? absl::StatusCode::kResourceExhausted : absl::StatusCode::kUnavailable,
                 StrCat("HTTP ", static_cast<int>(http_status)));
      if (auto it = transfer.headers.find("retry-after"); it != transfer.headers.end()) {
        retry_after = ParseRetryAfter(it->second, options_.clock->Now());
      }
    }

    if (attempt >= max_attempts) {
      return fail(last.code(), StrCat(MessageOf(last), " after ", attempt,
                                      attempt == 1 ? " attempt" : " attempts"));
    }
    absl::Duration wait = policy.Backoff(attempt, seed);
    if (retry_after.has_value()) wait = std::min(*retry_after, policy.max_backoff * 2);
    stats_.retries.fetch_add(1, std::memory_order_relaxed);
    LogWarn("http attempt failed, retrying", {{"request", what},
                                              {"attempt", StrCat(attempt, "/", max_attempts)},
                                              {"error", Redact(MessageOf(last), secrets)},
                                              {"wait", absl::FormatDuration(wait)}});
    options_.clock->SleepFor(wait);
  }
}

std::optional<absl::Duration> ParseRetryAfter(std::string_view value, absl::Time now) {
  value = Trim(value);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(),
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    if (value.size() > 9) return absl::Seconds(999999999);  // absurd, the caller caps it
    int64_t seconds = 0;
    for (char c : value) seconds = seconds * 10 + (c - '0');
    return absl::Seconds(seconds);
  }
  if (!std::isalpha(static_cast<unsigned char>(value.front()))) return std::nullopt;
  const std::string text(value);
  const time_t when = curl_getdate(text.c_str(), nullptr);
  if (when == -1) return std::nullopt;
  return std::max(absl::ZeroDuration(), absl::FromTimeT(when) - now);
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

}  // namespace watershed::net
