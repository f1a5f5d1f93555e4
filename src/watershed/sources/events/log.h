// sources/events/log.h — the durable local event log behind `watershed serve`.
//
// Owns: one log folder of segment files (format: docs/formats/event-log.md): appending a batch
// of events as one checksummed entry and acknowledging it only once it is on disk (fdatasync,
// per append or by a group-commit syncer thread), reading events back by offset, crash recovery
// on Open (a torn tail entry of the last segment is cut away; anything else that does not check
// out is an error naming the segment file and byte), idempotency keys (a retried request is
// answered with its original offsets instead of being appended again; a key reused for other
// events is refused: each keyed entry stores the SHA-256 of its body), retention by whole
// segments, and an exclusive lock on the folder (one writer process).
// Does not belong here: HTTP (the server), what events mean, checkpoints (the stream-to-lake
// writer stores them in the catalog), the EventSource view (log_source.h).
// Thread safety: EventLog is thread-safe; Append, Read, WaitFor, TruncateBefore and the
// accessors may be called from any number of threads at once. Concurrent appenders share
// fdatasyncs in group-commit mode.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/time/time.h"
#include "watershed/base/status.h"

namespace watershed::sources {

using BodyDigest = std::array<unsigned char, 32>;  // SHA-256 of an entry's body

struct LogOptions {
  enum class Sync {
    kEveryAppend,  // each Append writes and fdatasyncs under the log's lock (simple, slow)
    kGroupCommit,  // appenders write, then wait for the syncer thread's next fdatasync
  };
  Sync sync = Sync::kGroupCommit;
  // Group commit: when written data is waiting, the syncer fdatasyncs at once, unless other
  // appends are being prepared at that moment: then it waits for them to be written, but no
  // longer than this after the start of the previous fdatasync. Each fdatasync covers every
  // append written before it started. A lone client is acknowledged after one fdatasync; many
  // clients share them. Zero: never wait.
  absl::Duration group_commit_interval = absl::Milliseconds(5);
  // A new segment file is started when an entry would take the active one past this size (an
  // entry larger than this gets a segment of its own).
  uint64_t segment_bytes = uint64_t{64} << 20;
  // How many recent idempotency keys are remembered (oldest forgotten first); rebuilt from the
  // log on Open. Keys of segments removed by retention are forgotten at the next Open.
  size_t idempotency_keys = 100000;
};

struct AppendResult {
  uint64_t first_offset = 0;  // offset of the first event of the batch
  uint32_t count = 0;         // events in the batch; they have offsets first_offset..+count-1
  bool duplicate = false;     // the key was seen with these events: nothing was appended
};

struct LoggedEvent {
  uint64_t offset = 0;
  int64_t appended_micros = 0;  // when its entry was appended, microseconds since the Unix epoch
  std::string_view payload;     // points into the caller's buffer given to Read
};

// What a log folder holds, read without opening it for writing (EventLog::Peek).
struct LogSummary {
  bool exists = false;        // the folder holds at least one segment
  uint64_t start_offset = 0;  // oldest retained offset
  uint64_t next_offset = 0;   // end of the last valid entry
  uint64_t segments = 0;
  uint64_t disk_bytes = 0;
};

class EventLog {
 public:
  // Limits, checked by Append (kInvalidArgument beyond them).
  static constexpr size_t kMaxKeyBytes = 1024;
  static constexpr uint64_t kMaxEntryBodyBytes = uint64_t{1} << 30;  // 1 GiB of events per entry

  // Opens or creates the log in `dir` (created with its parents if missing) and takes an
  // exclusive lock on `dir`/LOCK (kFailedPrecondition when another process has the log open).
  // Recovers from a crash: a torn, partial or corrupt (CRC) entry at the tail of the last
  // segment, with nothing valid after it, is truncated away and logged with the byte position;
  // any other corruption (in an earlier segment, or followed by valid entries, or a gap in the
  // offsets) fails with kDataLoss naming the segment file and byte offset.
  static StatusOr<std::unique_ptr<EventLog>> Open(const std::string& dir, LogOptions options);

