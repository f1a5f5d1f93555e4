// sources/events/log.cc — segment files, entries, recovery, group commit (see log.h and
// docs/formats/event-log.md).
// Over 600 lines on purpose: segments, entries, recovery and group commit share the log's lock
// and its durable-offset invariants, which are easiest to check read together.
#include "watershed/sources/events/log.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <limits>
#include <system_error>
#include <utility>

#include "absl/time/clock.h"
#include "watershed/base/log.h"
#include "watershed/base/private_files.h"

namespace watershed::sources {
namespace {

// ---- the entry format (docs/formats/event-log.md) ----

constexpr uint32_t kMagic = 0x4C455357;  // "WSEL" as bytes in the file
constexpr uint8_t kVersion = 2;          // written; version 1 entries are still read
constexpr uint8_t kFlagDigest = 0x01;    // a SHA-256 of the body follows the key (version 2)
constexpr size_t kDigestBytes = 32;
constexpr size_t kHeaderBytes = 40;
constexpr size_t kCrcPos = 36;  // the CRC covers header bytes [0, 36), the key and the body
constexpr size_t kSegmentNameDigits = 20;
constexpr std::string_view kSegmentSuffix = ".log";

void PutU16(char* p, uint16_t v) {
  for (int i = 0; i < 2; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
void PutU32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
void PutU64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
uint64_t GetLE(const char* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

struct EntryHeader {
  uint32_t magic = 0;
  uint8_t version = 0;
  uint8_t flags = 0;
  uint16_t key_len = 0;
  uint32_t count = 0;
  uint32_t body_len = 0;
  uint64_t first_offset = 0;
  int64_t append_micros = 0;
  uint32_t reserved = 0;
  uint32_t crc = 0;
  uint64_t digest_bytes() const { return (flags & kFlagDigest) ? kDigestBytes : 0; }
  uint64_t body_pos() const { return kHeaderBytes + key_len + digest_bytes(); }
  uint64_t entry_bytes() const { return body_pos() + uint64_t{body_len}; }
};

// SHA-256 of an entry's body (the events as stored): what an idempotency key is bound to.
BodyDigest DigestOf(std::string_view body) {
  BodyDigest digest{};
  unsigned int len = 0;
  EVP_Digest(body.data(), body.size(), digest.data(), &len, EVP_sha256(), nullptr);
  return digest;
}

EntryHeader ParseHeader(const char* p) {
  EntryHeader h;
  h.magic = static_cast<uint32_t>(GetLE(p, 4));
  h.version = static_cast<uint8_t>(p[4]);
  h.flags = static_cast<uint8_t>(p[5]);
  h.key_len = static_cast<uint16_t>(GetLE(p + 6, 2));
  h.count = static_cast<uint32_t>(GetLE(p + 8, 4));
  h.body_len = static_cast<uint32_t>(GetLE(p + 12, 4));
  h.first_offset = GetLE(p + 16, 8);
  h.append_micros = static_cast<int64_t>(GetLE(p + 24, 8));
  h.reserved = static_cast<uint32_t>(GetLE(p + 32, 4));
  h.crc = static_cast<uint32_t>(GetLE(p + kCrcPos, 4));
  return h;
}

uint32_t Crc(const char* p, size_t n, uLong crc = 0) {
  // zlib takes uInt lengths; entries are below 2 GiB, but stay safe for any n.
  while (n > 0) {
    uInt chunk = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(p), chunk);
    p += chunk;
    n -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

// The entry's CRC from its (filled) header and the CRC of key+body computed beforehand.
uint32_t EntryCrc(const char* header, uint32_t rest_crc, uint64_t rest_len) {
  uLong head = Crc(header, kCrcPos);
  return static_cast<uint32_t>(crc32_combine(head, rest_crc, static_cast<z_off_t>(rest_len)));
}

// Calls `fn(payload)` for each event of a body; false when the lengths do not add up to exactly
// `count` events filling the body.
template <typename Fn>
bool ForEachEvent(std::string_view body, uint32_t count, Fn&& fn) {
  size_t pos = 0;
  for (uint32_t i = 0; i < count; ++i) {
    if (body.size() - pos < 4) return false;
    uint64_t len = GetLE(body.data() + pos, 4);
    pos += 4;
    if (body.size() - pos < len) return false;
    fn(body.substr(pos, len));
    pos += len;
  }
  return pos == body.size();
}

// ---- small file helpers ----

Status ErrnoStatus(int err, std::string_view what, std::string_view path) {
  absl::StatusCode code = absl::StatusCode::kInternal;
  if (err == ENOSPC || err == EDQUOT || err == EFBIG) code = absl::StatusCode::kResourceExhausted;
  if (err == EACCES || err == EPERM) code = absl::StatusCode::kPermissionDenied;
  if (err == ENOENT) code = absl::StatusCode::kNotFound;
  return Status(code, StrCat(what, " ", path, ": ", strerror(err)));
}

// Reads exactly n bytes at off unless the file ends first; returns the count or -1 (errno set).
ssize_t PreadFull(int fd, char* buf, size_t n, uint64_t off) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, buf + done, n - done, static_cast<off_t>(off + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  return static_cast<ssize_t>(done);
}

// Writes all n bytes at off; 0 or an errno.
int PwriteFull(int fd, const char* buf, size_t n, uint64_t off) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pwrite(fd, buf + done, n - done, static_cast<off_t>(off + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    done += static_cast<size_t>(r);
  }
  return 0;
}

Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "opening folder", dir);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoStatus(err, "syncing folder", dir);
  return absl::OkStatus();
}

std::string SegmentName(uint64_t base_offset) {
  std::string digits = std::to_string(base_offset);
  return std::string(kSegmentNameDigits - digits.size(), '0') + digits +
         std::string(kSegmentSuffix);
}

struct SegmentFile {
  uint64_t base_offset;
  std::string path;
};

// The segment files of `dir`, by base offset. Other files (LOCK, editor leftovers) are ignored.
StatusOr<std::vector<SegmentFile>> ListSegments(const std::string& dir) {
  std::vector<SegmentFile> files;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) return Status(absl::StatusCode::kInternal, StrCat("listing ", dir, ": ", ec.message()));
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) return Status(absl::StatusCode::kInternal, StrCat("listing ", dir, ": ", ec.message()));
    std::string name = it->path().filename().string();
    if (name.size() != kSegmentNameDigits + kSegmentSuffix.size() ||
        !EndsWith(name, kSegmentSuffix)) {
      continue;
    }
    uint64_t base = 0;
    const char* end = name.data() + kSegmentNameDigits;
    auto [ptr, err] = std::from_chars(name.data(), end, base);
    if (err != std::errc() || ptr != end) continue;
    files.push_back({base, it->path().string()});
  }
  std::sort(files.begin(), files.end(), [](const SegmentFile& a, const SegmentFile& b) {
    return a.base_offset < b.base_offset;
  });
  return files;
}

// Sequential, buffered access to a segment file for scanning.
class SegmentReader {
 public:
  SegmentReader(int fd, std::string path, uint64_t size)
      : fd_(fd), path_(std::move(path)), size_(size) {}

