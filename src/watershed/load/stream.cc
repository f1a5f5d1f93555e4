// load/stream.cc — see stream.h.
#include "watershed/load/stream.h"

#include <algorithm>
#include <cstdlib>
#include <thread>

#include <nlohmann/json.hpp>

#include "watershed/base/clock.h"
#include "watershed/base/log.h"
#include "watershed/base/strings.h"
#include "watershed/load/loader.h"
#include "watershed/normalize/naming.h"

namespace watershed::load {
namespace {

bool ValidStreamName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool IsNumber(std::string_view s) {
  return !s.empty() && s.size() <= 18 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

StatusOr<std::map<std::string, StreamConfig>> ParseStreams(const YAML::Node& streams) {
  std::map<std::string, StreamConfig> out;
  if (!streams || streams.IsNull()) return out;  // absent, or `streams:` with nothing under it
  if (!streams.IsMap()) return absl::InvalidArgumentError("streams: must be a map of stream names");
  for (const auto& kv : streams) {
    StreamConfig c;
    c.name = kv.first.as<std::string>();
    auto where = [&](std::string_view field) { return StrCat("streams.", c.name, ".", field, ": "); };
    if (!ValidStreamName(c.name)) {
      return absl::InvalidArgumentError(StrCat("streams: '", c.name,
                                               "' is not a stream name (use a-z, 0-9 and _)"));
    }
    const YAML::Node& n = kv.second;
    c.settings = n;
    if (n && !n.IsNull() && !n.IsMap()) {
      return absl::InvalidArgumentError(StrCat(where("settings"), "expected a map"));
    }
    try {
      if (n["source"]) c.source = n["source"].as<std::string>();
      if (c.source != "http" && c.source != "kinesis" && c.source != "kafka") {
        return absl::InvalidArgumentError(
            StrCat(where("source"), "'", c.source, "' is not one of http, kinesis, kafka"));
      }
      if (const YAML::Node b = n["batch"]) {
        if (b["max_events"]) c.batch_max_events = b["max_events"].as<size_t>();
        if (b["max_wait"]) {
          auto d = ParseDuration(b["max_wait"].as<std::string>());
          if (!d.ok()) return absl::InvalidArgumentError(StrCat(where("batch.max_wait"), std::string(d.status().message())));
          c.batch_max_wait = *d;
        }
      }
      if (n["sync"]) c.sync = n["sync"].as<std::string>();
      if (c.sync != "group_commit" && c.sync != "fsync") {
        return absl::InvalidArgumentError(StrCat(where("sync"), "'", c.sync, "' is not group_commit or fsync"));
      }
      if (n["group_commit"]) {
        auto d = ParseDuration(n["group_commit"].as<std::string>());
        if (!d.ok()) return absl::InvalidArgumentError(StrCat(where("group_commit"), std::string(d.status().message())));
        c.group_commit_interval = *d;
      }
      if (n["max_lag_events"]) c.max_lag_events = n["max_lag_events"].as<int64_t>();
      if (const YAML::Node m = n["maintenance"]) {
        if (m["compact_min_files"]) c.compact_min_files = m["compact_min_files"].as<int>();
        if (m["keep_snapshots"]) c.keep_snapshots = m["keep_snapshots"].as<int>();
        if (m["snapshot_max_age"]) {
          auto d = ParseDuration(m["snapshot_max_age"].as<std::string>());
          if (!d.ok()) return absl::InvalidArgumentError(StrCat(where("maintenance.snapshot_max_age"), std::string(d.status().message())));
          c.snapshot_max_age = *d;
        }
      }
    } catch (const YAML::Exception& e) {
      return absl::InvalidArgumentError(StrCat("streams.", c.name, ": ", e.what()));
    }
    if (c.batch_max_events == 0) {
      return absl::InvalidArgumentError(StrCat(where("batch.max_events"), "must be at least 1"));
    }
    out.emplace(c.name, std::move(c));
  }
  return out;
}

StatusOr<std::map<std::string, std::string>> LakeCheckpoints(lake::Catalog& catalog,
                                                             const std::string& stream) {
  return catalog.Cursors(StrCat("stream:", stream));
}

StatusOr<std::unique_ptr<StreamWriter>> StreamWriter::Create(project::Project& project,
                                                             StreamConfig config,
                                                             sources::EventSource* source,
                                                             std::vector<StreamConsumer*> consumers) {
  std::unique_ptr<StreamWriter> w(
      new StreamWriter(project, std::move(config), source, std::move(consumers)));
  WS_RETURN_IF_ERROR(w->Rewind());
  return w;
}

StreamWriter::~StreamWriter() {
  if (session_) session_->Finish();
}

Status StreamWriter::Rewind() {
  WS_ASSIGN_OR_RETURN(lake::Catalog * catalog, project_.catalog());
  WS_ASSIGN_OR_RETURN(lake_checkpoints_, LakeCheckpoints(*catalog, config_.name));
  consumer_checkpoints_.clear();
  for (StreamConsumer* c : consumers_) {
    WS_ASSIGN_OR_RETURN(auto cp, c->Checkpoints());
    consumer_checkpoints_.push_back(std::move(cp));
  }
  // Resume from the oldest checkpoint of anyone: a partition somebody has not seen at all is read
  // from its beginning.
  std::map<std::string, std::string> seek = lake_checkpoints_;
  for (const auto& cp : consumer_checkpoints_) {
    for (auto it = seek.begin(); it != seek.end();) {
      auto c = cp.find(it->first);
      if (c == cp.end()) {
        it = seek.erase(it);
        continue;
      }
      if (sources::ComparePositions(c->second, it->second) < 0) it->second = c->second;
      ++it;
    }
  }
  UpdatePositions();
  return source_->Seek(seek);
}

void StreamWriter::UpdatePositions() {
  auto next = [](const std::map<std::string, std::string>& cp) -> uint64_t {
    auto n = cp.find("0");
    return n != cp.end() && IsNumber(n->second) ? std::stoull(n->second) + 1 : 0;
  };
  uint64_t lake = next(lake_checkpoints_);
  uint64_t consumed = lake;
  for (const auto& cp : consumer_checkpoints_) {
    consumed = std::min(consumed, next(cp));
  }
  stats_.lake_position = lake;
  stats_.consumed_position = consumed;
}

StatusOr<size_t> StreamWriter::RunBatch(const std::atomic<bool>* stop) {
  // Collect events until the batch is full or its time is up. Payloads are copied: a source's
  // views only live until its next Poll().
  std::vector<sources::Event> events;
  std::string arena;
  std::vector<std::pair<size_t, size_t>> spans;  // payload offset/size in arena
  const absl::Time deadline = absl::Now() + config_.batch_max_wait;
  while (events.size() < config_.batch_max_events) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration() || (stop != nullptr && stop->load())) break;
    WS_ASSIGN_OR_RETURN(std::vector<sources::Event> got,
                        source_->Poll(config_.batch_max_events - events.size(),
                                      std::min(left, absl::Milliseconds(200))));
    for (sources::Event& e : got) {
      spans.emplace_back(arena.size(), e.payload.size());
      arena.append(e.payload);
      e.payload = {};
      events.push_back(std::move(e));
    }
  }
  int64_t lag = 0;
  for (const sources::PartitionLag& l : source_->Lag()) lag += std::max<int64_t>(0, l.events_behind);
  stats_.lag_events = lag;
  if (events.empty()) return size_t{0};
  for (size_t i = 0; i < events.size(); ++i) {
    events[i].payload = std::string_view(arena).substr(spans[i].first, spans[i].second);
  }

