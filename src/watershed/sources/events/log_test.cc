// sources/events/log_test.cc — the durable event log and its EventSource, on real files in a
// temp folder.
// Over 600 lines on purpose: a torn tail at every byte, concurrency, retention and recovery
// cases over one fixture.
#include "watershed/sources/events/log.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "watershed/base/test_util.h"
#include "watershed/sources/events/log_source.h"

namespace watershed::sources {
namespace {

namespace fs = std::filesystem;
using testing_util::MakeTempDir;
using testing_util::ReadFileBytes;

LogOptions FastOptions() {
  LogOptions options;
  options.group_commit_interval = absl::ZeroDuration();
  return options;
}

std::vector<std::string> SegmentFiles(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (name.size() == 24 && name.ends_with(".log")) files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

void OverwriteFile(const std::string& path, const std::string& bytes) {
  FILE* f = fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  ASSERT_EQ(fwrite(bytes.data(), 1, bytes.size(), f), bytes.size());
  fclose(f);
}

std::vector<std::string_view> Views(const std::vector<std::string>& events) {
  return std::vector<std::string_view>(events.begin(), events.end());
}

// Reads every durable event from `from` on, in small batches, as strings by offset.
std::map<uint64_t, std::string> ReadAll(const EventLog& log, uint64_t from = 0, size_t batch = 7) {
  std::map<uint64_t, std::string> all;
  std::string buffer;
  std::vector<LoggedEvent> out;
  uint64_t next = from;
  for (;;) {
    Status s = log.Read(next, batch, 1 << 20, &buffer, &out);
    EXPECT_TRUE(s.ok()) << s;
    if (!s.ok() || out.empty()) break;
    for (const LoggedEvent& e : out) {
      EXPECT_EQ(e.offset, next);
      EXPECT_GT(e.appended_micros, 0);
      all[e.offset] = std::string(e.payload);
      next = e.offset + 1;
    }
  }
  return all;
}

TEST(EventLogTest, RoundTripAcrossSegmentRolls) {
  std::string dir = MakeTempDir() + "/log";  // created by Open
  LogOptions options = FastOptions();
  options.segment_bytes = 4096;
  std::map<uint64_t, std::string> expected;
  {
    auto log = EventLog::Open(dir, options);
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_EQ((*log)->next_offset(), 0u);
    EXPECT_EQ((*log)->start_offset(), 0u);
    for (int i = 0; i < 120; ++i) {
      std::vector<std::string> events;
      for (int j = 0; j <= i % 6; ++j) {
        events.push_back(StrCat("{\"i\":", i, ",\"j\":", j, "}\nsecond line ",
                                std::string(static_cast<size_t>(i * 3 % 200), 'x')));
      }
      if (i == 5) events.push_back(std::string("\0binary\xff", 8));
      if (i == 6) events.push_back("");  // an empty event is still an event
      uint64_t before = (*log)->next_offset();
      auto result = (*log)->Append(Views(events), "");
      ASSERT_TRUE(result.ok()) << result.status();
      EXPECT_EQ(result->first_offset, before);  // contiguous
      EXPECT_EQ(result->count, events.size());
      EXPECT_FALSE(result->duplicate);
      EXPECT_EQ((*log)->durable_offset(), before + events.size());
      for (size_t j = 0; j < events.size(); ++j) expected[before + j] = events[j];
    }
    EXPECT_GT(SegmentFiles(dir).size(), 5u);
    EXPECT_EQ(ReadAll(**log), expected);
    // A read starting inside an entry and one capped by bytes.
    std::string buffer;
    std::vector<LoggedEvent> out;
    ASSERT_TRUE((*log)->Read(3, 2, 1 << 20, &buffer, &out).ok());
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].offset, 3u);
    EXPECT_EQ(std::string(out[1].payload), expected[4]);
    ASSERT_TRUE((*log)->Read(10, 100, 1, &buffer, &out).ok());
    ASSERT_EQ(out.size(), 1u);  // at least one event even when it is over max_bytes
    EXPECT_EQ(std::string(out[0].payload), expected[10]);
    // At the end: nothing; past the end: an error.
    uint64_t end = (*log)->next_offset();
    ASSERT_TRUE((*log)->Read(end, 10, 1 << 20, &buffer, &out).ok());
    EXPECT_TRUE(out.empty());
    EXPECT_EQ((*log)->Read(end + 1, 10, 1 << 20, &buffer, &out).code(),
              absl::StatusCode::kOutOfRange);
    uint64_t files_bytes = 0;
    for (const std::string& f : SegmentFiles(dir)) files_bytes += fs::file_size(f);
    EXPECT_EQ((*log)->disk_bytes(), files_bytes);
  }
  // Segment files are named by their first offset.
  for (const std::string& f : SegmentFiles(dir)) {
    uint64_t base = std::stoull(fs::path(f).filename().string().substr(0, 20));
    EXPECT_TRUE(base == 0 || expected.count(base)) << f;
  }
  auto reopened = EventLog::Open(dir, options);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ((*reopened)->next_offset(), expected.size());
  EXPECT_EQ((*reopened)->durable_offset(), expected.size());
  EXPECT_EQ(ReadAll(**reopened), expected);
  auto more = (*reopened)->Append({"after reopen"}, "");
  ASSERT_TRUE(more.ok());
  EXPECT_EQ(more->first_offset, expected.size());
}

TEST(EventLogTest, EveryAppendModeIsDurableOnReturn) {
  std::string dir = MakeTempDir();
  LogOptions options;
  options.sync = LogOptions::Sync::kEveryAppend;
  options.segment_bytes = 300;
  auto log = EventLog::Open(dir, options);
  ASSERT_TRUE(log.ok()) << log.status();
  for (int i = 0; i < 20; ++i) {
    auto r = (*log)->Append({StrCat("event ", i), "two"}, "");
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->first_offset, static_cast<uint64_t>(2 * i));
    EXPECT_EQ((*log)->durable_offset(), static_cast<uint64_t>(2 * i + 2));
  }
  EXPECT_EQ(ReadAll(**log).at(38), "event 19");
}