  // The bytes [pos, pos+n) (fewer at the end of the file). Valid until the next call.
  StatusOr<std::string_view> Get(uint64_t pos, size_t n) {
    if (pos >= size_) return std::string_view();
    n = static_cast<size_t>(std::min<uint64_t>(n, size_ - pos));
    if (pos < buf_pos_ || pos + n > buf_pos_ + buf_.size()) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(std::max(n, kChunk), size_ - pos));
      buf_.resize(want);
      ssize_t got = PreadFull(fd_, buf_.data(), want, pos);
      if (got < 0) return ErrnoStatus(errno, "reading", path_);
      buf_.resize(static_cast<size_t>(got));
      buf_pos_ = pos;
      if (buf_.size() < n) n = buf_.size();
    }
    return std::string_view(buf_.data() + (pos - buf_pos_), n);
  }

 private:
  static constexpr size_t kChunk = size_t{1} << 20;
  int fd_;
  std::string path_;
  uint64_t size_;
  std::string buf_;
  uint64_t buf_pos_ = 0;
};

struct EntryCheck {
  enum Kind { kOk, kTorn, kCorrupt } kind = kOk;
  std::string reason;
  EntryHeader header;
  std::string key;
  BodyDigest digest{};  // of a keyed entry, when asked for
};

// Checks the entry starting at `pos`: complete, well formed, checksum right, events adding up.
// `want_digest`: fill check.digest for a keyed entry (recovery remembers it with the key).
StatusOr<EntryCheck> CheckEntryAt(SegmentReader& reader, uint64_t pos, uint64_t file_size,
                                  bool want_digest = false) {
  EntryCheck check;
  if (file_size - pos < kHeaderBytes) {
    check.kind = EntryCheck::kTorn;
    check.reason = StrCat("incomplete header (", file_size - pos, " of ", kHeaderBytes, " bytes)");
    return check;
  }
  WS_ASSIGN_OR_RETURN(std::string_view head, reader.Get(pos, kHeaderBytes));
  if (head.size() < kHeaderBytes) {
    return Status(absl::StatusCode::kInternal, "segment file shrank while being read");
  }
  EntryHeader& h = check.header;
  h = ParseHeader(head.data());
  check.kind = EntryCheck::kCorrupt;
  if (h.magic != kMagic) {
    check.reason = "bad magic (not the start of an entry)";
    return check;
  }
  if (h.version != 1 && h.version != kVersion) {
    check.reason = StrCat("unknown entry version ", static_cast<int>(h.version));
    return check;
  }
  // Version 1 has no flags; version 2 may carry the digest, and only with a key.
  const bool flags_ok = h.version == 1 ? h.flags == 0
                                       : (h.flags & ~kFlagDigest) == 0 &&
                                             (h.key_len > 0 || (h.flags & kFlagDigest) == 0);
  if (!flags_ok || h.reserved != 0 || h.count == 0 || h.key_len > EventLog::kMaxKeyBytes ||
      h.body_len > EventLog::kMaxEntryBodyBytes || uint64_t{h.count} * 4 > h.body_len) {
    check.reason = "impossible header values";
    return check;
  }
  if (h.entry_bytes() > file_size - pos) {
    check.kind = EntryCheck::kTorn;
    check.reason = StrCat("entry of ", h.entry_bytes(), " bytes runs past the end of the file (",
                          file_size - pos, " bytes left)");
    return check;
  }
  WS_ASSIGN_OR_RETURN(std::string_view entry, reader.Get(pos, h.entry_bytes()));
  if (entry.size() < h.entry_bytes()) {
    return Status(absl::StatusCode::kInternal, "segment file shrank while being read");
  }
  uint32_t rest_crc = Crc(entry.data() + kHeaderBytes, entry.size() - kHeaderBytes);
  if (EntryCrc(entry.data(), rest_crc, entry.size() - kHeaderBytes) != h.crc) {
    check.reason = "checksum mismatch";
    return check;
  }
  std::string_view body = entry.substr(h.body_pos());
  if (!ForEachEvent(body, h.count, [](std::string_view) {})) {
    check.reason = "event lengths do not add up to the body";
    return check;
  }
  check.key.assign(entry.data() + kHeaderBytes, h.key_len);
  if (h.key_len > 0 && want_digest) {
    if (h.flags & kFlagDigest) {
      memcpy(check.digest.data(), entry.data() + kHeaderBytes + h.key_len, kDigestBytes);
    } else {
      check.digest = DigestOf(body);  // a version 1 entry: the digest was not stored
    }
  }
  check.kind = EntryCheck::kOk;
  return check;
}

