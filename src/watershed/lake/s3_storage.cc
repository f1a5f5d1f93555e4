// lake/s3_storage.cc — see s3_storage.h.
#include "watershed/lake/s3_storage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "watershed/base/log.h"
#include "watershed/base/private_files.h"
#include "watershed/base/strings.h"

namespace watershed::lake {
namespace fs = std::filesystem;

namespace {

constexpr char kShaMeta[] = "watershed-sha256";

Status CheckKey(const std::string& key) {
  if (key.empty() || key.front() == '/' || key.find("..") != std::string::npos) {
    return absl::InvalidArgumentError(StrCat("invalid lake key '", key, "'"));
  }
  return absl::OkStatus();
}

StatusOr<std::string> ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::UnavailableError(StrCat("cannot read ", path));
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return data;
}

// Runs fn(i) for i in [0, n), `parallel` at a time; the first error wins.
Status ForEachParallel(size_t n, int parallel, const std::function<Status(size_t)>& fn) {
  std::atomic<size_t> next{0};
  std::mutex mu;
  Status first;
  auto worker = [&] {
    for (size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) {
      Status s = fn(i);
      if (!s.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (first.ok()) first = s;
        next.store(n);
      }
    }
  };
  const size_t threads = std::min<size_t>(n, static_cast<size_t>(std::max(1, parallel)));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (std::thread& t : pool) t.join();
  return first;
}

std::string UniqueSuffix() {
  static std::atomic<uint64_t> counter{0};
  std::random_device rd;
  return StrCat(".tmp-", ::getpid(), "-", counter.fetch_add(1), "-", rd() % 100000);
}

}  // namespace

S3Storage::S3Storage(S3StorageOptions options) : options_(std::move(options)) {}
S3Storage::~S3Storage() = default;

StatusOr<std::unique_ptr<S3Storage>> S3Storage::Open(S3StorageOptions options) {
  std::unique_ptr<S3Storage> s(new S3Storage(options));
  WS_ASSIGN_OR_RETURN(s->url_, net::ParseS3Url(options.url));
  if (options.cache_dir.empty()) {
    return absl::InvalidArgumentError(StrCat(options.url, ": no local cache folder"));
  }
  net::HttpClientOptions http;
  http.user_agent = "watershed/0.1 (lake)";
  http.request_timeout = absl::Minutes(5);
  s->http_ = std::make_unique<net::HttpClient>(http);
  auto credentials = net::CredentialProvider::Create(options.identity, *s->http_);
  if (!credentials.ok()) return Annotate(credentials.status(), StrCat("lake ", options.url));
  s->credentials_ = *std::move(credentials);
  const std::string region =
      s->credentials_->region().empty() ? "us-east-1" : s->credentials_->region();
  // As the AWS CLI: storage.s3.endpoint_url, else $AWS_ENDPOINT_URL_S3, else $AWS_ENDPOINT_URL.
  std::string endpoint = options.identity.endpoint;
  for (const char* name : {"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"}) {
    const char* v = std::getenv(name);
    if (endpoint.empty() && v != nullptr) endpoint = v;
  }
  s->client_ = std::make_unique<net::S3Client>(s->url_.bucket, region, endpoint, *s->http_,
                                               *s->credentials_);
  if (options.create_bucket) WS_RETURN_IF_ERROR(s->client_->CreateBucket());
  // One cheap call: a wrong bucket, region or key fails here, not in the middle of a load.
  auto listed = s->client_->ListObjects(s->FullKey("_probe_/"));
  if (!listed.ok()) {
    return Annotate(listed.status(),
                    StrCat("lake ", options.url, " (credentials from ",
                           s->credentials_->source(), "): check the bucket, region and access"));
  }
  // The cache holds the lake's data: owner-only, like the rest of the project's state.
  WS_RETURN_IF_ERROR(Annotate(MakePrivateDirs(s->options_.cache_dir), "the S3 cache folder"));
  return s;
}

std::string S3Storage::FullKey(const std::string& key) const {
  return url_.prefix.empty() ? key : StrCat(url_.prefix, "/", key);
}

std::string S3Storage::CachePath(const std::string& key) const {
  return (fs::path(LocalReadRoot()) / key).string();
}

std::string S3Storage::LocalReadRoot() const {
  fs::path p = fs::path(options_.cache_dir) / "objects" / url_.bucket;
  if (!url_.prefix.empty()) p /= url_.prefix;
  return p.string();
}

std::string S3Storage::StagePath(const std::string& key) const {
  return (fs::path(options_.cache_dir) / "staging" / url_.bucket / FullKey(key)).string();
}

std::string S3Storage::Describe() const {
  return url_.prefix.empty() ? StrCat("s3://", url_.bucket) : StrCat("s3://", url_.bucket, "/", url_.prefix);
}

