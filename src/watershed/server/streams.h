// server/streams.h — what `watershed serve` and `watershed streams` share about streams.
//
// Owns: where an http stream's log lives (`.watershed/streams/<stream>/`), building the
// Kinesis/Kafka source a stream declares, the lake upkeep the server runs for each stream
// (compaction of `stream.<name>`, snapshot expiry), each stream's status as another process
// sees it (log offsets, lake checkpoint, lag, recent throughput from the catalog). Thread safety:
// functions only; callers bring their own Project.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/load/stream.h"
#include "watershed/project/project.h"
#include "watershed/sources/events/event_source.h"

namespace watershed::server {

std::string StreamLogDir(const project::Project& project, const std::string& stream);

// The EventSource of a kinesis or kafka stream, from its settings.
StatusOr<std::unique_ptr<sources::EventSource>> MakeExternalSource(
    const load::StreamConfig& config);

// Compacts the stream's lake table when a partition has enough small files, and expires
// snapshots past the stream's retention.
Status LakeUpkeep(project::Project& project, const load::StreamConfig& config);

struct StreamStatus {
  std::string stream, source, table;
  int64_t next_offset = -1;  // http: end of the log (-1: not an http stream / no log yet)
  int64_t lake_offset = -1;  // http: next offset the lake wants
  int64_t lag_events = -1;   // http: next_offset - lake_offset
  int64_t log_bytes = 0;
  int64_t lake_rows = 0;         // rows of stream.<name> now
  int64_t quarantined = 0;       // from the commits of the last hour
  double events_per_second = 0;  // committed over the last minute
  std::string last_commit;       // ISO time of the newest commit, "" = none
  std::vector<std::pair<std::string, std::string>> checkpoints;  // partition -> position
};
StatusOr<std::vector<StreamStatus>> StreamsStatus(project::Project& project);

}  // namespace watershed::server
