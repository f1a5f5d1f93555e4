// sources/events/log_source.cc — the EventLog as an EventSource (see log_source.h).
#include "watershed/sources/events/log_source.h"

#include <algorithm>
#include <charconv>
#include <utility>

#include "absl/time/clock.h"

namespace watershed::sources {

LogSource::LogSource(EventLog* log, std::string stream_name)
    : log_(log), stream_name_(std::move(stream_name)), next_(log->start_offset()) {}

std::string LogSource::Describe() const { return StrCat("http log ", stream_name_); }

Status LogSource::Seek(const std::map<std::string, std::string>& checkpoints) {
  uint64_t next = log_->start_offset();
  for (const auto& [partition, position] : checkpoints) {
    if (partition != "0") {
      return Status(absl::StatusCode::kInvalidArgument,
                    StrCat(Describe(), ": checkpoint names partition \"", partition,
                           "\" but the local log has only partition \"0\""));
    }
    if (position.empty()) continue;  // nothing consumed yet
    uint64_t checkpoint = 0;
    const char* end = position.data() + position.size();
    auto [ptr, err] = std::from_chars(position.data(), end, checkpoint);
    if (err != std::errc() || ptr != end || checkpoint == UINT64_MAX) {
      return Status(absl::StatusCode::kInvalidArgument,
                    StrCat(Describe(), ": checkpoint \"", position, "\" is not a log offset"));
    }
    next = checkpoint + 1;
  }
  next_ = next;
  last_arrived_micros_ = -1;
  return absl::OkStatus();
}

StatusOr<std::vector<Event>> LogSource::Poll(size_t max_events, absl::Duration wait) {
  std::vector<Event> events;
  if (max_events == 0) return events;
  if (log_->durable_offset() <= next_) log_->WaitFor(next_, wait);
  Status read = log_->Read(next_, max_events, kMaxPollBytes, &buffer_, &logged_);
  if (!read.ok()) return Annotate(read, Describe());
  events.reserve(logged_.size());
  for (const LoggedEvent& e : logged_) {
    events.push_back(Event{"0", std::to_string(e.offset), e.payload, e.appended_micros});
  }
  if (!logged_.empty()) {
    next_ = logged_.back().offset + 1;
    last_arrived_micros_ = logged_.back().appended_micros;
  }
  return events;
}

std::vector<PartitionLag> LogSource::Lag() {
  PartitionLag lag;
  lag.partition = "0";
  const uint64_t durable = log_->durable_offset();
  lag.events_behind = durable > next_ ? static_cast<int64_t>(durable - next_) : 0;
  if (lag.events_behind == 0) {
    lag.millis_behind = 0;
  } else if (last_arrived_micros_ >= 0) {
    lag.millis_behind =
        std::max<int64_t>(0, (absl::ToUnixMicros(absl::Now()) - last_arrived_micros_) / 1000);
  }
  return {lag};
}

}  // namespace watershed::sources