StatusOr<std::string> S3Storage::PathForWrite(const std::string& key) {
  WS_RETURN_IF_ERROR(CheckKey(key));
  const fs::path p = StagePath(key);
  std::error_code ec;
  fs::create_directories(p.parent_path(), ec);
  if (ec) {
    return absl::UnavailableError(
        StrCat("cannot create folder ", p.parent_path().string(), ": ", ec.message()));
  }
  return p.string();
}

Status S3Storage::PutNew(const std::string& key, std::string_view bytes) {
  WS_RETURN_IF_ERROR(CheckKey(key));
  const std::map<std::string, std::string> meta = {{kShaMeta, net::Sha256Hex(bytes)}};
  WS_RETURN_IF_ERROR(client_->PutObject(FullKey(key), bytes, meta, /*only_if_absent=*/true));
  std::lock_guard<std::mutex> lock(mu_);
  stats_.bytes_uploaded += bytes.size();
  return absl::OkStatus();
}

std::string S3Storage::Uri(const std::string& key) const {
  return StrCat("s3://", url_.bucket, "/", FullKey(key));
}

Status S3Storage::Publish(const std::string& key) {
  WS_RETURN_IF_ERROR(CheckKey(key));
  const std::string staged = StagePath(key);
  WS_ASSIGN_OR_RETURN(std::string data, ReadWhole(staged));
  const std::map<std::string, std::string> meta = {{kShaMeta, net::Sha256Hex(data)}};
  const std::string full = FullKey(key);
  if (data.size() <= options_.multipart_threshold) {
    WS_RETURN_IF_ERROR(client_->PutObject(full, data, meta));
  } else {
    WS_ASSIGN_OR_RETURN(std::string upload, client_->CreateMultipartUpload(full, meta));
    const size_t parts = (data.size() + options_.part_size - 1) / options_.part_size;
    std::vector<std::string> etags(parts);
    Status sent = ForEachParallel(parts, options_.parallel, [&](size_t i) -> Status {
      const size_t begin = i * options_.part_size;
      const size_t size = std::min<size_t>(options_.part_size, data.size() - begin);
      WS_ASSIGN_OR_RETURN(etags[i], client_->UploadPart(full, upload, static_cast<int>(i + 1),
                                                        std::string_view(data).substr(begin, size)));
      return absl::OkStatus();
    });
    if (sent.ok()) sent = client_->CompleteMultipartUpload(full, upload, etags);
    if (!sent.ok()) {
      // Best effort: gc aborts whatever a failure or a kill leaves (IncompleteUploads).
      client_->AbortMultipartUpload(full, upload).IgnoreError();
      return sent;
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.bytes_uploaded += data.size();
  }
  // What was written is what will be read next (the build reads the load it just made).
  const fs::path cached = CachePath(key);
  std::error_code ec;
  fs::create_directories(cached.parent_path(), ec);
  fs::rename(staged, cached, ec);
  if (ec) fs::remove(staged, ec);
  return absl::OkStatus();
}

Status S3Storage::Fetch(const std::string& key) {
  const std::string full = FullKey(key);
  WS_ASSIGN_OR_RETURN(net::S3Head head, client_->HeadObject(full));
  const fs::path target = CachePath(key);
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  const std::string tmp = target.string() + UniqueSuffix();
  std::string data;
  if (head.size <= options_.part_size) {
    WS_ASSIGN_OR_RETURN(data, client_->GetObject(full));
  } else {
    data.resize(head.size);
    const size_t parts = (head.size + options_.part_size - 1) / options_.part_size;
    WS_RETURN_IF_ERROR(ForEachParallel(parts, options_.parallel, [&](size_t i) -> Status {
      const uint64_t first = i * options_.part_size;
      const uint64_t last = std::min<uint64_t>(head.size, first + options_.part_size) - 1;
      WS_ASSIGN_OR_RETURN(std::string part, client_->GetObject(full, std::make_pair(first, last)));
      std::copy(part.begin(), part.end(), data.begin() + static_cast<ptrdiff_t>(first));
      return absl::OkStatus();
    }));
  }
  if (auto it = head.metadata.find(kShaMeta); it != head.metadata.end()) {
    if (net::Sha256Hex(data) != it->second) {
      return absl::DataLossError(StrCat(Describe(), "/", key,
                                        ": the downloaded bytes do not match the SHA-256 recorded at "
                                        "upload; the object was changed or damaged in the store"));
    }
  } else if (data.size() != head.size) {
    return absl::DataLossError(StrCat(Describe(), "/", key, ": downloaded ", data.size(),
                                      " bytes of ", head.size));
  }
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    if (!out) return absl::UnavailableError(StrCat("cannot write the cache file ", tmp));
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return absl::UnavailableError(StrCat("cannot move ", tmp, " into the cache: ", ec.message()));
  }
  std::lock_guard<std::mutex> lock(mu_);
  stats_.cache_misses += 1;
  stats_.bytes_downloaded += data.size();
  return absl::OkStatus();
}

