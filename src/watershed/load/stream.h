// load/stream.h — streams: their settings in watershed.yml and the stream-to-lake writer.
//
// Owns: the `streams:` section (docs/formats/streams.md) and StreamWriter, which reads an
// EventSource in micro-batches (by count or time, default 1 s), normalizes the events into the
// lake table `stream.<name>` (each row stamped with `_ws_partition`, `_ws_position`,
// `_ws_arrived_at`) and commits every batch together with the stream's checkpoints (catalog
// cursors `stream:<name>` / partition -> position) in one catalog commit: exactly once into the
// lake across crashes and restarts. Malformed events go to `watershed.quarantine` with the stream,
// partition and position. Other consumers of the same batches (the real-time mart) implement
// StreamConsumer and keep their own checkpoints; the writer rewinds the source to the oldest
// checkpoint of all and hands each consumer only the events past its own, so each applies every
// event once too. Does not own: the sources (sources/events/) or what consumers compute.
// Thread safety: a StreamWriter is driven by one thread; stats() may be read from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "absl/time/time.h"
#include "watershed/base/status.h"
#include "watershed/load/session.h"
#include "watershed/project/project.h"
#include "watershed/sources/events/event_source.h"

namespace watershed::load {

inline constexpr std::string_view kStreamNamespace = "stream";

struct StreamConfig {
  std::string name;               // [a-z0-9_]+ ; lake table stream.<name>
  std::string source = "http";    // http (the `watershed serve` log) | kinesis | kafka
  YAML::Node settings;            // the whole entry (kinesis:/kafka: settings, accumulators:...)
  size_t batch_max_events = 100000;
  absl::Duration batch_max_wait = absl::Seconds(1);
  // http: how appends become durable before the answer ("group_commit" or "fsync").
  std::string sync = "group_commit";
  absl::Duration group_commit_interval = absl::Milliseconds(5);
  // http: ingest answers 429 while more events than this wait for the lake writer.
  int64_t max_lag_events = 5000000;
  // Lake upkeep after commits: compact a partition once it has this many small files, and
  // expire snapshots older than `snapshot_max_age` (keeping at least `keep_snapshots`).
  int compact_min_files = 16;
  absl::Duration snapshot_max_age = absl::Hours(24);
  int keep_snapshots = 100;

  std::string table() const { return StrCat(kStreamNamespace, ".", name); }
  std::string cursor_source() const { return StrCat("stream:", name); }
};

// The `streams:` node of watershed.yml (absent = none). Errors name the stream and the field.
StatusOr<std::map<std::string, StreamConfig>> ParseStreams(const YAML::Node& streams);

// Something else fed by a stream's micro-batches, exactly once (the real-time mart).
class StreamConsumer {
 public:
  virtual ~StreamConsumer() = default;
  // Per partition, the position of the last event already applied.
  virtual StatusOr<std::map<std::string, std::string>> Checkpoints() = 0;
  // Applies `events` (only those past this consumer's checkpoints) and records `checkpoints`
  // (the new per-partition positions) atomically with them.
  virtual Status Apply(const std::vector<sources::Event>& events,
                       const std::map<std::string, std::string>& checkpoints) = 0;
};

struct StreamStats {
  std::atomic<uint64_t> events{0};        // events committed to the lake by this writer
  std::atomic<uint64_t> quarantined{0};   // of which malformed
  std::atomic<uint64_t> batches{0};
  std::atomic<int64_t> last_commit_micros{0};
  std::atomic<int64_t> last_snapshot{0};
  std::atomic<int64_t> lag_events{0};     // behind the source's newest event, after the last poll
  // How long the oldest event of the last committed batch waited from its arrival to the commit
  // (watershed_stream_lag_seconds).
  std::atomic<double> lag_seconds{0};
  std::atomic<uint64_t> lake_position{0}; // numeric sources: next position the lake wants
  std::atomic<uint64_t> consumed_position{0};  // ...and that every consumer wants (retention)
};

class StreamWriter {
 public:
  // `project` must be this thread's own Project (a catalog is used by one thread).
  static StatusOr<std::unique_ptr<StreamWriter>> Create(project::Project& project,
                                                        StreamConfig config,
                                                        sources::EventSource* source,
                                                        std::vector<StreamConsumer*> consumers);
  ~StreamWriter();

  // One micro-batch: polls until batch_max_events or batch_max_wait (or `stop` is set), then
  // commits. Returns the number of events read (0 = nothing new).
  StatusOr<size_t> RunBatch(const std::atomic<bool>* stop = nullptr);
  // Runs batches until `stop` is set; transient errors are retried with back-off and logged.
  Status Run(const std::atomic<bool>& stop);

  const StreamStats& stats() const { return stats_; }
  const StreamConfig& config() const { return config_; }

 private:
  StreamWriter(project::Project& project, StreamConfig config, sources::EventSource* source,
               std::vector<StreamConsumer*> consumers)
      : project_(project), config_(std::move(config)), source_(source),
        consumers_(std::move(consumers)) {}
  Status Rewind();
  void UpdatePositions();
  Status CommitToLake(const std::vector<const sources::Event*>& events,
                      const std::map<std::string, std::string>& checkpoints);

  project::Project& project_;
  StreamConfig config_;
  sources::EventSource* source_;
  std::vector<StreamConsumer*> consumers_;
  std::unique_ptr<LoadSession> session_;
  std::map<std::string, std::string> lake_checkpoints_;
  std::vector<std::map<std::string, std::string>> consumer_checkpoints_;
  StreamStats stats_;
};

// The lake's checkpoints of a stream (catalog cursors), per partition.
StatusOr<std::map<std::string, std::string>> LakeCheckpoints(lake::Catalog& catalog,
                                                             const std::string& stream);

}  // namespace watershed::load