// True when a valid entry with an offset of at least `min_offset` starts somewhere in
// (pos, file_size); sets *found_at. Used to tell a torn tail from corruption before good data.
StatusOr<bool> ValidEntryAfter(SegmentReader& reader, uint64_t pos, uint64_t file_size,
                               uint64_t min_offset, uint64_t* found_at) {
  char magic[4];
  PutU32(magic, kMagic);
  for (uint64_t q = pos + 1; q + kHeaderBytes <= file_size; ++q) {
    WS_ASSIGN_OR_RETURN(std::string_view four, reader.Get(q, 4));
    if (four.size() < 4 || memcmp(four.data(), magic, 4) != 0) continue;
    WS_ASSIGN_OR_RETURN(EntryCheck check, CheckEntryAt(reader, q, file_size));
    if (check.kind == EntryCheck::kOk && check.header.first_offset >= min_offset) {
      *found_at = q;
      return true;
    }
  }
  return false;
}

}  // namespace

struct EventLog::Segment {
  struct IndexEntry {
    uint64_t first_offset;
    uint64_t pos;
    uint32_t count;
    uint32_t bytes;
  };
  Segment(std::string p, uint64_t base, int f) : path(std::move(p)), base_offset(base), fd(f) {}
  ~Segment() {
    if (fd >= 0) ::close(fd);
  }
  const std::string path;
  const uint64_t base_offset;
  const int fd;
  // Guarded by the log's mu_.
  uint64_t size = 0;
  std::vector<IndexEntry> index;  // one per entry, in file order
};

struct EventLog::ReadPiece {
  std::shared_ptr<Segment> segment;
  Segment::IndexEntry entry;
};

EventLog::EventLog(std::string dir, LogOptions options, int lock_fd)
    : dir_(std::move(dir)), options_(options), lock_fd_(lock_fd) {}

EventLog::~EventLog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  sync_cv_.notify_all();
  durable_cv_.notify_all();
  if (syncer_.joinable()) syncer_.join();
  segments_.clear();
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

