// sources/events/kinesis.cc — KinesisSource and KinesisPutRecords. See kinesis.h.
#include "watershed/sources/events/kinesis.h"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <set>

#include "absl/strings/escaping.h"
#include "watershed/base/log.h"
#include "watershed/base/retry.h"

namespace watershed::sources {
namespace {

constexpr char kTarget[] = "Kinesis_20131202";

std::string JsonString(std::string_view s) { return StrCat("\"", JsonEscape(s), "\""); }

Status BadAnswer(std::string_view what, std::string_view detail) {
  return Status(absl::StatusCode::kInternal, StrCat(what, ": unexpected answer: ", detail));
}

// Retries transient errors of calls that are not per shard (ListShards, PutRecords).
RetryPolicy CallPolicy() {
  return RetryPolicy{.max_attempts = 8,
                     .initial_backoff = absl::Milliseconds(200),
                     .multiplier = 2.0,
                     .max_backoff = absl::Seconds(5),
                     .jitter = 0.3};
}

}  // namespace

struct KinesisSource::Shard {
  struct Buffered {
    std::string sequence;
    std::string data;
    int64_t arrived_micros = 0;
  };
  std::string id;
  std::string fetched_after;  // last sequence fetched (or the checkpoint); "" = TRIM_HORIZON
  std::string iterator;       // "" = acquire before the next GetRecords
  bool finished = false;      // closed and read to its end
  bool listed = true;         // in the last ListShards answer
  std::deque<Buffered> buffer;
  absl::Time next_call = absl::InfinitePast();
  absl::Duration throttle_backoff = absl::ZeroDuration();
  int64_t millis_behind = -1;
};

KinesisSource::KinesisSource(KinesisOptions options) : options_(std::move(options)) {
  if (options_.clock == nullptr) options_.clock = Clock::Real();
  client_ = std::make_unique<net::HttpClient>(options_.http);
}

KinesisSource::~KinesisSource() = default;

StatusOr<std::unique_ptr<KinesisSource>> KinesisSource::Create(KinesisOptions options) {
  if (options.stream_name.empty()) {
    return Status(absl::StatusCode::kInvalidArgument, "kinesis: stream_name is required");
  }
  if (options.records_per_call < 1 || options.records_per_call > 10000) {
    return Status(absl::StatusCode::kInvalidArgument,
                  StrCat("kinesis ", options.stream_name,
                         ": records_per_call must be 1..10000, not ", options.records_per_call));
  }
  std::unique_ptr<KinesisSource> source(new KinesisSource(std::move(options)));
  WS_RETURN_IF_ERROR(source->ListShards());
  return source;
}

std::string KinesisSource::Describe() const { return StrCat("kinesis ", options_.stream_name); }

std::vector<std::string> KinesisSource::Shards() const {
  std::vector<std::string> ids;
  for (const auto& [id, shard] : shards_) ids.push_back(id);
  return ids;
}

Status KinesisSource::ListShards() {
  const std::string what = StrCat("kinesis ", options_.stream_name, " ListShards");
  std::set<std::string> listed;
  std::string next_token;
  simdjson::dom::parser parser;
  do {
    const std::string body = next_token.empty()
                                 ? StrCat("{\"StreamName\":", JsonString(options_.stream_name), "}")
                                 : StrCat("{\"NextToken\":", JsonString(next_token), "}");
    WS_ASSIGN_OR_RETURN(std::string answer, Retry(CallPolicy(), options_.clock, [&](int) {
                          return net::AwsJsonCall(*client_, options_.aws, net::kKinesisService, kTarget,
                                             "ListShards", body);
                        }));
    simdjson::dom::element doc;
    simdjson::dom::array shards;
    if (parser.parse(answer).get(doc) != simdjson::SUCCESS ||
        doc["Shards"].get_array().get(shards) != simdjson::SUCCESS) {
      return BadAnswer(what, "no Shards array");
    }
    for (simdjson::dom::element shard : shards) {
      std::string_view id;
      if (shard["ShardId"].get_string().get(id) != simdjson::SUCCESS) {
        return BadAnswer(what, "a shard without ShardId");
      }
      listed.emplace(id);
    }
    std::string_view token;
    next_token = doc["NextToken"].get_string().get(token) == simdjson::SUCCESS ? std::string(token)
                                                                               : std::string();
  } while (!next_token.empty());

  for (auto it = shards_.begin(); it != shards_.end();) {
    Shard& shard = *it->second;
    shard.listed = listed.count(shard.id) > 0;
    // Gone past the retention period: nothing more can be read from it.
    if (!shard.listed && shard.buffer.empty()) {
      it = shards_.erase(it);
    } else {
      ++it;
    }
  }
  for (const std::string& id : listed) {
    if (shards_.count(id) > 0) continue;
    auto shard = std::make_unique<Shard>();
    shard->id = id;
    if (auto c = checkpoints_.find(id); c != checkpoints_.end()) shard->fetched_after = c->second;
    shards_.emplace(id, std::move(shard));
  }
  last_list_ = options_.clock->Now();
  relist_due_ = false;
  return Status();
}

Status KinesisSource::Seek(const std::map<std::string, std::string>& checkpoints) {
  for (const auto& [partition, position] : checkpoints) {
    if (!position.empty() && !std::all_of(position.begin(), position.end(),
                                          [](char c) { return c >= '0' && c <= '9'; })) {
      return Status(absl::StatusCode::kInvalidArgument,
                    StrCat(Describe(), ": checkpoint of ", partition,
                           " is not a sequence number: '", position, "'"));
    }
  }
  checkpoints_ = checkpoints;
  for (auto& [id, shard] : shards_) {
    auto c = checkpoints_.find(id);
    shard->fetched_after = c != checkpoints_.end() ? c->second : std::string();
    shard->iterator.clear();
    shard->finished = false;
    shard->buffer.clear();
    shard->next_call = absl::InfinitePast();
    shard->throttle_backoff = absl::ZeroDuration();
    shard->millis_behind = -1;
  }
  return Status();
}

Status KinesisSource::AcquireIterator(Shard& shard) {
  std::string body = StrCat("{\"StreamName\":", JsonString(options_.stream_name),
                            ",\"ShardId\":", JsonString(shard.id));
  if (shard.fetched_after.empty()) {
    body += ",\"ShardIteratorType\":\"TRIM_HORIZON\"}";
  } else {
    body += StrCat(",\"ShardIteratorType\":\"AFTER_SEQUENCE_NUMBER\",\"StartingSequenceNumber\":",
                   JsonString(shard.fetched_after), "}");
  }
  WS_ASSIGN_OR_RETURN(std::string answer, net::AwsJsonCall(*client_, options_.aws, net::kKinesisService,
                                                      kTarget, "GetShardIterator", body));
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view iterator;
  if (parser.parse(answer).get(doc) != simdjson::SUCCESS) {
    return BadAnswer(StrCat(Describe(), " GetShardIterator ", shard.id), "not JSON");
  }
  if (doc["ShardIterator"].get_string().get(iterator) != simdjson::SUCCESS || iterator.empty()) {
    shard.finished = true;  // a closed shard with nothing after the position
    relist_due_ = true;
    return Status();
  }
  shard.iterator = std::string(iterator);
  return Status();
}

StatusOr<bool> KinesisSource::Fetch(Shard& shard) {
  const absl::Time now = options_.clock->Now();
  if (shard.finished || !shard.buffer.empty() || now < shard.next_call) return false;
  auto throttled = [&](const Status& status) {
    shard.throttle_backoff =
        std::clamp(shard.throttle_backoff * 2, options_.throttle_initial_backoff,
                   options_.throttle_max_backoff);
    shard.next_call = options_.clock->Now() + shard.throttle_backoff;
    LogDebug("kinesis shard throttled",
             {{"source", Describe()},
              {"shard", shard.id},
              {"error", std::string(MessageOf(status))},
              {"backoff", absl::FormatDuration(shard.throttle_backoff)}});
  };
  if (shard.iterator.empty()) {
    Status status = AcquireIterator(shard);
    if (status.code() == absl::StatusCode::kResourceExhausted) {
      throttled(status);
      return false;
    }
    WS_RETURN_IF_ERROR(Annotate(status, StrCat("shard ", shard.id)));
    if (shard.finished) return true;
  }
  const std::string body = StrCat("{\"ShardIterator\":", JsonString(shard.iterator),
                                  ",\"Limit\":", options_.records_per_call, "}");
  StatusOr<std::string> answer =
      net::AwsJsonCall(*client_, options_.aws, net::kKinesisService, kTarget, "GetRecords", body);
  if (!answer.ok()) {
    const std::string code = net::AwsErrorCode(answer.status());
    if (code == "ExpiredIteratorException") {
      // Iterators live five minutes: start again right after what was fetched.
      LogInfo("kinesis iterator expired, re-acquiring",
              {{"source", Describe()}, {"shard", shard.id}, {"after", shard.fetched_after}});
      shard.iterator.clear();
      return true;
    }
    if (answer.status().code() == absl::StatusCode::kResourceExhausted) {
      throttled(answer.status());
      return false;
    }
    return Annotate(answer.status(), StrCat("shard ", shard.id));
  }
  shard.next_call = options_.clock->Now() + options_.min_call_interval;
  shard.throttle_backoff = absl::ZeroDuration();

  const std::string what = StrCat(Describe(), " GetRecords ", shard.id);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::array records;
  if (parser.parse(*answer).get(doc) != simdjson::SUCCESS ||
      doc["Records"].get_array().get(records) != simdjson::SUCCESS) {
    return BadAnswer(what, "no Records array");
  }
  for (simdjson::dom::element record : records) {
    std::string_view sequence;
    std::string_view data;
    if (record["SequenceNumber"].get_string().get(sequence) != simdjson::SUCCESS ||
        record["Data"].get_string().get(data) != simdjson::SUCCESS) {
      return BadAnswer(what, "a record without SequenceNumber or Data");
    }
    // Never hand out a position twice, whatever the service sends.
    if (ComparePositions(sequence, shard.fetched_after) <= 0) continue;
    double arrived_seconds = 0;
    int64_t arrived_micros = absl::ToUnixMicros(options_.clock->Now());
    if (record["ApproximateArrivalTimestamp"].get_double().get(arrived_seconds) ==
            simdjson::SUCCESS &&
        std::isfinite(arrived_seconds) && arrived_seconds > 0) {
      arrived_micros = static_cast<int64_t>(std::llround(arrived_seconds * 1e6));
    }
    shard.buffer.push_back({std::string(sequence), DecodeKinesisData(data), arrived_micros});
    shard.fetched_after = std::string(sequence);
  }
  int64_t millis_behind = -1;
  if (doc["MillisBehindLatest"].get_int64().get(millis_behind) == simdjson::SUCCESS) {
    shard.millis_behind = millis_behind;
  }
  std::string_view next;
  if (doc["NextShardIterator"].get_string().get(next) == simdjson::SUCCESS && !next.empty()) {
    shard.iterator = std::string(next);
  } else {
    shard.iterator.clear();
    shard.finished = true;  // closed and read to its end; its children are listed now
    relist_due_ = true;
  }
  return true;
}

StatusOr<std::vector<Event>> KinesisSource::Poll(size_t max_events, absl::Duration wait) {
  handed_out_.clear();
  std::vector<Event> events;
  if (max_events == 0) return events;
  const absl::Time deadline = options_.clock->Now() + std::max(wait, absl::ZeroDuration());
  while (true) {
    if (relist_due_ || options_.clock->Now() - last_list_ >= options_.relist_every) {
      WS_RETURN_IF_ERROR(Annotate(ListShards(), Describe()));
    }
    for (auto& [id, shard] : shards_) {
      // An expired iterator costs one more round, not the whole wait.
      for (int round = 0; round < 2; ++round) {
        WS_ASSIGN_OR_RETURN(bool called, Fetch(*shard));
        if (!called || !shard->iterator.empty() || shard->finished) break;
      }
    }
    // Hand out in sequence order per shard, sharing max_events fairly between shards.
    size_t non_empty = 0;
    for (auto& [id, shard] : shards_) non_empty += shard->buffer.empty() ? 0 : 1;
    if (non_empty > 0) {
      const size_t share = std::max<size_t>(1, max_events / non_empty);
      for (int pass = 0; pass < 2 && events.size() < max_events; ++pass) {
        for (auto& [id, shard] : shards_) {
          size_t taken = 0;
          while (!shard->buffer.empty() && events.size() < max_events &&
                 (pass == 1 || taken < share)) {
            Shard::Buffered& record = shard->buffer.front();
            handed_out_.push_back(std::move(record.data));
            events.push_back(Event{.partition = id,
                                   .position = std::move(record.sequence),
                                   .payload = handed_out_.back(),
                                   .arrived_micros = record.arrived_micros});
            shard->buffer.pop_front();
            ++taken;
          }
        }
      }
      return events;
    }
    const absl::Time now = options_.clock->Now();
    if (now >= deadline) return events;
    absl::Time wake = deadline;
    for (auto& [id, shard] : shards_) {
      if (!shard->finished) wake = std::min(wake, std::max(shard->next_call, now));
    }
    options_.clock->SleepFor(std::max(wake - now, absl::Milliseconds(10)));
  }
}

std::vector<PartitionLag> KinesisSource::Lag() {
  std::vector<PartitionLag> lags;
  const int64_t now_millis = absl::ToUnixMillis(options_.clock->Now());
  for (const auto& [id, shard] : shards_) {
    PartitionLag lag{.partition = id};
    if (shard->finished && shard->buffer.empty()) {
      lag.events_behind = 0;
      lag.millis_behind = 0;
    } else if (shard->millis_behind >= 0) {
      lag.millis_behind = shard->millis_behind;
      if (!shard->buffer.empty()) {
        lag.millis_behind = std::max<int64_t>(
            lag.millis_behind, now_millis - shard->buffer.front().arrived_micros / 1000);
      }
      if (shard->millis_behind == 0) lag.events_behind = static_cast<int64_t>(shard->buffer.size());
    }
    lags.push_back(std::move(lag));
  }
  return lags;
}

std::string DecodeKinesisData(std::string_view data_field) {
  std::string decoded;
  if (absl::Base64Unescape(absl::string_view(data_field.data(), data_field.size()), &decoded)) {
    return decoded;
  }
  return std::string(data_field);
}

StatusOr<std::vector<KinesisPutResult>> KinesisPutRecords(
    net::HttpClient& client, const net::AwsConfig& aws, const std::string& stream_name,
    const std::vector<KinesisRecord>& records) {
  constexpr size_t kMaxRecords = 500;
  constexpr size_t kMaxBytes = 5 * 1024 * 1024;
  constexpr size_t kMaxRecordBytes = 1024 * 1024;
  const std::string what = StrCat("kinesis ", stream_name, " PutRecords");
  std::vector<KinesisPutResult> results(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    const KinesisRecord& r = records[i];
    if (r.partition_key.empty() || r.partition_key.size() > 256) {
      return Status(absl::StatusCode::kInvalidArgument,
                    StrCat(what, ": record ", i, ": partition key must be 1..256 characters"));
    }
    if (r.data.size() + r.partition_key.size() > kMaxRecordBytes) {
      return Status(absl::StatusCode::kInvalidArgument,
                    StrCat(what, ": record ", i, " is larger than 1 MiB"));
    }
  }
  const RetryPolicy policy = CallPolicy();
  simdjson::dom::parser parser;
  size_t begin = 0;
  while (begin < records.size()) {
    size_t end = begin;
    size_t bytes = 0;
    while (end < records.size() && end - begin < kMaxRecords &&
           bytes + records[end].data.size() + records[end].partition_key.size() <= kMaxBytes) {
      bytes += records[end].data.size() + records[end].partition_key.size();
      ++end;
    }
    std::vector<size_t> pending;
    for (size_t i = begin; i < end; ++i) pending.push_back(i);
    for (int attempt = 1; !pending.empty(); ++attempt) {
      std::string body = StrCat("{\"StreamName\":", JsonString(stream_name), ",\"Records\":[");
      for (size_t k = 0; k < pending.size(); ++k) {
        const KinesisRecord& r = records[pending[k]];
        body += StrCat(k == 0 ? "" : ",", "{\"Data\":\"",
                       absl::Base64Escape(absl::string_view(r.data.data(), r.data.size())),
                       "\",\"PartitionKey\":", JsonString(r.partition_key), "}");
      }
      body += "]}";
      WS_ASSIGN_OR_RETURN(std::string answer, Retry(policy, Clock::Real(), [&](int) {
                            return net::AwsJsonCall(client, aws, net::kKinesisService, kTarget, "PutRecords",
                                               body);
                          }));
      simdjson::dom::element doc;
      simdjson::dom::array answers;
      if (parser.parse(answer).get(doc) != simdjson::SUCCESS ||
          doc["Records"].get_array().get(answers) != simdjson::SUCCESS ||
          answers.size() != pending.size()) {
        return BadAnswer(what, "Records missing or of the wrong length");
      }
      std::vector<size_t> failed;
      std::string last_error;
      size_t k = 0;
      for (simdjson::dom::element a : answers) {
        std::string_view sequence;
        std::string_view shard;
        if (a["SequenceNumber"].get_string().get(sequence) == simdjson::SUCCESS &&
            a["ShardId"].get_string().get(shard) == simdjson::SUCCESS) {
          results[pending[k]] = {std::string(shard), std::string(sequence)};
        } else {
          std::string_view code = "unknown error";
          std::string_view message;
          if (a["ErrorCode"].get_string().get(code) != simdjson::SUCCESS) code = "unknown error";
          if (a["ErrorMessage"].get_string().get(message) != simdjson::SUCCESS) message = "";
          last_error = StrCat(code, ": ", message);
          failed.push_back(pending[k]);
        }
        ++k;
      }
      if (!failed.empty()) {
        if (attempt >= policy.max_attempts) {
          return Status(absl::StatusCode::kUnavailable,
                        StrCat(what, ": ", failed.size(), " records still failing after ", attempt,
                               " attempts: ", last_error));
        }
        Clock::Real()->SleepFor(policy.Backoff(attempt, attempt));
      }
      pending = std::move(failed);
    }
    begin = end;
  }
  return results;
}

StatusOr<std::unique_ptr<KinesisSource>> KinesisSourceFromYaml(const YAML::Node& node,
                                                               const EnvLookup& getenv) {
  if (!node.IsDefined() || !node.IsMap()) {
    return Status(absl::StatusCode::kInvalidArgument,
                  "kinesis settings must be a map with at least stream_name");
  }
  static const std::set<std::string>& kKnown = *new std::set<std::string>{
      "stream_name",   "region",  "endpoint", "access_key_id",   "secret_access_key",
      "session_token", "profile", "role_arn", "records_per_call"};
  for (const auto& entry : node) {
    const std::string key = entry.first.as<std::string>("");
    if (kKnown.count(key) == 0) {
      return Status(absl::StatusCode::kInvalidArgument,
                    StrCat("kinesis settings: unknown key '", key, "'"));
    }
  }
  KinesisOptions options;
  WS_ASSIGN_OR_RETURN(options.aws, net::AwsConfigFromYaml(node, getenv));
  const YAML::Node name = node["stream_name"];
  if (!name.IsDefined() || !name.IsScalar() || name.Scalar().empty()) {
    return Status(absl::StatusCode::kInvalidArgument, "kinesis settings: stream_name is required");
  }
  options.stream_name = name.Scalar();
  if (node["records_per_call"].IsDefined()) {
    int n = 0;
    try {
      n = node["records_per_call"].as<int>();
    } catch (const YAML::Exception&) {
      return Status(absl::StatusCode::kInvalidArgument,
                    "kinesis settings: records_per_call must be a number");
    }
    options.records_per_call = n;
  }
  return KinesisSource::Create(std::move(options));
}

}  // namespace watershed::sources
