// packages/package_writer.h — the raw zone: immutable load packages of raw API responses.
//
// Owns: writing one load package — a folder `raw/<source>/load-<id>/` in the lake with
// `part-<n>.ndjson.zst` files (one JSON line per response: {"request": ..., "received_at":
// ..., "body": <the response exactly as received>}) and, when the package is sealed,
// `manifest.json` (format 1: source, load id, parts with line and byte counts). Reprocessing
// after a schema change reads these, not the API. Spec: docs/formats/load-packages.md.
// Does not own: what is requested (sources/) or normalized (normalize/).
// Thread safety: one writer per thread.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/lake/storage.h"

struct ZSTD_CCtx_s;

namespace watershed::packages {

class PackageWriter {
 public:
  // A package for `source` written by load `load_id`.
  static StatusOr<std::unique_ptr<PackageWriter>> Create(lake::Storage& storage,
                                                         const std::string& source,
                                                         int64_t load_id);
  ~PackageWriter();

  // Appends one response. `body` must be the JSON text as received.
  Status Add(std::string_view request, std::string_view body);
  // Closes the current part (durably), so everything added so far survives a crash; the next
  // Add starts a new part. Call before committing what was read from these responses.
  Status Seal();
  // Seals and writes manifest.json.
  Status Finish();
  const std::string& folder() const { return folder_; }

 private:
  PackageWriter() = default;
  Status OpenPart();

  lake::Storage* storage_ = nullptr;
  std::string source_;
  int64_t load_id_ = 0;
  std::string folder_;  // storage key of the package folder
  std::FILE* file_ = nullptr;
  ZSTD_CCtx_s* cctx_ = nullptr;
  std::string part_key_;
  int part_ = 0;
  uint64_t part_lines_ = 0, part_bytes_ = 0;
  struct Part {
    std::string key;
    uint64_t lines, bytes;
  };
  std::vector<Part> parts_;
};

}  // namespace watershed::packages