StatusOr<std::unique_ptr<EventLog>> EventLog::Open(const std::string& dir, LogOptions options) {
  if (dir.empty()) return Status(absl::StatusCode::kInvalidArgument, "event log folder is empty");
  if (options.segment_bytes == 0) {
    return Status(absl::StatusCode::kInvalidArgument, "event log segment_bytes must be positive");
  }
  if (options.group_commit_interval < absl::ZeroDuration()) {
    options.group_commit_interval = absl::ZeroDuration();
  }
  // The log, its LOCK and its folders are the server's state: owner-only (0600 / 0700).
  WS_RETURN_IF_ERROR(Annotate(MakePrivateDirs(dir), "event log"));
  std::string lock_path = dir + "/LOCK";
  WS_ASSIGN_OR_RETURN(int lock_fd, OpenPrivateFile(lock_path, O_RDWR));
  if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(lock_fd);
    if (err == EWOULDBLOCK) {
      return Status(
          absl::StatusCode::kFailedPrecondition,
          StrCat("event log ", dir, " is open in another process (", lock_path, " is locked)"));
    }
    return ErrnoStatus(err, "locking", lock_path);
  }
  std::unique_ptr<EventLog> log(new EventLog(dir, options, lock_fd));
  WS_RETURN_IF_ERROR(log->Recover());
  if (options.sync == LogOptions::Sync::kGroupCommit) {
    log->syncer_ = std::thread([raw = log.get()] { raw->SyncLoop(); });
  }
  return log;
}

