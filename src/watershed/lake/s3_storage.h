// lake/s3_storage.h — the lake on Amazon S3 (or any S3-compatible store): the Storage backend
// and its local read cache.
//
// Owns: the keys under s3://BUCKET/PREFIX/ (the same keys as a local lake,
// docs/formats/lake-layout.md), uploading (one PutObject with Content-MD5 up to
// multipart_threshold, else a multipart upload of part_size parts sent `parallel` at a time;
// the file's SHA-256 travels as object metadata `x-amz-meta-watershed-sha256`), and the read
// cache (docs/formats/s3-cache.md): DuckDB cannot read S3 here (no httpfs), so a file is read
// from CACHE/objects/BUCKET/PREFIX/KEY, fetched on first use by ranged GETs (`parallel` at a
// time, across files too: Prefetch), checked against its SHA-256, and renamed into place
// atomically. Lake keys are write-once (each names its load and a random id), so a cached file
// never goes stale; the cache is bounded (max_bytes, least recently read evicted first) and can be
// deleted at any time. A file just published is moved into the cache, so reading what one wrote
// costs no download.
// Does not own: which files exist logically (catalog.h), the S3 protocol (net/s3.h),
// credentials (net/aws_credentials.h).
// Thread safety: safe to use from several threads; several processes may share one cache folder.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "watershed/lake/storage.h"
#include "watershed/net/aws_credentials.h"
#include "watershed/net/http_client.h"
#include "watershed/net/s3.h"

namespace watershed::lake {

struct S3StorageOptions {
  std::string url;  // s3://bucket/prefix
  net::AwsIdentitySettings identity;  // region, endpoint, keys/profile/role
  std::string cache_dir;              // local folder for the read cache and staged uploads
  uint64_t cache_max_bytes = 10ull << 30;
  uint64_t multipart_threshold = 16ull << 20;
  uint64_t part_size = 8ull << 20;  // also the size of one ranged GET
  int parallel = 4;
  bool create_bucket = false;  // CreateBucket when it is missing (tests, `watershed init`)
};

class S3Storage : public Storage {
 public:
  // Resolves credentials and checks the bucket answers (one ListObjectsV2). Errors name the URL
  // and what to fix.
  static StatusOr<std::unique_ptr<S3Storage>> Open(S3StorageOptions options);
  ~S3Storage() override;

  StatusOr<std::string> PathForWrite(const std::string& key) override;
  Status Publish(const std::string& key) override;
  Status PutNew(const std::string& key, std::string_view bytes) override;
  std::string Uri(const std::string& key) const override;
  StatusOr<std::string> PathForRead(const std::string& key) override;
  Status Prefetch(const std::vector<std::string>& keys) override;
  StatusOr<std::vector<StoredFile>> List(const std::string& prefix) override;
  Status Delete(const std::string& key) override;
  Status DeleteMany(const std::vector<std::string>& keys) override;
  StatusOr<std::vector<StoredUpload>> IncompleteUploads() override;
  Status AbortUpload(const StoredUpload& upload) override;
  std::string Describe() const override;
  std::string LocalReadRoot() const override;

  // Counters for benchmarks and progress lines.
  struct Stats {
    uint64_t cache_hits = 0, cache_misses = 0, bytes_downloaded = 0, bytes_uploaded = 0;
    uint64_t requests = 0;
  };
  Stats stats() const;

 private:
  explicit S3Storage(S3StorageOptions options);
  std::string FullKey(const std::string& key) const;
  std::string CachePath(const std::string& key) const;
  std::string StagePath(const std::string& key) const;
  Status Fetch(const std::string& key);
  void Evict(const std::vector<std::string>& keep);

  S3StorageOptions options_;
  net::S3Url url_;
  std::unique_ptr<net::HttpClient> http_;
  std::unique_ptr<net::CredentialProvider> credentials_;
  std::unique_ptr<net::S3Client> client_;
  mutable std::mutex mu_;
  Stats stats_;
};

}  // namespace watershed::lake
