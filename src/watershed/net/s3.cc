// net/s3.cc — see s3.h.
#include "watershed/net/s3.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdlib>

#include "absl/strings/escaping.h"
#include "absl/time/clock.h"
#include "watershed/base/strings.h"
#include "watershed/net/aws.h"
#include "watershed/net/sigv4.h"

namespace watershed::net {
namespace {

constexpr size_t kDeleteBatch = 1000;

// The raw inner text of every <tag>...</tag> (not decoded: for nested elements).
std::vector<std::string_view> Blocks(std::string_view xml, std::string_view tag) {
  std::vector<std::string_view> out;
  const std::string open = StrCat("<", tag, ">"), close = StrCat("</", tag, ">");
  for (size_t pos = xml.find(open); pos != std::string_view::npos; pos = xml.find(open, pos)) {
    const size_t start = pos + open.size();
    const size_t end = xml.find(close, start);
    if (end == std::string_view::npos) break;
    out.push_back(xml.substr(start, end - start));
    pos = end + close.size();
  }
  return out;
}

std::string First(std::string_view xml, std::string_view tag) {
  std::vector<std::string> v = XmlElementTexts(xml, tag);
  return v.empty() ? "" : v.front();
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// ListObjectsV2 with encoding-type=url answers keys percent-encoded ('+' for a space).
std::string UrlDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexDigit(s[i + 1]) >= 0 && HexDigit(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexDigit(s[i + 1]) * 16 + HexDigit(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

int64_t ParseIsoTime(const std::string& text) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &err)) return 0;
  return absl::ToUnixSeconds(t);
}

std::string Unquote(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}

}  // namespace

std::string ContentMd5(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_md5(), nullptr);
  return absl::Base64Escape(absl::string_view(reinterpret_cast<char*>(digest), length));
}

StatusOr<S3Url> ParseS3Url(std::string_view url) {
  if (!url.starts_with("s3://")) {
    return absl::InvalidArgumentError(StrCat("'", url, "' is not an s3:// URL"));
  }
  std::string_view rest = url.substr(5);
  const size_t slash = rest.find('/');
  S3Url out;
  out.bucket = std::string(rest.substr(0, slash));
  std::string_view prefix = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  while (prefix.ends_with('/')) prefix.remove_suffix(1);
  out.prefix = std::string(prefix);
  const bool bucket_ok =
      out.bucket.size() >= 3 && out.bucket.size() <= 63 &&
      std::all_of(out.bucket.begin(), out.bucket.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
      });
  if (!bucket_ok) {
    return absl::InvalidArgumentError(
        StrCat("'", url, "': '", out.bucket,
               "' is not a bucket name (3-63 characters: lower-case letters, digits, '-', '.')"));
  }
  if (out.prefix.find("//") != std::string::npos || out.prefix.find("..") != std::string::npos) {
    return absl::InvalidArgumentError(StrCat("'", url, "': the prefix has '//' or '..'"));
  }
  return out;
}

S3Client::S3Client(std::string bucket, std::string region, std::string endpoint, HttpClient& http,
                   CredentialProvider& credentials)
    : bucket_(std::move(bucket)),
      region_(std::move(region)),
      endpoint_(std::move(endpoint)),
      http_(http),
      credentials_(credentials) {
  while (endpoint_.ends_with('/')) endpoint_.pop_back();
}

std::string S3Client::ObjectPath(const std::string& key) const {
  return StrCat("/", AwsUriEncode(key, false));
}

StatusOr<HttpResponse> S3Client::Call(std::string method, const std::string& path_and_query,
                                      std::vector<std::pair<std::string, std::string>> headers,
                                      std::string body, std::string_view what) {
  HttpRequest request;
  request.method = std::move(method);
  request.url = endpoint_.empty()
                    ? StrCat("https://", bucket_, ".s3.", region_, ".amazonaws.com", path_and_query)
                    : StrCat(endpoint_, "/", bucket_, path_and_query);
  request.headers = std::move(headers);
  request.body = std::move(body);
  const std::string label = StrCat("s3 ", what, " s3://", bucket_);
  WS_ASSIGN_OR_RETURN(AwsCredentials creds, credentials_.Get());
  WS_RETURN_IF_ERROR(Annotate(SignV4(request, creds, region_, "s3", absl::Now()), label));
  requests_.fetch_add(1);
  StatusOr<HttpResponse> response = http_.Send(request);
  if (!response.ok()) return Annotate(response.status(), label);
  if (response->status >= 300) {
    if (request.method == "HEAD" && response->status == 404) {
      return absl::NotFoundError(StrCat(label, ": NoSuchKey"));
    }
    return AwsErrorStatus(label, response->status, response->body);
  }
  return response;
}