Status EventLog::Recover() {
  std::lock_guard<std::mutex> lock(mu_);
  WS_ASSIGN_OR_RETURN(std::vector<SegmentFile> files, ListSegments(dir_));
  if (files.empty()) {
    start_offset_ = next_offset_ = durable_offset_ = 0;
    return StartSegment(0);
  }
  uint64_t expected = files.front().base_offset;
  start_offset_ = expected;
  for (size_t i = 0; i < files.size(); ++i) {
    const SegmentFile& file = files[i];
    const bool last = i + 1 == files.size();
    if (file.base_offset != expected) {
      return Status(absl::StatusCode::kDataLoss,
                    StrCat("event log segment ", file.path, " starts at offset ", file.base_offset,
                           " but the segment before it ends at offset ", expected,
                           " (a segment is missing or misnamed)"));
    }
    int fd = ::open(file.path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus(errno, "opening event log segment", file.path);
    auto segment = std::make_shared<Segment>(file.path, file.base_offset, fd);
    struct stat st;
    if (::fstat(fd, &st) != 0) return ErrnoStatus(errno, "reading the size of", file.path);
    const uint64_t file_size = static_cast<uint64_t>(st.st_size);
    SegmentReader reader(fd, file.path, file_size);
    uint64_t pos = 0;
    while (pos < file_size) {
      WS_ASSIGN_OR_RETURN(EntryCheck check,
                          CheckEntryAt(reader, pos, file_size, /*want_digest=*/true));
      if (check.kind == EntryCheck::kOk && check.header.first_offset != expected) {
        check.kind = EntryCheck::kCorrupt;
        check.reason = StrCat("entry holds offset ", check.header.first_offset, " where offset ",
                              expected, " belongs");
      }
      if (check.kind == EntryCheck::kOk) {
        const EntryHeader& h = check.header;
        segment->index.push_back(
            {h.first_offset, pos, h.count, static_cast<uint32_t>(h.entry_bytes())});
        if (!check.key.empty()) RememberKey(check.key, h.first_offset, h.count, check.digest);
        expected += h.count;
        pos += h.entry_bytes();
        continue;
      }
      std::string where = StrCat("event log segment ", file.path, " at byte ", pos, ": ");
      if (!last) {
        return Status(absl::StatusCode::kDataLoss,
                      StrCat(where, check.reason, " (not the last segment, so not a torn write)"));
      }
      uint64_t found_at = 0;
      WS_ASSIGN_OR_RETURN(bool valid_after,
                          ValidEntryAfter(reader, pos, file_size, expected, &found_at));
      if (valid_after) {
        return Status(absl::StatusCode::kDataLoss,
                      StrCat(where, check.reason, " (a valid entry follows at byte ", found_at,
                             ", so this is corruption, not a torn write)"));
      }
      LogWarn("event log: cutting a torn entry off the end of the last segment",
              {{"file", file.path},
               {"byte", std::to_string(pos)},
               {"bytes_dropped", std::to_string(file_size - pos)},
               {"reason", check.reason}});
      if (::ftruncate(fd, static_cast<off_t>(pos)) != 0) {
        return ErrnoStatus(errno, "truncating the torn tail of", file.path);
      }
      break;
    }
    segment->size = pos;
    if (last && ::fdatasync(fd) != 0) return ErrnoStatus(errno, "syncing", file.path);
    disk_bytes_ += segment->size;
    segments_.push_back(std::move(segment));
  }
  next_offset_ = durable_offset_ = expected;
  return absl::OkStatus();
}

Status EventLog::StartSegment(uint64_t base_offset) {
  std::string path = dir_ + "/" + SegmentName(base_offset);
  StatusOr<int> created = OpenPrivateFile(path, O_RDWR | O_EXCL);
  if (!created.ok()) return Annotate(created.status(), "creating event log segment");
  const int fd = *created;
  auto segment = std::make_shared<Segment>(path, base_offset, fd);
  Status synced = SyncDir(dir_);
  if (!synced.ok()) {
    ::unlink(path.c_str());
    return synced;
  }
  segments_.push_back(std::move(segment));
  return absl::OkStatus();
}

void EventLog::RememberKey(std::string_view key, uint64_t first_offset, uint32_t count,
                           const BodyDigest& digest) {
  if (options_.idempotency_keys == 0) return;
  auto it = keys_.find(key);
  if (it != keys_.end()) {
    it->second = {first_offset, count, digest};
    return;
  }
  keys_.emplace(std::string(key), IdempotencyEntry{first_offset, count, digest});
  key_order_.emplace_back(key);
  while (keys_.size() > options_.idempotency_keys) {
    keys_.erase(key_order_.front());
    key_order_.pop_front();
  }
}

Status EventLog::WaitDurable(std::unique_lock<std::mutex>& lock, uint64_t end_offset) {
  durable_cv_.wait(lock, [&] { return durable_offset_ >= end_offset || !failed_.ok() || stop_; });
  if (durable_offset_ >= end_offset) return absl::OkStatus();
  if (!failed_.ok()) return failed_;
  return Status(absl::StatusCode::kAborted, StrCat("event log ", dir_, " is closing"));
}

StatusOr<AppendResult> EventLog::Append(const std::vector<std::string_view>& events,
                                        std::string_view idempotency_key) {
  // Counted from here until the entry is written (or the call gives up), so the syncer knows
  // whether waiting a little would let this append share its fdatasync.
  appends_preparing_.fetch_add(1, std::memory_order_relaxed);
  struct Done {
    EventLog* log;
    bool counted = true;
    void Now() {
      if (counted) log->appends_preparing_.fetch_sub(1, std::memory_order_relaxed);
      counted = false;
    }
    ~Done() { Now(); }
  } done{this};
  if (events.empty()) {
    return Status(absl::StatusCode::kInvalidArgument, "an append needs at least one event");
  }
  if (idempotency_key.size() > kMaxKeyBytes) {
    return Status(absl::StatusCode::kInvalidArgument,
                  StrCat("idempotency key of ", idempotency_key.size(),
                         " bytes is over the limit of ", kMaxKeyBytes));
  }
  if (events.size() > std::numeric_limits<uint32_t>::max()) {
    return Status(absl::StatusCode::kInvalidArgument, "too many events in one append");
  }
  uint64_t body_len = 0;
  for (std::string_view e : events) body_len += 4 + e.size();
  for (std::string_view e : events) {
    if (e.size() > kMaxEntryBodyBytes) body_len = kMaxEntryBodyBytes + 1;
  }
  if (body_len > kMaxEntryBodyBytes) {
    return Status(absl::StatusCode::kInvalidArgument,
                  StrCat("an append of ", body_len, " bytes is over the limit of ",
                         kMaxEntryBodyBytes, " bytes"));
  }

  // Build the entry outside the lock; only the header (offset, time) is filled under it.
  // A keyed entry stores the SHA-256 of its body after the key, so that a reused key with a
  // different body is told from a retry (also after a restart).
  const uint32_t count = static_cast<uint32_t>(events.size());
  const bool keyed = !idempotency_key.empty();
  const size_t body_pos = kHeaderBytes + idempotency_key.size() + (keyed ? kDigestBytes : 0);
  std::string entry;
  entry.resize(body_pos + body_len);
  memcpy(entry.data() + kHeaderBytes, idempotency_key.data(), idempotency_key.size());
  char* p = entry.data() + body_pos;
  for (std::string_view e : events) {
    PutU32(p, static_cast<uint32_t>(e.size()));
    memcpy(p + 4, e.data(), e.size());
    p += 4 + e.size();
  }
  BodyDigest digest{};
  if (keyed) {
    digest = DigestOf(std::string_view(entry).substr(body_pos));
    memcpy(entry.data() + kHeaderBytes + idempotency_key.size(), digest.data(), kDigestBytes);
  }
  const uint64_t rest_len = entry.size() - kHeaderBytes;
  const uint32_t rest_crc = Crc(entry.data() + kHeaderBytes, rest_len);
  char* h = entry.data();
  PutU32(h, kMagic);
  h[4] = static_cast<char>(kVersion);
  h[5] = static_cast<char>(keyed ? kFlagDigest : 0);
  PutU16(h + 6, static_cast<uint16_t>(idempotency_key.size()));
  PutU32(h + 8, count);
  PutU32(h + 12, static_cast<uint32_t>(body_len));
  PutU32(h + 32, 0);

  std::unique_lock<std::mutex> lock(mu_);
  if (!idempotency_key.empty()) {
    auto it = keys_.find(idempotency_key);
    if (it != keys_.end()) {
      AppendResult original{it->second.first_offset, it->second.count, true};
      done.Now();
      if (CRYPTO_memcmp(it->second.digest.data(), digest.data(), kDigestBytes) != 0) {
        return Status(
            absl::StatusCode::kAlreadyExists,
            StrCat("idempotency key already used for different events (offsets ",
                   original.first_offset, "..", original.first_offset + original.count - 1,
                   "); a retry must send the same events, new events need a new key"));
      }
      WS_RETURN_IF_ERROR(WaitDurable(lock, original.first_offset + original.count));
      return original;
    }
  }
  if (!failed_.ok()) return failed_;
  if (stop_) return Status(absl::StatusCode::kAborted, StrCat("event log ", dir_, " is closing"));

  Segment* active = segments_.back().get();
  if (active->size > 0 && active->size + entry.size() > options_.segment_bytes) {
    // Roll: make the old segment durable first, so recovery only ever finds a torn tail in the
    // last segment.
    if (durable_offset_ < next_offset_) {
      if (::fdatasync(active->fd) != 0) {
        failed_ = Status(absl::StatusCode::kDataLoss,
                         StrCat("fdatasync of event log segment ", active->path,
                                " failed: ", strerror(errno), "; reopen the log"));
        durable_cv_.notify_all();
        return failed_;
      }
      durable_offset_ = next_offset_;
      durable_cv_.notify_all();
    }
    WS_RETURN_IF_ERROR(StartSegment(next_offset_));
    active = segments_.back().get();
  }

  const uint64_t first_offset = next_offset_;
  PutU64(h + 16, first_offset);
  PutU64(h + 24, static_cast<uint64_t>(absl::ToUnixMicros(absl::Now())));
  PutU32(h + kCrcPos, EntryCrc(h, rest_crc, rest_len));
  if (int err = PwriteFull(active->fd, entry.data(), entry.size(), active->size); err != 0) {
    Status write_error = ErrnoStatus(err, "appending to event log segment", active->path);
    if (::ftruncate(active->fd, static_cast<off_t>(active->size)) != 0) {
      failed_ = Status(absl::StatusCode::kInternal,
                       StrCat(MessageOf(write_error),
                              "; cutting the partial entry off failed too: ", strerror(errno),
                              "; reopen the log"));
      durable_cv_.notify_all();
      return failed_;
    }
    return write_error;  // nothing was appended; the log stays usable
  }
  active->index.push_back({first_offset, active->size, count, static_cast<uint32_t>(entry.size())});
  active->size += entry.size();
  disk_bytes_ += entry.size();
  next_offset_ += count;
  if (keyed) RememberKey(idempotency_key, first_offset, count, digest);
  const uint64_t end_offset = next_offset_;
  done.Now();  // under mu_, before waking the syncer: it must not wait for this append

  if (options_.sync == LogOptions::Sync::kEveryAppend) {
    if (::fdatasync(active->fd) != 0) {
      failed_ = Status(absl::StatusCode::kDataLoss,
                       StrCat("fdatasync of event log segment ", active->path,
                              " failed: ", strerror(errno), "; reopen the log"));
      durable_cv_.notify_all();
      return failed_;
    }
    durable_offset_ = std::max(durable_offset_, end_offset);
    durable_cv_.notify_all();
  } else {
    sync_cv_.notify_one();
    WS_RETURN_IF_ERROR(WaitDurable(lock, end_offset));
  }
  return AppendResult{first_offset, count, false};
}

void EventLog::SyncLoop() {
  using SteadyClock = std::chrono::steady_clock;
  const auto interval =
      std::chrono::nanoseconds(absl::ToInt64Nanoseconds(options_.group_commit_interval));
  SteadyClock::time_point last_start;  // the clock's epoch: long ago
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    sync_cv_.wait(lock, [&] { return stop_ || !failed_.ok() || next_offset_ > durable_offset_; });
    if (!failed_.ok()) return;
    if (next_offset_ <= durable_offset_) {
      if (stop_) return;
      continue;
    }
    // Appends being prepared right now can join this fdatasync if it waits for them a little
    // (at most until `interval` after the previous one started). Nobody else coming: no wait,
    // so a lone client is acknowledged after one fdatasync.
    sync_cv_.wait_until(lock, last_start + interval, [&] {
      return stop_ || appends_preparing_.load(std::memory_order_relaxed) == 0;
    });
    std::shared_ptr<Segment> segment = segments_.back();
    const uint64_t target = next_offset_;
    if (target <= durable_offset_) continue;  // a segment roll synced it meanwhile
    last_start = SteadyClock::now();
    lock.unlock();
    int rc = ::fdatasync(segment->fd);
    int err = errno;
    lock.lock();
    if (rc != 0) {
      failed_ = Status(absl::StatusCode::kDataLoss,
                       StrCat("fdatasync of event log segment ", segment->path,
                              " failed: ", strerror(err), "; reopen the log"));
      LogError("event log: fdatasync failed; appends fail until the log is reopened",
               {{"file", segment->path}, {"error", strerror(err)}});
      durable_cv_.notify_all();
      return;
    }
    durable_offset_ = std::max(durable_offset_, target);
    durable_cv_.notify_all();
  }
}