TEST(EventLogTest, RejectsBadInput) {
  std::string dir = MakeTempDir();
  auto log = EventLog::Open(dir, FastOptions());
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->Append({}, "").status().code(), absl::StatusCode::kInvalidArgument);
  std::string long_key(EventLog::kMaxKeyBytes + 1, 'k');
  EXPECT_EQ((*log)->Append({"e"}, long_key).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*log)->next_offset(), 0u);
  LogOptions zero = FastOptions();
  zero.segment_bytes = 0;
  EXPECT_EQ(EventLog::Open(MakeTempDir(), zero).status().code(),
            absl::StatusCode::kInvalidArgument);
  // A second writer on the same folder is refused.
  auto second = EventLog::Open(dir, FastOptions());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(MessageOf(second.status())).find("another process"), std::string::npos);
}

// The log is the server's state: its folders 0700, LOCK and segments 0600, also under a umask
// that would leave them world-readable.
TEST(EventLogTest, FilesAndFoldersAreOwnerOnly) {
  const mode_t old_umask = ::umask(0);
  const std::string dir = MakeTempDir() + "/streams/clicks";
  LogOptions options = FastOptions();
  options.segment_bytes = 200;
  {
    auto log = EventLog::Open(dir, options);
    ASSERT_TRUE(log.ok()) << log.status();
    for (int i = 0; i < 20; ++i) ASSERT_TRUE((*log)->Append({StrCat("event ", i)}, "").ok());
  }
  ::umask(old_umask);
  auto mode = [](const std::string& path) {
    struct stat st;
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  };
  EXPECT_EQ(mode(dir), 0700u);
  EXPECT_EQ(mode(fs::path(dir).parent_path().string()), 0700u);
  EXPECT_EQ(mode(dir + "/LOCK"), 0600u);
  const std::vector<std::string> segments = SegmentFiles(dir);
  ASSERT_GT(segments.size(), 1u);
  for (const std::string& segment : segments) EXPECT_EQ(mode(segment), 0600u) << segment;
}

