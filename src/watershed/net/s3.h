// net/s3.h — the Amazon S3 REST calls the lake needs, signed with SigV4 (net/sigv4.h).
//
// Owns: s3:// URLs (bucket and prefix), the endpoint style (virtual-hosted
// https://BUCKET.s3.REGION.amazonaws.com on AWS, path-style ENDPOINT/BUCKET for an
// `endpoint_url`: MinIO, moto, LocalStack), PutObject with Content-MD5 (S3 verifies it),
// multipart uploads (create, upload part with Content-MD5, complete, abort, list in-progress
// uploads), HEAD, GET with a byte range, ListObjectsV2 with continuation tokens, DeleteObjects in
// batches of 1000, and S3's XML errors as Status (net/aws.h mapping; 503 SlowDown and 5xx are
// retried by HttpClient with backoff; a 200 answer to CompleteMultipartUpload that carries an
// <Error> is an error too).
// Object metadata (x-amz-meta-*) is sent and read back, so callers can keep their own checksum.
// Does not own: what the objects are (lake/s3_storage.h), credentials (net/aws_credentials.h).
// Thread safety: an S3Client may be used by several threads at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/net/aws_credentials.h"
#include "watershed/net/http_client.h"

namespace watershed::net {

struct S3Url {
  std::string bucket;
  std::string prefix;  // no leading or trailing '/'; may be empty
};
// "s3://bucket/some/prefix/" -> {bucket, "some/prefix"}. kInvalidArgument naming the URL.
StatusOr<S3Url> ParseS3Url(std::string_view url);

struct S3Object {
  std::string key;
  uint64_t size = 0;
  int64_t modified_unix = 0;
  std::string etag;
};

struct S3Head {
  uint64_t size = 0;
  std::string etag;
  std::map<std::string, std::string> metadata;  // x-amz-meta-NAME -> value, NAME lower-case
};

struct S3Upload {
  std::string key;
  std::string upload_id;
  int64_t initiated_unix = 0;
};

class S3Client {
 public:
  // `endpoint` empty = AWS. Not owned: http, credentials (both outlive the client).
  S3Client(std::string bucket, std::string region, std::string endpoint, HttpClient& http,
           CredentialProvider& credentials);

  const std::string& bucket() const { return bucket_; }

  // `only_if_absent`: `If-None-Match: *`, so an existing key is not overwritten (S3 answers
  // 412, kFailedPrecondition).
  Status PutObject(const std::string& key, std::string_view bytes,
                   const std::map<std::string, std::string>& metadata = {},
                   bool only_if_absent = false);
  StatusOr<std::string> CreateMultipartUpload(const std::string& key,
                                              const std::map<std::string, std::string>& metadata);
  // Returns the part's ETag. Parts are numbered from 1; all but the last >= 5 MiB on AWS.
  StatusOr<std::string> UploadPart(const std::string& key, const std::string& upload_id,
                                   int part_number, std::string_view bytes);
  Status CompleteMultipartUpload(const std::string& key, const std::string& upload_id,
                                 const std::vector<std::string>& part_etags);
  Status AbortMultipartUpload(const std::string& key, const std::string& upload_id);
  StatusOr<std::vector<S3Upload>> ListMultipartUploads(const std::string& prefix);

  // kNotFound when the object does not exist.
  StatusOr<S3Head> HeadObject(const std::string& key);
  // The whole object, or bytes [first, last] inclusive.
  StatusOr<std::string> GetObject(const std::string& key,
                                  std::optional<std::pair<uint64_t, uint64_t>> range = {});
  // Every object under `prefix` (all pages of up to `page_size` keys; 0 = S3's default, 1000).
  StatusOr<std::vector<S3Object>> ListObjects(const std::string& prefix, int page_size = 0);
  // Deletes `keys` (1000 per request); a key that does not exist is not an error.
  Status DeleteObjects(const std::vector<std::string>& keys);
  // Creates the bucket (in the client's region); an existing bucket of ours is not an error.
  Status CreateBucket();

  // How many requests this client sent, for progress lines and benchmarks.
  uint64_t requests() const { return requests_.load(); }

 private:
  // `path_and_query` after the bucket: "/KEY?x=y" (KEY URI-encoded) or "/?list-type=2".
  StatusOr<HttpResponse> Call(std::string method, const std::string& path_and_query,
                              std::vector<std::pair<std::string, std::string>> headers,
                              std::string body, std::string_view what);
  std::string ObjectPath(const std::string& key) const;

  std::string bucket_, region_, endpoint_;
  HttpClient& http_;
  CredentialProvider& credentials_;
  std::atomic<uint64_t> requests_{0};
};

// Base64 of the MD5 of `bytes` (the Content-MD5 header).
std::string ContentMd5(std::string_view bytes);

}  // namespace watershed::net