uint64_t EventLog::next_offset() const {
  std::lock_guard<std::mutex> lock(mu_);
  return next_offset_;
}

uint64_t EventLog::durable_offset() const {
  std::lock_guard<std::mutex> lock(mu_);
  return durable_offset_;
}

uint64_t EventLog::start_offset() const {
  std::lock_guard<std::mutex> lock(mu_);
  return start_offset_;
}

uint64_t EventLog::disk_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return disk_bytes_;
}

Status EventLog::Read(uint64_t from_offset, size_t max_events, size_t max_bytes,
                      std::string* buffer, std::vector<LoggedEvent>* out) const {
  out->clear();
  if (max_events == 0) return absl::OkStatus();
  std::vector<ReadPiece> plan;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (from_offset < start_offset_) {
      return Status(
          absl::StatusCode::kOutOfRange,
          StrCat("event log ", dir_, ": offset ", from_offset,
                 " was removed by retention; the oldest retained offset is ", start_offset_));
    }
    if (from_offset > next_offset_) {
      return Status(absl::StatusCode::kOutOfRange,
                    StrCat("event log ", dir_, ": offset ", from_offset,
                           " is past the end of the log (next offset ", next_offset_, ")"));
    }
    if (from_offset >= durable_offset_) return absl::OkStatus();
    auto seg_it = std::upper_bound(
        segments_.begin(), segments_.end(), from_offset,
        [](uint64_t off, const std::shared_ptr<Segment>& s) { return off < s->base_offset; });
    if (seg_it != segments_.begin()) --seg_it;
    uint64_t planned_events = 0;
    uint64_t planned_bytes = 0;
    bool done = false;
    for (; seg_it != segments_.end() && !done; ++seg_it) {
      const std::vector<Segment::IndexEntry>& index = (*seg_it)->index;
      auto it = std::upper_bound(
          index.begin(), index.end(), from_offset,
          [](uint64_t off, const Segment::IndexEntry& e) { return off < e.first_offset; });
      if (it != index.begin()) --it;
      for (; it != index.end(); ++it) {
        if (it->first_offset >= durable_offset_) {
          done = true;
          break;
        }
        if (it->first_offset + it->count <= from_offset) continue;
        plan.push_back({*seg_it, *it});
        planned_events += it->first_offset + it->count - std::max(from_offset, it->first_offset);
        planned_bytes += it->bytes;
        if (planned_events >= max_events || planned_bytes >= max_bytes) {
          done = true;
          break;
        }
      }
    }
  }

  size_t total = 0;
  for (const ReadPiece& piece : plan) total += piece.entry.bytes;
  buffer->resize(total);
  size_t at = 0;
  uint64_t payload_bytes = 0;
  for (const ReadPiece& piece : plan) {
    const Segment::IndexEntry& e = piece.entry;
    char* data = buffer->data() + at;
    at += e.bytes;
    std::string where = StrCat("event log segment ", piece.segment->path, " at byte ", e.pos, ": ");
    ssize_t got = PreadFull(piece.segment->fd, data, e.bytes, e.pos);
    if (got < 0) return ErrnoStatus(errno, "reading event log segment", piece.segment->path);
    if (static_cast<size_t>(got) != e.bytes) {
      return Status(absl::StatusCode::kDataLoss, StrCat(where, "the file ends inside an entry"));
    }
    EntryHeader h = ParseHeader(data);
    if (h.magic != kMagic || (h.version != 1 && h.version != kVersion) ||
        h.first_offset != e.first_offset || h.count != e.count || h.entry_bytes() != e.bytes) {
      return Status(absl::StatusCode::kDataLoss,
                    StrCat(where, "the entry header changed on disk since it was written"));
    }
    uint32_t rest_crc = Crc(data + kHeaderBytes, e.bytes - kHeaderBytes);
    if (EntryCrc(data, rest_crc, e.bytes - kHeaderBytes) != h.crc) {
      return Status(absl::StatusCode::kDataLoss, StrCat(where, "checksum mismatch"));
    }
    std::string_view body(data + h.body_pos(), h.body_len);
    uint64_t offset = h.first_offset;
    bool full = false;
    bool well_formed = ForEachEvent(body, h.count, [&](std::string_view payload) {
      const uint64_t this_offset = offset++;
      if (full || this_offset < from_offset) return;
      if (out->size() >= max_events ||
          (!out->empty() && payload_bytes + payload.size() > max_bytes)) {
        full = true;
        return;
      }
      payload_bytes += payload.size();
      out->push_back({this_offset, h.append_micros, payload});
    });
    if (!well_formed) {
      return Status(absl::StatusCode::kDataLoss,
                    StrCat(where, "event lengths do not add up to the body"));
    }
    if (full) break;
  }
  return absl::OkStatus();
}