Status S3Client::PutObject(const std::string& key, std::string_view bytes,
                           const std::map<std::string, std::string>& metadata,
                           bool only_if_absent) {
  std::vector<std::pair<std::string, std::string>> headers = {{"Content-MD5", ContentMd5(bytes)}};
  if (only_if_absent) headers.emplace_back("If-None-Match", "*");
  for (const auto& [k, v] : metadata) headers.emplace_back(StrCat("x-amz-meta-", k), v);
  return Call("PUT", ObjectPath(key), std::move(headers), std::string(bytes),
              StrCat("PutObject ", key))
      .status();
}

StatusOr<std::string> S3Client::CreateMultipartUpload(
    const std::string& key, const std::map<std::string, std::string>& metadata) {
  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& [k, v] : metadata) headers.emplace_back(StrCat("x-amz-meta-", k), v);
  const std::string what = StrCat("CreateMultipartUpload ", key);
  WS_ASSIGN_OR_RETURN(HttpResponse r,
                      Call("POST", StrCat(ObjectPath(key), "?uploads="), std::move(headers), "", what));
  std::string id = First(r.body, "UploadId");
  if (id.empty()) return absl::UnavailableError(StrCat("s3 ", what, ": no UploadId in the answer"));
  return id;
}

StatusOr<std::string> S3Client::UploadPart(const std::string& key, const std::string& upload_id,
                                           int part_number, std::string_view bytes) {
  const std::string what = StrCat("UploadPart ", key, " part ", part_number);
  WS_ASSIGN_OR_RETURN(
      HttpResponse r,
      Call("PUT",
           StrCat(ObjectPath(key), "?partNumber=", part_number,
                  "&uploadId=", AwsUriEncode(upload_id, true)),
           {{"Content-MD5", ContentMd5(bytes)}}, std::string(bytes), what));
  auto it = r.headers.find("etag");
  if (it == r.headers.end()) return absl::UnavailableError(StrCat("s3 ", what, ": no ETag"));
  return it->second;
}

Status S3Client::CompleteMultipartUpload(const std::string& key, const std::string& upload_id,
                                         const std::vector<std::string>& part_etags) {
  std::string body = "<CompleteMultipartUpload>";
  for (size_t i = 0; i < part_etags.size(); ++i) {
    body += StrCat("<Part><PartNumber>", i + 1, "</PartNumber><ETag>", part_etags[i],
                   "</ETag></Part>");
  }
  body += "</CompleteMultipartUpload>";
  const std::string what = StrCat("CompleteMultipartUpload ", key);
  WS_ASSIGN_OR_RETURN(HttpResponse r,
                      Call("POST", StrCat(ObjectPath(key), "?uploadId=", AwsUriEncode(upload_id, true)),
                           {{"Content-Type", "application/xml"}}, std::move(body), what));
  // S3 may answer 200 and report the failure in the body.
  if (r.body.find("<Error>") != std::string::npos) {
    return AwsErrorStatus(StrCat("s3 ", what), 500, r.body);
  }
  return absl::OkStatus();
}

Status S3Client::AbortMultipartUpload(const std::string& key, const std::string& upload_id) {
  StatusOr<HttpResponse> r =
      Call("DELETE", StrCat(ObjectPath(key), "?uploadId=", AwsUriEncode(upload_id, true)), {}, "",
           StrCat("AbortMultipartUpload ", key));
  if (!r.ok() && r.status().code() != absl::StatusCode::kNotFound) return r.status();
  return absl::OkStatus();
}

StatusOr<std::vector<S3Upload>> S3Client::ListMultipartUploads(const std::string& prefix) {
  std::vector<S3Upload> out;
  std::string key_marker, id_marker;
  for (;;) {
    std::string q = StrCat("/?uploads=&prefix=", AwsUriEncode(prefix, true));
    if (!key_marker.empty()) {
      q += StrCat("&key-marker=", AwsUriEncode(key_marker, true),
                  "&upload-id-marker=", AwsUriEncode(id_marker, true));
    }
    WS_ASSIGN_OR_RETURN(HttpResponse r, Call("GET", q, {}, "", "ListMultipartUploads"));
    for (std::string_view u : Blocks(r.body, "Upload")) {
      out.push_back({First(u, "Key"), First(u, "UploadId"), ParseIsoTime(First(u, "Initiated"))});
    }
    if (First(r.body, "IsTruncated") != "true") break;
    key_marker = First(r.body, "NextKeyMarker");
    id_marker = First(r.body, "NextUploadIdMarker");
    if (key_marker.empty()) break;
  }
  return out;
}