TEST(EventLogTest, ConcurrentAppendersGetUniqueContiguousOffsets) {
  std::string dir = MakeTempDir();
  LogOptions options;  // default 5 ms group commit
  options.group_commit_interval = absl::Milliseconds(1);
  options.segment_bytes = 64 << 10;
  auto log = EventLog::Open(dir, options);
  ASSERT_TRUE(log.ok());
  constexpr int kThreads = 8;
  constexpr int kAppends = 60;
  std::vector<std::vector<std::pair<AppendResult, std::vector<std::string>>>> results(kThreads);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAppends; ++i) {
        std::vector<std::string> events;
        for (int j = 0; j < 1 + (t + i) % 5; ++j)
          events.push_back(StrCat("t", t, " i", i, " j", j));
        auto r = (*log)->Append(Views(events), StrCat("key-", t, "-", i));
        if (!r.ok() || r->duplicate) {
          ++failures;
          continue;
        }
        results[t].push_back({*r, events});
      }
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_EQ(failures.load(), 0);
  std::map<uint64_t, std::string> expected;
  for (const auto& per_thread : results) {
    for (const auto& [r, events] : per_thread) {
      for (uint32_t j = 0; j < r.count; ++j) {
        EXPECT_TRUE(expected.emplace(r.first_offset + j, events[j]).second)
            << "offset given twice: " << r.first_offset + j;
      }
    }
  }
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(expected.begin()->first, 0u);
  EXPECT_EQ(expected.rbegin()->first, expected.size() - 1);  // no gaps
  EXPECT_EQ((*log)->next_offset(), expected.size());
  EXPECT_EQ(ReadAll(**log, 0, 50), expected);
}

TEST(EventLogTest, IdempotencyKeyReturnsOriginalOffsetsAlsoAfterReopen) {
  std::string dir = MakeTempDir();
  LogOptions options = FastOptions();
  options.segment_bytes = 200;  // the keyed entry ends up in an older segment
  AppendResult original;
  {
    auto log = EventLog::Open(dir, options);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->Append({"a", "b"}, "").ok());
    auto first = (*log)->Append({"c", "d", "e"}, "request-1");
    ASSERT_TRUE(first.ok());
    original = *first;
    EXPECT_EQ(original.first_offset, 2u);
    EXPECT_EQ(original.count, 3u);
    auto again = (*log)->Append({"c", "d", "e"}, "request-1");
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_TRUE(again->duplicate);
    EXPECT_EQ(again->first_offset, 2u);
    EXPECT_EQ(again->count, 3u);
    EXPECT_EQ((*log)->next_offset(), 5u);  // nothing appended
    // The same key with other events is refused, not answered as a duplicate (issue 12).
    auto reused = (*log)->Append({"different", "bytes"}, "request-1");
    EXPECT_EQ(reused.status().code(), absl::StatusCode::kAlreadyExists) << reused.status();
    EXPECT_EQ((*log)->next_offset(), 5u);  // nothing appended
    for (int i = 0; i < 10; ++i) ASSERT_TRUE((*log)->Append({std::string(50, 'p')}, "").ok());
  }
  auto log = EventLog::Open(dir, options);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_GT(SegmentFiles(dir).size(), 2u);
  auto after = (*log)->Append({"c", "d", "e"}, "request-1");
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->duplicate);
  EXPECT_EQ(after->first_offset, original.first_offset);
  EXPECT_EQ(after->count, original.count);
  // The body's digest is stored with the key, so a reuse is told apart after a restart too.
  auto reused = (*log)->Append({"x"}, "request-1");
  EXPECT_EQ(reused.status().code(), absl::StatusCode::kAlreadyExists) << reused.status();
  EXPECT_EQ((*log)->next_offset(), 15u);
  auto fresh = (*log)->Append({"y"}, "request-2");
  ASSERT_TRUE(fresh.ok());
  EXPECT_FALSE(fresh->duplicate);
  EXPECT_EQ(fresh->first_offset, 15u);
}

TEST(EventLogTest, IdempotencyKeysAreBoundedOldestFirst) {
  LogOptions options = FastOptions();
  options.idempotency_keys = 2;
  auto log = EventLog::Open(MakeTempDir(), options);
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->Append({"1"}, "a").ok());
  ASSERT_TRUE((*log)->Append({"2"}, "b").ok());
  ASSERT_TRUE((*log)->Append({"3"}, "c").ok());
  auto b = (*log)->Append({"2"}, "b");
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->duplicate);
  auto a = (*log)->Append({"again"}, "a");  // forgotten: appended anew
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(a->duplicate);
  EXPECT_EQ(a->first_offset, 3u);
}