bool EventLog::WaitFor(uint64_t offset, absl::Duration timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  auto ready = [&] { return durable_offset_ > offset || stop_ || !failed_.ok(); };
  if (timeout == absl::InfiniteDuration()) {
    durable_cv_.wait(lock, ready);
  } else if (timeout > absl::ZeroDuration()) {
    durable_cv_.wait_for(lock, std::chrono::nanoseconds(absl::ToInt64Nanoseconds(timeout)), ready);
  }
  return durable_offset_ > offset;
}

Status EventLog::TruncateBefore(uint64_t offset) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t removed = 0;
  // Segment k holds offsets [base_k, base_{k+1}); it can go when base_{k+1} <= offset.
  while (removed + 1 < segments_.size() && segments_[removed + 1]->base_offset <= offset) {
    const Segment& segment = *segments_[removed];
    if (::unlink(segment.path.c_str()) != 0 && errno != ENOENT) {
      Status error = ErrnoStatus(errno, "removing event log segment", segment.path);
      segments_.erase(segments_.begin(), segments_.begin() + static_cast<long>(removed));
      start_offset_ = segments_.front()->base_offset;
      return error;
    }
    disk_bytes_ -= segment.size;
    ++removed;
  }
  if (removed == 0) return absl::OkStatus();
  segments_.erase(segments_.begin(), segments_.begin() + static_cast<long>(removed));
  start_offset_ = segments_.front()->base_offset;
  return SyncDir(dir_);
}

