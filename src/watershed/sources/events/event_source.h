// sources/events/event_source.h — what every event stream looks like to the stream-to-lake writer.
//
// A stream is one or more partitions (the local log has one, "0"; a Kinesis stream has shards; a
// Kafka topic has partitions). Every event has a position inside its partition. A checkpoint is
// the position to resume *after*: reading resumes with the first event whose position is greater.
// Positions are decimal strings (log offsets, Kafka offsets, Kinesis sequence numbers) and
// compare as unsigned numbers of any length (ComparePositions).
//
// Implementations: log_source.h (the local durable log fed by `watershed serve`), kinesis.h
// (Kinesis Data Streams), kafka.h (librdkafka consumer). Does not own: where checkpoints are
// stored (the catalog, through load/), or what is done with the events.
// Thread safety: one thread uses an EventSource.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "watershed/base/status.h"

namespace watershed::sources {

struct Event {
  std::string partition;        // "0", "shardId-000000000000", "3"
  std::string position;         // decimal; unique and increasing within the partition
  std::string_view payload;     // the event's bytes (JSON expected); valid until the next Poll()
  int64_t arrived_micros = 0;   // when the stream accepted it (log append, Kinesis arrival,
                                // Kafka timestamp), microseconds since the Unix epoch
};

struct PartitionLag {
  std::string partition;
  int64_t events_behind = -1;   // -1 when the source cannot tell
  int64_t millis_behind = -1;   // -1 when the source cannot tell
};

class EventSource {
 public:
  virtual ~EventSource() = default;

  // "http log clicks", "kinesis clicks", "kafka clicks" — for messages.
  virtual std::string Describe() const = 0;

  // Where to resume, per partition: the checkpoint (position of the last event already consumed).
  // Partitions not in `checkpoints` are read from their beginning (oldest retained event).
  // May be called again to rewind.
  virtual Status Seek(const std::map<std::string, std::string>& checkpoints) = 0;

  // Up to `max_events` events, in position order within each partition, waiting at most `wait`
  // for the first one to arrive. An empty vector means nothing new. Errors that will pass
  // (throttling, a broker away) are retried inside when cheap, otherwise returned as
  // kUnavailable for the caller to retry.
  virtual StatusOr<std::vector<Event>> Poll(size_t max_events, absl::Duration wait) = 0;

  // How far behind the newest event the last Poll() left each partition.
  virtual std::vector<PartitionLag> Lag() = 0;
};

// <0, 0, >0 as `a` is before, equal to, after `b` (unsigned decimals of any length; "" is the
// smallest, meaning "nothing consumed").
int ComparePositions(std::string_view a, std::string_view b);

}  // namespace watershed::sources