// A version 1 entry (docs/formats/event-log.md, before body digests), built byte by byte.
std::string V1Entry(uint64_t first_offset, const std::string& key,
                    const std::vector<std::string>& events) {
  std::string body;
  for (const std::string& e : events) {
    for (int i = 0; i < 4; ++i) body.push_back(static_cast<char>(e.size() >> (8 * i)));
    body += e;
  }
  std::string h(40, '\0');
  auto put = [&](size_t at, uint64_t v, int n) {
    for (int i = 0; i < n; ++i) h[at + i] = static_cast<char>(v >> (8 * i));
  };
  h.replace(0, 4, "WSEL");
  h[4] = 1;  // version 1, flags 0
  put(6, key.size(), 2);
  put(8, events.size(), 4);
  put(12, body.size(), 4);
  put(16, first_offset, 8);
  put(24, 1700000000000000, 8);
  std::string rest = key + body;
  uLong crc = crc32(0, reinterpret_cast<const Bytef*>(h.data()), 36);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(rest.data()), static_cast<uInt>(rest.size()));
  put(36, crc, 4);
  return h + rest;
}

TEST(EventLogTest, ReadsVersion1LogsAndBindsTheirKeysToTheirEvents) {
  std::string dir = MakeTempDir();
  OverwriteFile(dir + "/00000000000000000000.log",
                V1Entry(0, "", {"a", "b"}) + V1Entry(2, "old-key", {"c", "d\ne"}));
  auto log = EventLog::Open(dir, FastOptions());
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ((*log)->next_offset(), 4u);
  std::map<uint64_t, std::string> all = ReadAll(**log);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[3], "d\ne");
  auto retry = (*log)->Append({"c", "d\ne"}, "old-key");
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->first_offset, 2u);
  auto reused = (*log)->Append({"c"}, "old-key");
  EXPECT_EQ(reused.status().code(), absl::StatusCode::kAlreadyExists) << reused.status();
  // New entries (version 2) follow the old ones in the same segment and survive a reopen.
  ASSERT_TRUE((*log)->Append({"f"}, "new-key").ok());
  log->reset();
  auto again = EventLog::Open(dir, FastOptions());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->next_offset(), 5u);
  EXPECT_EQ(ReadAll(**again).at(4), "f");
  auto dup = (*again)->Append({"f"}, "new-key");
  ASSERT_TRUE(dup.ok());
  EXPECT_TRUE(dup->duplicate);
  EXPECT_EQ((*again)->Append({"g"}, "new-key").status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ((*again)->Append({"c", "d\ne"}, "old-key")->first_offset, 2u);
  auto peek = EventLog::PeekNextOffset(dir);
  ASSERT_TRUE(peek.ok());
  EXPECT_EQ(*peek, 5u);
}

// Builds a one-segment log of 4 entries plus a keyed last entry; returns the segment path, its
// bytes and where the last entry starts.
struct TornSetup {
  std::string dir, segment, bytes;
  uint64_t last_entry_pos = 0;
};
TornSetup MakeLogForTornTail() {
  TornSetup setup;
  setup.dir = MakeTempDir();
  auto log = EventLog::Open(setup.dir, FastOptions());
  EXPECT_TRUE(log.ok());
  for (int i = 0; i < 4; ++i) EXPECT_TRUE((*log)->Append({StrCat("event ", i), "more"}, "").ok());
  setup.last_entry_pos = (*log)->disk_bytes();
  EXPECT_TRUE((*log)->Append({"last one", "x\ny"}, "last-key").ok());
  log->reset();
  setup.segment = SegmentFiles(setup.dir).at(0);
  setup.bytes = ReadFileBytes(setup.segment);
  return setup;
}