StatusOr<uint64_t> EventLog::PeekNextOffset(const std::string& dir) {
  WS_ASSIGN_OR_RETURN(LogSummary summary, Peek(dir));
  return summary.next_offset;
}

StatusOr<LogSummary> EventLog::Peek(const std::string& dir) {
  LogSummary summary;
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return summary;
  WS_ASSIGN_OR_RETURN(std::vector<SegmentFile> files, ListSegments(dir));
  if (files.empty()) return summary;
  summary.exists = true;
  summary.start_offset = files.front().base_offset;
  summary.segments = files.size();
  for (const SegmentFile& f : files) {
    uint64_t size = std::filesystem::file_size(f.path, ec);
    if (!ec) summary.disk_bytes += size;
  }
  const SegmentFile& file = files.back();
  int fd = ::open(file.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "opening event log segment", file.path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return ErrnoStatus(err, "reading the size of", file.path);
  }
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  SegmentReader reader(fd, file.path, file_size);
  uint64_t expected = file.base_offset;
  uint64_t pos = 0;
  Status status;
  while (pos < file_size) {
    StatusOr<EntryCheck> check = CheckEntryAt(reader, pos, file_size);
    if (!check.ok()) {
      status = check.status();
      break;
    }
    if (check->kind != EntryCheck::kOk || check->header.first_offset != expected) break;
    expected += check->header.count;
    pos += check->header.entry_bytes();
  }
  ::close(fd);
  if (!status.ok()) return status;
  summary.next_offset = expected;
  return summary;
}

}  // namespace watershed::sources
