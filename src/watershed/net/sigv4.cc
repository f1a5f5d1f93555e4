// net/sigv4.cc — see sigv4.h.
#include "watershed/net/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "watershed/base/strings.h"

namespace watershed::net {
namespace {

std::string Hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &length);
  return std::string(reinterpret_cast<char*>(out), length);
}

std::string Hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Header values are trimmed and inner runs of spaces collapse to one.
std::string CanonicalValue(std::string_view v) {
  v = Trim(v);
  std::string out;
  for (char c : v) {
    if (c == ' ' && !out.empty() && out.back() == ' ') continue;
    out.push_back(c);
  }
  return out;
}

}  // namespace

std::string AwsUriEncode(std::string_view s, bool encode_slash) {
  return PercentEncode(s, encode_slash ? "-_.~" : "-_.~/");
}

Status SignV4(HttpRequest& request, const AwsCredentials& credentials, std::string_view region,
              std::string_view service, absl::Time now, std::string_view payload_sha256) {
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
    return absl::InvalidArgumentError("AWS signing needs an access key id and a secret access key");
  }
  if (!request.aws_sigv4.empty()) {
    return absl::InvalidArgumentError("SignV4: the request already asks libcurl to sign it");
  }
  std::string_view url = request.url;
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return absl::InvalidArgumentError(StrCat("SignV4: URL without a scheme: ", url));
  }
  std::string_view rest = url.substr(scheme_end + 3);
  const size_t path_start = rest.find_first_of("/?");
  const std::string host(rest.substr(0, path_start));
  if (host.empty()) return absl::InvalidArgumentError(StrCat("SignV4: URL without a host: ", url));
  rest = path_start == std::string_view::npos ? std::string_view() : rest.substr(path_start);
  const size_t q = rest.find('?');
  std::string path(rest.substr(0, q));
  if (path.empty()) path = "/";
  const std::string_view query = q == std::string_view::npos ? "" : rest.substr(q + 1);

  std::vector<std::pair<std::string, std::string>> params;
  for (const std::string& part : Split(query, '&', false, true)) {
    const size_t eq = part.find('=');
    params.emplace_back(AwsUriEncode(PercentDecode(part.substr(0, eq)), true),
                        eq == std::string::npos
                            ? ""
                            : AwsUriEncode(PercentDecode(part.substr(eq + 1)), true));
  }
  std::sort(params.begin(), params.end());
  std::string canonical_query;
  for (const auto& [k, v] : params) {
    if (!canonical_query.empty()) canonical_query += '&';
    canonical_query += StrCat(k, "=", v);
  }

  const std::string hash =
      payload_sha256.empty() ? Sha256Hex(request.body) : std::string(payload_sha256);
  const std::string stamp = absl::FormatTime("%Y%m%dT%H%M%SZ", now, absl::UTCTimeZone());
  const std::string date = stamp.substr(0, 8);
  // Replace what an earlier signing (a retry) added.
  std::erase_if(request.headers, [](const auto& h) {
    const std::string n = Lower(h.first);
    return n == "authorization" || n == "x-amz-date" || n == "x-amz-content-sha256" ||
           n == "x-amz-security-token" || n == "host";
  });
  request.headers.emplace_back("x-amz-date", stamp);
  request.headers.emplace_back("x-amz-content-sha256", hash);
  if (!credentials.session_token.empty()) {
    request.headers.emplace_back("x-amz-security-token", credentials.session_token);
  }
  std::vector<std::pair<std::string, std::string>> headers;
  headers.emplace_back("host", host);
  for (const auto& [name, value] : request.headers) {
    headers.emplace_back(Lower(name), CanonicalValue(value));
  }
  std::sort(headers.begin(), headers.end());
  std::string canonical_headers, signed_headers;
  for (const auto& [name, value] : headers) {
    canonical_headers += StrCat(name, ":", value, "\n");
    if (!signed_headers.empty()) signed_headers += ';';
    signed_headers += name;
  }
  std::string method(request.method);
  for (char& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::string canonical_request = StrCat(method, "\n", path, "\n", canonical_query, "\n",
                                               canonical_headers, "\n", signed_headers, "\n", hash);
  const std::string scope = StrCat(date, "/", region, "/", service, "/aws4_request");
  const std::string to_sign =
      StrCat("AWS4-HMAC-SHA256\n", stamp, "\n", scope, "\n", Sha256Hex(canonical_request));
  std::string key = Hmac(StrCat("AWS4", credentials.secret_access_key), date);
  key = Hmac(key, region);
  key = Hmac(key, service);
  key = Hmac(key, "aws4_request");
  const std::string signature = Hex(Hmac(key, to_sign));
  request.headers.emplace_back(
      "Authorization", StrCat("AWS4-HMAC-SHA256 Credential=", credentials.access_key_id, "/", scope,
                              ", SignedHeaders=", signed_headers, ", Signature=", signature));
  return absl::OkStatus();
}

}  // namespace watershed::net