TEST(EventLogTest, RecoversFromATornTailAtEveryBytePosition) {
  TornSetup setup = MakeLogForTornTail();
  ASSERT_GT(setup.bytes.size(), setup.last_entry_pos + 40);
  for (uint64_t cut = setup.last_entry_pos; cut < setup.bytes.size(); ++cut) {
    SCOPED_TRACE(StrCat("cut at byte ", cut));
    OverwriteFile(setup.segment, setup.bytes.substr(0, cut));
    auto peek = EventLog::PeekNextOffset(setup.dir);
    ASSERT_TRUE(peek.ok());
    EXPECT_EQ(*peek, 8u);
    auto log = EventLog::Open(setup.dir, FastOptions());
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_EQ((*log)->next_offset(), 8u);
    EXPECT_EQ(fs::file_size(setup.segment), setup.last_entry_pos);  // the torn part is gone
    auto all = ReadAll(**log);
    ASSERT_EQ(all.size(), 8u);
    EXPECT_EQ(all[6], "event 3");
    // The torn entry's key is not remembered: the client's retry is appended for real.
    auto retry = (*log)->Append({"last one", "x\ny"}, "last-key");
    ASSERT_TRUE(retry.ok());
    EXPECT_FALSE(retry->duplicate);
    EXPECT_EQ(retry->first_offset, 8u);
    EXPECT_EQ(ReadAll(**log).at(9), "x\ny");
  }
}

TEST(EventLogTest, RecoversFromACorruptLastEntryAndZeroFilledTail) {
  TornSetup setup = MakeLogForTornTail();
  // A flipped byte inside the last entry (its checksum fails), nothing valid after it.
  std::string flipped = setup.bytes;
  flipped[flipped.size() - 2] ^= 0x40;
  OverwriteFile(setup.segment, flipped);
  {
    auto log = EventLog::Open(setup.dir, FastOptions());
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_EQ((*log)->next_offset(), 8u);
  }
  // The file grew by zeros that were never written (a crash after the size was updated).
  OverwriteFile(setup.segment, setup.bytes + std::string(4096, '\0'));
  auto log = EventLog::Open(setup.dir, FastOptions());
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ((*log)->next_offset(), 10u);  // all entries kept, zeros cut
  EXPECT_EQ(fs::file_size(setup.segment), setup.bytes.size());
  auto dup = (*log)->Append({"last one", "x\ny"}, "last-key");  // a retry: the same events
  ASSERT_TRUE(dup.ok()) << dup.status();
  EXPECT_TRUE(dup->duplicate);
  EXPECT_EQ(dup->first_offset, 8u);
}

TEST(EventLogTest, CorruptionBeforeValidEntriesInTheLastSegmentIsAnError) {
  TornSetup setup = MakeLogForTornTail();
  std::string flipped = setup.bytes;
  flipped[setup.last_entry_pos - 3] ^= 0x01;  // inside entry 4 of 5: entry 5 is still valid
  OverwriteFile(setup.segment, flipped);
  auto log = EventLog::Open(setup.dir, FastOptions());
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), absl::StatusCode::kDataLoss);
  std::string message(MessageOf(log.status()));
  EXPECT_NE(message.find(setup.segment), std::string::npos) << message;
  EXPECT_NE(message.find("checksum mismatch"), std::string::npos) << message;
  EXPECT_NE(message.find("valid entry follows"), std::string::npos) << message;
  EXPECT_EQ(ReadFileBytes(setup.segment), flipped);  // nothing was cut
}

TEST(EventLogTest, FlippedByteInAMiddleSegmentNamesFileAndOffset) {
  std::string dir = MakeTempDir();
  LogOptions options = FastOptions();
  options.segment_bytes = 1000;
  const std::string payload(60, 'e');  // every entry: 40 header + 4 + 60 = 104 bytes
  {
    auto log = EventLog::Open(dir, options);
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 30; ++i) ASSERT_TRUE((*log)->Append({payload}, "").ok());
  }
  std::vector<std::string> files = SegmentFiles(dir);
  ASSERT_EQ(files.size(), 4u);  // 9 entries (936 bytes) per segment
  std::string middle = files[1];
  std::string bytes = ReadFileBytes(middle);
  ASSERT_EQ(bytes.size(), 936u);
  const size_t flip_at = 104 * 4 + 70;  // in the body of the 5th entry, which starts at 416
  bytes[flip_at] ^= 0x20;
  OverwriteFile(middle, bytes);
  auto log = EventLog::Open(dir, options);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), absl::StatusCode::kDataLoss);
  std::string message(MessageOf(log.status()));
  EXPECT_NE(message.find(middle), std::string::npos) << message;
  EXPECT_NE(message.find("at byte 416:"), std::string::npos) << message;
  // Nothing was truncated: the segment is as it was.
  EXPECT_EQ(ReadFileBytes(middle), bytes);
}

