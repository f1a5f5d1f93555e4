// lake/storage.h — where lake files live: the Storage interface and its local-folder backend.
//
// Owns: naming files by key (a '/'-separated path relative to the lake root), giving DuckDB a
// local path to write a new file to, publishing it, listing, reading and deleting files.
// The S3 backend (s3_storage.h) implements the same interface: it stages locally and uploads on
// Publish, and reads through a local cache.
// Does not own: which files exist logically — that is the catalog's job (catalog.h).
// Thread safety: LocalStorage is safe to use from several threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "watershed/base/status.h"

namespace watershed::lake {

struct StoredFile {
  std::string key;  // relative to the lake root, e.g. "structured/crunchbase/organizations/..."
  uint64_t size = 0;
  int64_t modified_unix = 0;
};

// An upload that was started and never finished (an S3 multipart upload of a killed process).
struct StoredUpload {
  std::string key;
  std::string id;
  int64_t started_unix = 0;
};

class Storage {
 public:
  virtual ~Storage() = default;
  // A local path where a new file for `key` may be written (its folder exists afterwards).
  virtual StatusOr<std::string> PathForWrite(const std::string& key) = 0;
  // Makes the file written at PathForWrite(key) durable under `key`.
  virtual Status Publish(const std::string& key) = 0;
  // Writes `bytes` as `key` and publishes it, replacing what was there.
  virtual Status Put(const std::string& key, std::string_view bytes);
  // Writes `bytes` as `key` only when no file has that key (S3: `If-None-Match: *`); else
  // kAlreadyExists (or kFailedPrecondition from S3). For files that must never be overwritten.
  virtual Status PutNew(const std::string& key, std::string_view bytes) = 0;
  // A local path DuckDB can read `key` from.
  virtual StatusOr<std::string> PathForRead(const std::string& key) = 0;
  // Makes later PathForRead calls for `keys` cheap (a remote backend fetches them in parallel).
  virtual Status Prefetch(const std::vector<std::string>& keys) { return absl::OkStatus(); }
  virtual StatusOr<std::vector<StoredFile>> List(const std::string& prefix) = 0;
  virtual Status Delete(const std::string& key) = 0;
  // Deletes every key (a remote backend batches them); a missing key is not an error.
  virtual Status DeleteMany(const std::vector<std::string>& keys);
  // Uploads started and never finished, and abandoning one (local storage has none).
  virtual StatusOr<std::vector<StoredUpload>> IncompleteUploads() {
    return std::vector<StoredUpload>{};
  }
  virtual Status AbortUpload(const StoredUpload& upload) { return absl::OkStatus(); }
  // Human-readable location, e.g. "/home/me/proj/lake" or "s3://bucket/prefix".
  virtual std::string Describe() const = 0;
  // The absolute location of `key` for other engines: file:///abs/path or s3://bucket/key.
  virtual std::string Uri(const std::string& key) const = 0;
  // The local folder every PathForRead path lies under (the SQL sandbox lets DuckDB read it).
  virtual std::string LocalReadRoot() const = 0;
};

struct CopyFilesResult {
  int64_t copied = 0;
  int64_t skipped = 0;  // already in `to` with the same size
  uint64_t bytes = 0;   // copied
};
// Copies every file of `from` to `to` under the same key (a copy that stopped resumes: a key
// `to` already has with the same size is skipped). `progress` is called after each file.
StatusOr<CopyFilesResult> CopyFiles(Storage& from, Storage& to,
                                    const std::function<void(const CopyFilesResult&)>& progress = {});

// Files under a root folder. Publish fsyncs the file and its folder.
class LocalStorage : public Storage {
 public:
  explicit LocalStorage(std::string root) : root_(std::move(root)) {}
  StatusOr<std::string> PathForWrite(const std::string& key) override;
  Status Publish(const std::string& key) override;
  Status Put(const std::string& key, std::string_view bytes) override;
  Status PutNew(const std::string& key, std::string_view bytes) override;
  std::string Uri(const std::string& key) const override;
  StatusOr<std::string> PathForRead(const std::string& key) override;
  StatusOr<std::vector<StoredFile>> List(const std::string& prefix) override;
  Status Delete(const std::string& key) override;
  std::string Describe() const override { return root_; }
  std::string LocalReadRoot() const override { return root_; }

 private:
  std::string root_;
};

}  // namespace watershed::lake