  // Stops the syncer after a last fdatasync of written data. No Append may be running.
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // Appends `events` (each one event's bytes, any bytes including newlines) as one entry and
  // returns once the entry is durable. A non-empty `idempotency_key` that was seen before with
  // the same events (compared by the SHA-256 of the entry body) returns the original result
  // with duplicate=true and appends nothing (after the original is durable); seen before with
  // different events: kAlreadyExists, nothing appended. Errors: kInvalidArgument (no events, a
  // key or batch over the limits);
  // kResourceExhausted (disk full, file size limit) or kInternal (another write error): nothing
  // was appended and the log stays usable; kDataLoss (an fdatasync failed) or kInternal (a
  // partial write could not be cut off): this and every later Append fail until the log is
  // reopened — what was acknowledged before is safe.
  StatusOr<AppendResult> Append(const std::vector<std::string_view>& events,
                                std::string_view idempotency_key);

  uint64_t next_offset() const;     // offset the next event will get (events are 0, 1, 2, ...)
  uint64_t durable_offset() const;  // events below this are on disk and readable
  uint64_t start_offset() const;    // oldest retained offset
  uint64_t disk_bytes() const;      // total size of the segment files
  const std::string& dir() const { return dir_; }

  // Reads up to `max_events` durable events starting at `from_offset` into `out` (cleared
  // first); stops early once `max_bytes` of payload are gathered (at least one event is always
  // returned when one is durable). Payload views point into `*buffer`, which the caller owns
  // and may reuse between calls. From the durable end or past it: OK with nothing. Errors:
  // kOutOfRange when `from_offset` is below start_offset() (removed by retention) or above
  // next_offset(); kDataLoss naming file and byte when an entry fails its checksum.
  Status Read(uint64_t from_offset, size_t max_events, size_t max_bytes, std::string* buffer,
              std::vector<LoggedEvent>* out) const;

  // Blocks until durable_offset() > offset or `timeout` passes; true when the event is there.
  bool WaitFor(uint64_t offset, absl::Duration timeout) const;

  // Retention: deletes the segments all of whose events are below `offset`, oldest first,
  // never the active (last) one. start_offset() moves to the first remaining segment.
  Status TruncateBefore(uint64_t offset);

  // The next offset of the log in `dir` read without locking or recovering it (for
  // `watershed streams` in another process): the end of the last valid entry of the last
  // segment. 0 when `dir` does not exist or holds no segment.
  static StatusOr<uint64_t> PeekNextOffset(const std::string& dir);
  // The same plus the oldest offset, segment count and size (for `watershed streams`).
  static StatusOr<LogSummary> Peek(const std::string& dir);

  struct Segment;  // internal: one segment file and its entry index

 private:
  struct ReadPiece;
  struct IdempotencyEntry {
    uint64_t first_offset;
    uint32_t count;
    BodyDigest digest;  // of the events the key was first used for
  };

  EventLog(std::string dir, LogOptions options, int lock_fd);

  Status Recover();
  Status StartSegment(uint64_t base_offset);  // requires mu_
  void RememberKey(std::string_view key, uint64_t first_offset, uint32_t count,
                   const BodyDigest& digest);  // requires mu_
  Status WaitDurable(std::unique_lock<std::mutex>& lock, uint64_t end_offset);
  void SyncLoop();

  const std::string dir_;
  const LogOptions options_;
  const int lock_fd_;

  mutable std::mutex mu_;
  mutable std::condition_variable durable_cv_;      // durable_offset_ moved or failed_ was set
  std::condition_variable sync_cv_;                 // data written, or stopping
  std::vector<std::shared_ptr<Segment>> segments_;  // by base offset; back() is active
  uint64_t start_offset_ = 0;
  uint64_t next_offset_ = 0;  // written (maybe not yet durable) end
  uint64_t durable_offset_ = 0;
  uint64_t disk_bytes_ = 0;
  Status failed_;  // sticky: set by a failed fdatasync or unrecoverable write
  bool stop_ = false;
  std::atomic<int> appends_preparing_{0};  // Append calls that have not written their entry yet
  std::unordered_map<std::string, IdempotencyEntry, StringHash, std::equal_to<>> keys_;
  std::deque<std::string> key_order_;  // oldest first, for eviction
  std::thread syncer_;
};

}  // namespace watershed::sources