TEST(EventLogTest, ReadDetectsCorruptionAfterOpen) {
  std::string dir = MakeTempDir();
  auto log = EventLog::Open(dir, FastOptions());
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->Append({"hello", "world"}, "").ok());
  std::string segment = SegmentFiles(dir).at(0);
  std::string bytes = ReadFileBytes(segment);
  bytes[bytes.size() - 1] ^= 0x01;
  {  // overwrite in place (same inode, as a disk error would)
    FILE* f = fopen(segment.c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    fwrite(bytes.data(), 1, bytes.size(), f);
    fclose(f);
  }
  std::string buffer;
  std::vector<LoggedEvent> out;
  Status s = (*log)->Read(0, 10, 1 << 20, &buffer, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(std::string(MessageOf(s)).find("checksum"), std::string::npos) << s;
}

TEST(EventLogTest, MissingSegmentIsAnError) {
  std::string dir = MakeTempDir();
  LogOptions options = FastOptions();
  options.segment_bytes = 100;
  {
    auto log = EventLog::Open(dir, options);
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 5; ++i) ASSERT_TRUE((*log)->Append({std::string(70, 'a')}, "").ok());
  }
  std::vector<std::string> files = SegmentFiles(dir);
  ASSERT_EQ(files.size(), 5u);
  fs::remove(files[2]);
  auto log = EventLog::Open(dir, options);
  EXPECT_EQ(log.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(std::string(MessageOf(log.status())).find("missing"), std::string::npos);
}

TEST(EventLogTest, TruncateBeforeRemovesOnlyFullyConsumedSegments) {
  std::string dir = MakeTempDir();
  LogOptions options = FastOptions();
  options.segment_bytes = 1000;
  const std::string payload(60, 'e');  // 9 one-event entries per segment: 0-8, 9-17, 18-26, 27-29
  auto log = EventLog::Open(dir, options);
  ASSERT_TRUE(log.ok());
  for (int i = 0; i < 30; ++i) ASSERT_TRUE((*log)->Append({payload}, "").ok());
  ASSERT_EQ(SegmentFiles(dir).size(), 4u);
  const uint64_t bytes_before = (*log)->disk_bytes();

  ASSERT_TRUE((*log)->TruncateBefore(8).ok());  // offset 8 is still in segment 0
  EXPECT_EQ(SegmentFiles(dir).size(), 4u);
  EXPECT_EQ((*log)->start_offset(), 0u);

  ASSERT_TRUE((*log)->TruncateBefore(12).ok());  // segment 0 (0-8) is all below 12
  std::vector<std::string> files = SegmentFiles(dir);
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(fs::path(files[0]).filename().string(), "00000000000000000009.log");
  EXPECT_EQ((*log)->start_offset(), 9u);
  EXPECT_EQ((*log)->disk_bytes(), bytes_before - 936);
  std::string buffer;
  std::vector<LoggedEvent> out;
  EXPECT_EQ((*log)->Read(3, 10, 1 << 20, &buffer, &out).code(), absl::StatusCode::kOutOfRange);
  ASSERT_TRUE((*log)->Read(9, 1, 1 << 20, &buffer, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].offset, 9u);

  ASSERT_TRUE((*log)->TruncateBefore(1000).ok());  // never the active segment
  files = SegmentFiles(dir);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(fs::path(files[0]).filename().string(), "00000000000000000027.log");
  EXPECT_EQ((*log)->start_offset(), 27u);
  EXPECT_EQ(ReadAll(**log, 27).size(), 3u);
  log->reset();

  auto reopened = EventLog::Open(dir, options);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ((*reopened)->start_offset(), 27u);
  EXPECT_EQ((*reopened)->next_offset(), 30u);
}

TEST(EventLogTest, WaitForWakesOnAppend) {
  auto log = EventLog::Open(MakeTempDir(), FastOptions());
  ASSERT_TRUE(log.ok());
  EXPECT_FALSE((*log)->WaitFor(0, absl::Milliseconds(10)));
  std::thread appender([&] { ASSERT_TRUE((*log)->Append({"a"}, "").ok()); });
  EXPECT_TRUE((*log)->WaitFor(0, absl::Seconds(30)));
  appender.join();
  EXPECT_FALSE((*log)->WaitFor(1, absl::ZeroDuration()));
}

TEST(EventLogTest, PeekNextOffset) {
  std::string base = MakeTempDir();
  auto missing = EventLog::PeekNextOffset(base + "/nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(*missing, 0u);
  auto empty = EventLog::PeekNextOffset(base);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, 0u);
  std::string dir = base + "/log";
  LogOptions options = FastOptions();
  options.segment_bytes = 100;
  auto log = EventLog::Open(dir, options);
  ASSERT_TRUE(log.ok());
  auto fresh = EventLog::PeekNextOffset(dir);
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(*fresh, 0u);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE((*log)->Append({"a", "b", "c"}, "").ok());
  auto peek = EventLog::PeekNextOffset(dir);  // while the log is open for writing
  ASSERT_TRUE(peek.ok()) << peek.status();
  EXPECT_EQ(*peek, 12u);
}

TEST(EventLogTest, FailedWriteIsCutOffAndTheLogStaysUsable) {
  std::string dir = MakeTempDir();
  auto log = EventLog::Open(dir, FastOptions());
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->Append({"one", "two"}, "").ok());
  const uint64_t size = (*log)->disk_bytes();
  std::string segment = SegmentFiles(dir).at(0);
  // A file size limit makes the write stop part way (EFBIG), as a full disk would.
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit old_limit;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  struct rlimit limit = old_limit;
  limit.rlim_cur = size + 50;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limit), 0);
  auto failed = (*log)->Append({std::string(500, 'b')}, "key-1");
  const uint64_t size_after_failure = fs::file_size(segment);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  signal(SIGXFSZ, SIG_DFL);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kResourceExhausted) << failed.status();
  EXPECT_NE(std::string(MessageOf(failed.status())).find(segment), std::string::npos);
  EXPECT_EQ(size_after_failure, size);  // the partial entry was cut off
  EXPECT_EQ((*log)->next_offset(), 2u);
  // The key was not taken; the retry is appended for real.
  auto retry = (*log)->Append({std::string(500, 'b')}, "key-1");
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_FALSE(retry->duplicate);
  EXPECT_EQ(retry->first_offset, 2u);
  log->reset();
  auto reopened = EventLog::Open(dir, FastOptions());
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ((*reopened)->next_offset(), 3u);
}