  std::map<std::string, std::string> last;  // partition -> last position in this batch
  for (const sources::Event& e : events) last[e.partition] = e.position;
  auto past = [](const std::map<std::string, std::string>& cp, const sources::Event& e) {
    auto it = cp.find(e.partition);
    return it == cp.end() || sources::ComparePositions(e.position, it->second) > 0;
  };

  // Each partition's checkpoint moves to the batch's last position, never backwards: a batch
  // re-read for a lagging consumer holds partitions the others are already past.
  auto advance = [&last](std::map<std::string, std::string> cps) {
    for (const auto& [p, pos] : last) {
      auto it = cps.find(p);
      if (it == cps.end() || sources::ComparePositions(pos, it->second) > 0) cps[p] = pos;
    }
    return cps;
  };

  std::vector<const sources::Event*> for_lake;
  for (const sources::Event& e : events) {
    if (past(lake_checkpoints_, e)) for_lake.push_back(&e);
  }
  if (!for_lake.empty()) {
    std::map<std::string, std::string> cps = advance(lake_checkpoints_);
    Status s = CommitToLake(for_lake, cps);
    if (!s.ok()) {
      if (session_) session_->Abort(s);
      session_.reset();
      Rewind().IgnoreError();
      return s;
    }
    lake_checkpoints_ = std::move(cps);
  }
  for (size_t i = 0; i < consumers_.size(); ++i) {
    std::vector<sources::Event> mine;
    for (const sources::Event& e : events) {
      if (past(consumer_checkpoints_[i], e)) mine.push_back(e);
    }
    if (mine.empty()) continue;
    std::map<std::string, std::string> cps = advance(consumer_checkpoints_[i]);
    Status s = consumers_[i]->Apply(mine, cps);
    if (!s.ok()) {
      Rewind().IgnoreError();
      return s;
    }
    consumer_checkpoints_[i] = std::move(cps);
  }
  UpdatePositions();
  return events.size();
}

Status StreamWriter::CommitToLake(const std::vector<const sources::Event*>& events,
                                  const std::map<std::string, std::string>& checkpoints) {
  if (!session_) {
    // The project's limits (watershed.yml `limits:`) bound what one event may add.
    WS_ASSIGN_OR_RETURN(const sources::InputLimits limits, ResolveLimits(project_, {}));
    SessionOptions options{.threads = 1};
    options.max_columns = limits.max_columns;
    options.max_depth = limits.max_depth;
    WS_ASSIGN_OR_RETURN(session_, LoadSession::Begin(project_, StrCat("stream ", config_.name),
                                                     options));
  }
  const std::string table = config_.table();
  uint64_t bad = 0;
  for (const sources::Event* e : events) {
    // The writer's system columns, stamped beside the event's own fields (a client key under
    // the reserved prefix is renamed by the normalizer, so it cannot forge them).
    const bool numeric = IsNumber(e->position);
    const normalize::SystemValue system[] = {
        {normalize::kPartitionColumn, ColumnType::kVarchar, 0, e->partition},
        numeric ? normalize::SystemValue{normalize::kPositionColumn, ColumnType::kBigint,
                                         static_cast<int64_t>(std::stoll(e->position)), {}}
                : normalize::SystemValue{normalize::kPositionColumn, ColumnType::kVarchar, 0,
                                         e->position},
        {normalize::kArrivedAtColumn, ColumnType::kTimestamp, e->arrived_micros, {}}};
    Status s = session_->AddJson(table, e->payload, false, system);
    if (s.ok()) continue;
    if (s.code() != absl::StatusCode::kInvalidArgument &&
        s.code() != absl::StatusCode::kFailedPrecondition) {
      return s;
    }
    ++bad;
    BadRecord r;
    r.input = StrCat("stream ", config_.name, " partition ", e->partition, " position ", e->position);
    r.line = IsNumber(e->position) ? std::stoull(e->position) : 0;
    r.error = std::string(s.message());
    r.raw = e->payload;
    session_->Quarantine(table, r);
    WS_RETURN_IF_ERROR(session_->MaybeFlush());
  }
  std::vector<lake::Cursor> cursors;
  for (const auto& [partition, position] : checkpoints) {
    cursors.push_back({config_.cursor_source(), partition, position});
  }
  nlohmann::json summary = {{"stream", config_.name},
                            {"events", events.size()},
                            {"quarantined", bad}};
  WS_ASSIGN_OR_RETURN(int64_t snapshot, session_->Commit(cursors, summary));
  stats_.events += events.size();
  stats_.quarantined += bad;
  stats_.batches += 1;
  stats_.last_snapshot = snapshot;
  stats_.last_commit_micros = NowMicros();
  int64_t oldest = stats_.last_commit_micros;
  for (const sources::Event* e : events) {
    if (e->arrived_micros > 0) oldest = std::min(oldest, e->arrived_micros);
  }
  stats_.lag_seconds = static_cast<double>(stats_.last_commit_micros - oldest) / 1e6;
  return absl::OkStatus();
}

Status StreamWriter::Run(const std::atomic<bool>& stop) {
  absl::Duration backoff = absl::Milliseconds(100);
  while (!stop.load()) {
    auto n = RunBatch(&stop);
    if (n.ok()) {
      backoff = absl::Milliseconds(100);
      continue;
    }
    LogWarn(StrCat("stream ", config_.name, ": ", n.status().ToString(), " (retrying in ",
                   absl::FormatDuration(backoff), ")"));
    absl::Time until = absl::Now() + backoff;
    while (!stop.load() && absl::Now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    backoff = std::min(backoff * 2, absl::Seconds(10));
  }
  return absl::OkStatus();
}

}  // namespace watershed::load