StatusOr<S3Head> S3Client::HeadObject(const std::string& key) {
  WS_ASSIGN_OR_RETURN(HttpResponse r,
                      Call("HEAD", ObjectPath(key), {}, "", StrCat("HeadObject ", key)));
  S3Head head;
  if (auto it = r.headers.find("content-length"); it != r.headers.end()) {
    head.size = std::strtoull(it->second.c_str(), nullptr, 10);
  }
  if (auto it = r.headers.find("etag"); it != r.headers.end()) head.etag = Unquote(it->second);
  for (const auto& [name, value] : r.headers) {
    if (name.starts_with("x-amz-meta-")) head.metadata[name.substr(11)] = value;
  }
  return head;
}

StatusOr<std::string> S3Client::GetObject(const std::string& key,
                                          std::optional<std::pair<uint64_t, uint64_t>> range) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (range) headers.emplace_back("Range", StrCat("bytes=", range->first, "-", range->second));
  WS_ASSIGN_OR_RETURN(HttpResponse r,
                      Call("GET", ObjectPath(key), std::move(headers), "", StrCat("GetObject ", key)));
  if (range && r.body.size() != range->second - range->first + 1) {
    return absl::UnavailableError(StrCat("s3 GetObject ", key, ": asked bytes ", range->first, "-",
                                         range->second, ", got ", r.body.size()));
  }
  return std::move(r.body);
}

StatusOr<std::vector<S3Object>> S3Client::ListObjects(const std::string& prefix, int page_size) {
  std::vector<S3Object> out;
  std::string token;
  for (;;) {
    std::string q = StrCat("/?list-type=2&encoding-type=url&prefix=", AwsUriEncode(prefix, true));
    if (!token.empty()) q += StrCat("&continuation-token=", AwsUriEncode(token, true));
    if (page_size > 0) q += StrCat("&max-keys=", page_size);
    WS_ASSIGN_OR_RETURN(HttpResponse r, Call("GET", q, {}, "", StrCat("ListObjectsV2 ", prefix)));
    for (std::string_view c : Blocks(r.body, "Contents")) {
      S3Object o;
      o.key = UrlDecode(First(c, "Key"));
      o.size = std::strtoull(First(c, "Size").c_str(), nullptr, 10);
      o.modified_unix = ParseIsoTime(First(c, "LastModified"));
      o.etag = Unquote(First(c, "ETag"));
      out.push_back(std::move(o));
    }
    if (First(r.body, "IsTruncated") != "true") break;
    token = First(r.body, "NextContinuationToken");
    if (token.empty()) break;
  }
  return out;
}

Status S3Client::DeleteObjects(const std::vector<std::string>& keys) {
  for (size_t start = 0; start < keys.size(); start += kDeleteBatch) {
    std::string body = "<Delete><Quiet>true</Quiet>";
    const size_t end = std::min(keys.size(), start + kDeleteBatch);
    for (size_t i = start; i < end; ++i) {
      std::string escaped;
      for (char c : keys[i]) {
        if (c == '&') escaped += "&amp;";
        else if (c == '<') escaped += "&lt;";
        else if (c == '>') escaped += "&gt;";
        else escaped.push_back(c);
      }
      body += StrCat("<Object><Key>", escaped, "</Key></Object>");
    }
    body += "</Delete>";
    const std::string md5 = ContentMd5(body);
    WS_ASSIGN_OR_RETURN(HttpResponse r,
                        Call("POST", "/?delete=",
                             {{"Content-MD5", md5}, {"Content-Type", "application/xml"}},
                             std::move(body), StrCat("DeleteObjects (", end - start, " keys)")));
    for (std::string_view e : Blocks(r.body, "Error")) {
      const std::string code = First(e, "Code");
      if (code == "NoSuchKey") continue;
      return AwsErrorStatus(StrCat("s3 DeleteObjects ", First(e, "Key")), 500,
                            StrCat("<Error>", e, "</Error>"));
    }
  }
  return absl::OkStatus();
}

Status S3Client::CreateBucket() {
  std::string body;
  if (!region_.empty() && region_ != "us-east-1") {
    body = StrCat(
        "<CreateBucketConfiguration><LocationConstraint>", region_,
        "</LocationConstraint></CreateBucketConfiguration>");
  }
  StatusOr<HttpResponse> r = Call("PUT", "", {}, std::move(body), "CreateBucket");
  if (!r.ok() && AwsErrorCode(r.status()) == "BucketAlreadyOwnedByYou") return absl::OkStatus();
  return r.status();
}

}  // namespace watershed::net