TEST(EventLogTest, PeekSummarizesWithoutOpening) {
  std::string dir = MakeTempDir();
  LogOptions options = FastOptions();
  options.segment_bytes = 100;
  auto log = EventLog::Open(dir, options);
  ASSERT_TRUE(log.ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE((*log)->Append({std::string(70, 'a')}, "").ok());
  ASSERT_TRUE((*log)->TruncateBefore(2).ok());
  auto summary = EventLog::Peek(dir);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_TRUE(summary->exists);
  EXPECT_EQ(summary->start_offset, 2u);
  EXPECT_EQ(summary->next_offset, 5u);
  EXPECT_EQ(summary->segments, 3u);
  EXPECT_EQ(summary->disk_bytes, (*log)->disk_bytes());
  auto none = EventLog::Peek(dir + "/missing");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->exists);
}

// ---- LogSource ----

TEST(LogSourceTest, SeekPollAndLag) {
  auto log = EventLog::Open(MakeTempDir(), FastOptions());
  ASSERT_TRUE(log.ok());
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE((*log)
                    ->Append({StrCat("{\"n\":", 2 * i, "}"), StrCat("{\"n\":", 2 * i + 1, "}")}, "")
                    .ok());
  }
  LogSource source(log->get(), "clicks");
  EXPECT_EQ(source.Describe(), "http log clicks");
  ASSERT_TRUE(source.Seek({}).ok());
  auto first = source.Poll(3, absl::ZeroDuration());
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->size(), 3u);
  EXPECT_EQ((*first)[0].partition, "0");
  EXPECT_EQ((*first)[0].position, "0");
  EXPECT_EQ((*first)[2].position, "2");
  EXPECT_EQ(std::string((*first)[2].payload), "{\"n\":2}");
  EXPECT_GT((*first)[2].arrived_micros, 0);
  std::vector<PartitionLag> lag = source.Lag();
  ASSERT_EQ(lag.size(), 1u);
  EXPECT_EQ(lag[0].partition, "0");
  EXPECT_EQ(lag[0].events_behind, 5);
  EXPECT_GE(lag[0].millis_behind, 0);

  // Resume after checkpoint 4: the next event is 5.
  ASSERT_TRUE(source.Seek({{"0", "4"}}).ok());
  auto rest = source.Poll(100, absl::ZeroDuration());
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 3u);
  EXPECT_EQ((*rest)[0].position, "5");
  EXPECT_EQ((*rest)[2].position, "7");
  EXPECT_EQ(source.Lag()[0].events_behind, 0);
  EXPECT_EQ(source.Lag()[0].millis_behind, 0);

  // Caught up: an empty poll after the wait, then one that wakes on a new append.
  auto none = source.Poll(10, absl::Milliseconds(5));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  std::thread appender([&] { ASSERT_TRUE((*log)->Append({"late"}, "").ok()); });
  auto late = source.Poll(10, absl::Seconds(30));
  appender.join();
  ASSERT_TRUE(late.ok());
  ASSERT_EQ(late->size(), 1u);
  EXPECT_EQ((*late)[0].position, "8");
  EXPECT_EQ(std::string((*late)[0].payload), "late");

  // Bad checkpoints.
  EXPECT_EQ(source.Seek({{"0", "abc"}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(source.Seek({{"0", "-1"}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(source.Seek({{"3", "1"}}).code(), absl::StatusCode::kInvalidArgument);
  // A checkpoint past the end of the log (the folder was replaced) is an error, not a wait.
  ASSERT_TRUE(source.Seek({{"0", "100"}}).ok());
  EXPECT_EQ(source.Poll(10, absl::ZeroDuration()).status().code(), absl::StatusCode::kOutOfRange);
  // "" means nothing consumed.
  ASSERT_TRUE(source.Seek({{"0", ""}}).ok());
  auto again = source.Poll(1, absl::ZeroDuration());
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].position, "0");
}

TEST(LogSourceTest, SeekWithoutCheckpointStartsAtOldestRetained) {
  LogOptions options = FastOptions();
  options.segment_bytes = 100;
  auto log = EventLog::Open(MakeTempDir(), options);
  ASSERT_TRUE(log.ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE((*log)->Append({std::string(70, 'a' + i)}, "").ok());
  ASSERT_TRUE((*log)->TruncateBefore(3).ok());
  EXPECT_EQ((*log)->start_offset(), 3u);
  LogSource source(log->get(), "s");
  ASSERT_TRUE(source.Seek({}).ok());
  auto events = source.Poll(10, absl::ZeroDuration());
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].position, "3");
  // A checkpoint whose next event was removed by retention fails loudly.
  ASSERT_TRUE(source.Seek({{"0", "0"}}).ok());
  EXPECT_EQ(source.Poll(10, absl::ZeroDuration()).status().code(), absl::StatusCode::kOutOfRange);
}

// Prints throughput only (timing is never asserted).
TEST(EventLogTest, GroupCommitThroughput) {
  std::string dir = MakeTempDir();
  auto log = EventLog::Open(dir, LogOptions{});  // defaults: group commit every 5 ms
  ASSERT_TRUE(log.ok());
  std::vector<std::string> events;
  for (int i = 0; i < 1000; ++i) {
    events.push_back(StrCat("{\"user\":\"u", i, "\",\"event\":\"click\",\"page\":\"/products/",
                            i * 7, "\",\"ts\":\"2026-11-24T06:30:42.448909Z\",\"pad\":\"",
                            std::string(40, 'x'), "\"}"));
  }
  std::vector<std::string_view> views = Views(events);
  auto run = [&](int threads, int appends_each) {
    auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&] {
        for (int i = 0; i < appends_each; ++i) ASSERT_TRUE((*log)->Append(views, "").ok());
      });
    }
    for (std::thread& w : workers) w.join();
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double n = 1000.0 * threads * appends_each;
    printf(
        "event log group commit: %d thread(s) x %d appends of 1000 ~%zu-byte events: %.0f "
        "events/s\n",
        threads, appends_each, events[0].size(), n / seconds);
  };
  run(1, 200);
  run(4, 50);
  EXPECT_EQ((*log)->next_offset(), 400000u);
  log->reset();
  fs::remove_all(dir);  // 60 MB
}

}  // namespace
}  // namespace watershed::sources