StatusOr<std::string> S3Storage::PathForRead(const std::string& key) {
  WS_RETURN_IF_ERROR(CheckKey(key));
  const std::string path = CachePath(key);
  if (::utimensat(AT_FDCWD, path.c_str(), nullptr, 0) == 0) {  // hit: now the newest
    std::lock_guard<std::mutex> lock(mu_);
    stats_.cache_hits += 1;
    return path;
  }
  WS_RETURN_IF_ERROR(Fetch(key));
  Evict({key});
  return path;
}

Status S3Storage::Prefetch(const std::vector<std::string>& keys) {
  std::vector<std::string> missing;
  for (const std::string& key : keys) {
    WS_RETURN_IF_ERROR(CheckKey(key));
    if (::utimensat(AT_FDCWD, CachePath(key).c_str(), nullptr, 0) != 0) missing.push_back(key);
  }
  if (missing.empty()) return absl::OkStatus();
  // Files in parallel; a large file also splits into ranges inside Fetch, so keep the product
  // bounded: parallel files of small size, one at a time for large ones.
  WS_RETURN_IF_ERROR(ForEachParallel(missing.size(), options_.parallel,
                                     [&](size_t i) { return Fetch(missing[i]); }));
  Evict(keys);
  return absl::OkStatus();
}

void S3Storage::Evict(const std::vector<std::string>& keep) {
  struct Entry {
    fs::path path;
    uint64_t size;
    fs::file_time_type used;
  };
  std::vector<Entry> entries;
  uint64_t total = 0;
  std::error_code ec;
  const fs::path root = fs::path(options_.cache_dir) / "objects";
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    Entry e{it->path(), it->file_size(ec), it->last_write_time(ec)};
    total += e.size;
    entries.push_back(std::move(e));
  }
  if (total <= options_.cache_max_bytes) return;
  std::set<std::string> protect;
  for (const std::string& k : keep) protect.insert(CachePath(k));
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.used < b.used; });
  for (const Entry& e : entries) {
    if (total <= options_.cache_max_bytes) break;
    if (protect.contains(e.path.string())) continue;
    if (fs::remove(e.path, ec)) total -= e.size;
  }
  if (total > options_.cache_max_bytes) {
    LogWarn("the S3 read cache holds more than its limit: one query needs more than it",
            {{"cache", root.string()}, {"bytes", StrCat(total)},
             {"max_bytes", StrCat(options_.cache_max_bytes)}});
  }
}

StatusOr<std::vector<StoredFile>> S3Storage::List(const std::string& prefix) {
  std::string p = FullKey(prefix);
  if (!p.empty() && !p.ends_with('/')) p += '/';
  WS_ASSIGN_OR_RETURN(auto objects, client_->ListObjects(p));
  std::vector<StoredFile> out;
  const size_t strip = url_.prefix.empty() ? 0 : url_.prefix.size() + 1;
  for (const net::S3Object& o : objects) {
    out.push_back({o.key.substr(strip), o.size, o.modified_unix});
  }
  return out;
}

Status S3Storage::Delete(const std::string& key) { return DeleteMany({key}); }

Status S3Storage::DeleteMany(const std::vector<std::string>& keys) {
  std::vector<std::string> full;
  for (const std::string& key : keys) {
    WS_RETURN_IF_ERROR(CheckKey(key));
    full.push_back(FullKey(key));
  }
  WS_RETURN_IF_ERROR(client_->DeleteObjects(full));
  std::error_code ec;
  for (const std::string& key : keys) fs::remove(CachePath(key), ec);
  return absl::OkStatus();
}

StatusOr<std::vector<StoredUpload>> S3Storage::IncompleteUploads() {
  WS_ASSIGN_OR_RETURN(auto uploads,
                      client_->ListMultipartUploads(url_.prefix.empty() ? "" : url_.prefix + "/"));
  std::vector<StoredUpload> out;
  const size_t strip = url_.prefix.empty() ? 0 : url_.prefix.size() + 1;
  for (const net::S3Upload& u : uploads) {
    out.push_back({u.key.substr(std::min(strip, u.key.size())), u.upload_id, u.initiated_unix});
  }
  return out;
}

Status S3Storage::AbortUpload(const StoredUpload& upload) {
  return client_->AbortMultipartUpload(FullKey(upload.key), upload.id);
}

S3Storage::Stats S3Storage::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  Stats s = stats_;
  s.requests = client_->requests();
  return s;
}

}  // namespace watershed::lake
