// bench/iceberg/iceberg_commits.cc — what the Iceberg export costs a commit, and how its
// metadata grows. Each commit adds FILES data files to one append-only table (catalog entries
// only: the export of an unkeyed table does not open data files), with or without the export.
// Prints one line per checkpoint:
//   iceberg_commits iceberg=0|1 files=F commit=N ms_per_commit=X metadata_bytes=B
//     metadata_json_bytes=J data_manifests=M
// (ms_per_commit: mean over the commits since the previous checkpoint; metadata_bytes: the
// table's metadata/ folder after `watershed gc` removed what the export retired;
// metadata_json_bytes: the newest metadata.json; data_manifests: in the current snapshot.) Usage:
// iceberg_commits --lake DIR --files F --commits N [--iceberg 0|1] [--every K] [--s3 ENDPOINT]
// (--s3: the lake in bucket "bench" of that S3 endpoint, e.g. a moto_server; DIR holds the
// catalog and the read cache)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "watershed/base/strings.h"
#include "watershed/lake/catalog.h"
#include "watershed/lake/gc.h"
#include "watershed/lake/iceberg_export.h"
#include "watershed/lake/s3_storage.h"
#include "watershed/lake/storage.h"

namespace {

using namespace watershed;
namespace fs = std::filesystem;

lake::CommitRequest Commit(int i, int files) {
  lake::CommitRequest req;
  req.operation = "load";
  req.load_id = i + 1;
  req.summary = "{}";
  lake::TableUpdate t;
  t.name = "bench.orders";
  t.columns = {{"id", ColumnType::kBigint}, {"name", ColumnType::kVarchar}};
  t.partition_by = "ingest_date";
  req.tables.push_back(t);
  for (int f = 0; f < files; ++f) {
    lake::DataFile d;
    d.table = t.name;
    d.key =
        StrCat("structured/bench/orders/ingest_date=2026-12-03/load-", i + 1, "-", f, ".parquet");
    d.partition = "ingest_date=2026-12-03";
    d.row_count = 1000;
    d.size_bytes = 65536;
    d.columns = t.columns;
    d.stats = {{"id", "1", "1000", 0}, {"name", "a", "z", 3}};
    req.added.push_back(d);
  }
  return req;
}

}  // namespace

int main(int argc, char** argv) {
  std::string lake_dir, s3_endpoint;
  int files = 10, commits = 20, every = 0;
  bool iceberg = true;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--lake")
      lake_dir = argv[i + 1];
    else if (a == "--files")
      files = std::atoi(argv[i + 1]);
    else if (a == "--commits")
      commits = std::atoi(argv[i + 1]);
    else if (a == "--every")
      every = std::atoi(argv[i + 1]);
    else if (a == "--iceberg")
      iceberg = std::string(argv[i + 1]) == "1";
    else if (a == "--s3")
      s3_endpoint = argv[i + 1];
  }
  if (lake_dir.empty()) {
    std::fprintf(
        stderr,
        "usage: iceberg_commits --lake DIR --files F --commits N [--iceberg 0|1] [--every K]\n");
    return 2;
  }
  if (every <= 0) every = commits;
  fs::create_directories(lake_dir);
  std::unique_ptr<lake::Storage> owned;
  if (s3_endpoint.empty()) {
    owned = std::make_unique<lake::LocalStorage>(lake_dir + "/lake");
  } else {
    lake::S3StorageOptions o;
    o.url = "s3://bench/" + fs::path(lake_dir).filename().string();
    o.identity.region = "us-east-1";
    o.identity.endpoint = s3_endpoint;
    o.identity.access_key_id = "bench";
    o.identity.secret_access_key = "bench-secret";
    o.cache_dir = lake_dir + "/cache";
    o.create_bucket = true;
    auto opened = lake::S3Storage::Open(o);
    if (!opened.ok()) {
      std::fprintf(stderr, "%s\n", std::string(opened.status().message()).c_str());
      return 1;
    }
    owned = *std::move(opened);
  }
  lake::Storage& storage = *owned;
  auto catalog = lake::Catalog::Open(lake_dir + "/catalog.db");
  if (!catalog.ok()) {
    std::fprintf(stderr, "%s\n", std::string(catalog.status().message()).c_str());
    return 1;
  }
  if (iceberg) (*catalog)->SetObserver(std::make_unique<lake::IcebergExporter>(&storage));
  const fs::path metadata = fs::path(lake_dir) / "lake/structured/bench/orders/metadata";
  auto since = std::chrono::steady_clock::now();
  int since_n = 0;
  for (int i = 0; i < commits; ++i) {
    auto s = (*catalog)->Commit(Commit(i, files));
    if (!s.ok()) {
      std::fprintf(stderr, "commit %d: %s\n", i, std::string(s.status().message()).c_str());
      return 1;
    }
    ++since_n;
    if ((i + 1) % every != 0 && i + 1 != commits) continue;
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since)
            .count() /
        since_n;
    // Files the export retired (older metadata versions) are gc's: count what stays.
    if (iceberg) {
      auto gc = lake::CollectGarbage(**catalog, storage, false, absl::ZeroDuration(),
                                     absl::Now() + lake::kExportFileGrace + absl::Minutes(1));
      if (!gc.ok()) {
        std::fprintf(stderr, "gc: %s\n", std::string(gc.status().message()).c_str());
        return 1;
      }
    }
    uintmax_t bytes = 0, json_bytes = 0;
    std::string newest;
    std::error_code ec;
    if (fs::exists(metadata, ec)) {
      for (const auto& e : fs::directory_iterator(metadata, ec)) {
        bytes += e.file_size(ec);
        const std::string name = e.path().filename().string();
        if (name.ends_with(".metadata.json") && name > newest) {
          newest = name;
          json_bytes = e.file_size(ec);
        }
      }
    }
    int manifests = 0;
    if (iceberg) {
      auto d = lake::DescribeIcebergTable(**catalog, storage, "bench.orders", 0);
      if (d.ok()) manifests = d->data_manifests;
    }
    std::printf(
        "iceberg_commits iceberg=%d files=%d commit=%d ms_per_commit=%.2f metadata_bytes=%ju "
        "metadata_json_bytes=%ju data_manifests=%d\n",
        iceberg ? 1 : 0, files, i + 1, ms, bytes, json_bytes, manifests);
    std::fflush(stdout);
    since = std::chrono::steady_clock::now();
    since_n = 0;
  }
  return 0;
}
