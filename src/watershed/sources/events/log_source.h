// sources/events/log_source.h — the local event log (log.h) seen as an EventSource.
//
// Owns: turning log offsets into positions (partition "0", position = the event's offset in
// decimal), resuming after a checkpoint, waiting for new events, and lag.
// Does not own: the log (the caller keeps the EventLog open for the source's lifetime),
// storing checkpoints.
// Thread safety: one thread uses a LogSource (the EventSource contract); the EventLog under it
// may be appended to from other threads meanwhile.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "watershed/sources/events/event_source.h"
#include "watershed/sources/events/log.h"

namespace watershed::sources {

class LogSource : public EventSource {
 public:
  // Payload bytes gathered per Poll at most (at least one event is always returned).
  static constexpr size_t kMaxPollBytes = size_t{16} << 20;

  // `log` must outlive the source. Starts at log->start_offset() until Seek says otherwise.
  LogSource(EventLog* log, std::string stream_name);

  // "http log <stream>".
  std::string Describe() const override;

  // Checkpoint c of partition "0" resumes at offset c+1; no checkpoint (or "") resumes at the
  // oldest retained offset. kInvalidArgument for a checkpoint that is not a decimal offset or
  // for any partition other than "0" (the stream was something else before).
  Status Seek(const std::map<std::string, std::string>& checkpoints) override;

  // Waits up to `wait` for the next durable event, then returns up to `max_events` of them.
  // Errors from the log pass through: kOutOfRange when the next offset was removed by
  // retention or lies past the end of the log (the folder was replaced), kDataLoss for a
  // corrupt entry. Neither is retried.
  StatusOr<std::vector<Event>> Poll(size_t max_events, absl::Duration wait) override;

  // One partition "0": events_behind = durable offset - next offset to read; millis_behind =
  // 0 when caught up, else the age of the last event Poll returned (-1 before any).
  std::vector<PartitionLag> Lag() override;

  uint64_t next_offset() const { return next_; }

 private:
  EventLog* log_;
  std::string stream_name_;
  uint64_t next_;
  int64_t last_arrived_micros_ = -1;
  std::string buffer_;
  std::vector<LoggedEvent> logged_;
};

}  // namespace watershed::sources
