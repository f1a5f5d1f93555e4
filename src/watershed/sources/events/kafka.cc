// sources/events/kafka.cc — the librdkafka adapter: KafkaSource and KafkaProduce. See kafka.h.
#include "watershed/sources/events/kafka.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <set>

#include "watershed/base/log.h"
#include "watershed/base/redact.h"

namespace watershed::sources {
namespace {

// A setting whose value is registered as a secret: its name is a credential (base/redact.h),
// and the value is not a plain number (session.timeout.ms matches the name rule; registering
// "45000" would turn every 45000 in every log line into ***).
bool IsSecretSetting(std::string_view key, std::string_view value) {
  if (!IsCredentialName(key)) return false;
  return !std::all_of(value.begin(), value.end(),
                      [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; });
}

void OnLog(const rd_kafka_t*, int level, const char* facility, const char* message) {
  // syslog levels: 0-3 errors, 4 warnings, 5-7 notice/info/debug.
  if (level <= 4) {
    LogWarn("librdkafka", {{"facility", facility}, {"message", message}});
  } else {
    LogDebug("librdkafka", {{"facility", facility}, {"message", message}});
  }
}

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
using Conf = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

// A configuration with `settings` applied in order; errors name the key, never the value.
StatusOr<Conf> MakeConf(std::string_view what,
                        const std::vector<std::pair<std::string, std::string>>& settings) {
  Conf conf(rd_kafka_conf_new());
  rd_kafka_conf_set_log_cb(conf.get(), &OnLog);
  char errstr[512];
  for (const auto& [key, value] : settings) {
    if (IsSecretSetting(key, value)) RegisterSecret(value);
    if (rd_kafka_conf_set(conf.get(), key.c_str(), value.c_str(), errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
      return Status(absl::StatusCode::kInvalidArgument,
                    RedactSecrets(StrCat(what, ": kafka setting '", key, "': ", errstr)));
    }
  }
  return conf;
}

std::optional<int64_t> ParseOffset(std::string_view s) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || value < 0) return std::nullopt;
  return value;
}

absl::StatusCode CodeOf(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
      return absl::StatusCode::kNotFound;
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
      return absl::StatusCode::kPermissionDenied;
    default:
      return absl::StatusCode::kUnavailable;
  }
}

}  // namespace

struct KafkaSource::Impl {
  KafkaOptions options;
  rd_kafka_t* rk = nullptr;
  std::vector<int32_t> partitions;
  std::map<int32_t, int64_t> next_offset;  // -1 = from the beginning, any offset accepted
  std::vector<rd_kafka_message_t*> held;   // the last Poll's messages (Event::payload views)

  void Release() {
    for (rd_kafka_message_t* m : held) rd_kafka_message_destroy(m);
    held.clear();
  }
  ~Impl() {
    Release();
    if (rk != nullptr) {
      rd_kafka_consumer_close(rk);
      rd_kafka_destroy(rk);
    }
  }
};

KafkaSource::KafkaSource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KafkaSource::~KafkaSource() = default;

StatusOr<std::unique_ptr<KafkaSource>> KafkaSource::Create(KafkaOptions options) {
  const std::string what = StrCat("kafka ", options.topic);
  if (options.brokers.empty() || options.topic.empty()) {
    return Status(absl::StatusCode::kInvalidArgument, "kafka: brokers and topic are required");
  }
  std::vector<std::pair<std::string, std::string>> settings = {
      {"bootstrap.servers", options.brokers},
      {"client.id", "watershed"},
      // Required by the consumer API; never joined (assign() only) and nothing is committed.
      {"group.id", StrCat("watershed-", options.topic)},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      {"enable.partition.eof", "false"},
      {"allow.auto.create.topics", "false"},
  };
  for (const auto& [key, value] : options.config) settings.emplace_back(key, value);
  WS_ASSIGN_OR_RETURN(Conf conf, MakeConf(what, settings));

  auto impl = std::make_unique<Impl>();
  char errstr[512];
  impl->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), errstr, sizeof(errstr));
  if (impl->rk == nullptr) {
    return Status(absl::StatusCode::kInvalidArgument,
                  RedactSecrets(StrCat(what, ": cannot create consumer: ", errstr)));
  }
  conf.release();  // owned by rk now
  rd_kafka_poll_set_consumer(impl->rk);

  // Metadata: which partitions exist.
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(impl->rk, options.topic.c_str(), nullptr);
  const rd_kafka_metadata_t* metadata = nullptr;
  rd_kafka_resp_err_t err =
      rd_kafka_metadata(impl->rk, 0, rkt, &metadata,
                        static_cast<int>(absl::ToInt64Milliseconds(options.metadata_timeout)));
  rd_kafka_topic_destroy(rkt);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status(CodeOf(err) == absl::StatusCode::kNotFound ? absl::StatusCode::kNotFound
                                                             : absl::StatusCode::kUnavailable,
                  StrCat(what, ": metadata from ", options.brokers, ": ", rd_kafka_err2str(err)));
  }
  std::set<int32_t> existing;
  rd_kafka_resp_err_t topic_err = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
  for (int t = 0; t < metadata->topic_cnt; ++t) {
    const rd_kafka_metadata_topic_t& topic = metadata->topics[t];
    if (options.topic != topic.topic) continue;
    topic_err = topic.err;
    for (int p = 0; p < topic.partition_cnt; ++p) existing.insert(topic.partitions[p].id);
  }
  rd_kafka_metadata_destroy(metadata);
  if (topic_err != RD_KAFKA_RESP_ERR_NO_ERROR || existing.empty()) {
    return Status(
        topic_err == RD_KAFKA_RESP_ERR_NO_ERROR ? absl::StatusCode::kNotFound : CodeOf(topic_err),
        StrCat(what, ": topic not available: ",
               rd_kafka_err2str(topic_err == RD_KAFKA_RESP_ERR_NO_ERROR
                                    ? RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART
                                    : topic_err)));
  }
  if (options.partitions.empty()) {
    impl->partitions.assign(existing.begin(), existing.end());
  } else {
    for (int32_t p : options.partitions) {
      if (existing.count(p) == 0) {
        return Status(absl::StatusCode::kInvalidArgument,
                      StrCat(what, ": partition ", p, " does not exist (the topic has ",
                             existing.size(), ")"));
      }
    }
    std::set<int32_t> unique(options.partitions.begin(), options.partitions.end());
    impl->partitions.assign(unique.begin(), unique.end());
  }
  impl->options = std::move(options);
  std::unique_ptr<KafkaSource> source(new KafkaSource(std::move(impl)));
  WS_RETURN_IF_ERROR(source->Seek({}));
  return source;
}

std::string KafkaSource::Describe() const { return StrCat("kafka ", impl_->options.topic); }

std::vector<int32_t> KafkaSource::Partitions() const { return impl_->partitions; }

Status KafkaSource::Seek(const std::map<std::string, std::string>& checkpoints) {
  std::map<int32_t, int64_t> next;
  for (int32_t p : impl_->partitions) next[p] = -1;
  for (const auto& [partition, position] : checkpoints) {
    std::optional<int64_t> p = ParseOffset(partition);
    if (!p.has_value() || *p > INT32_MAX) {
      return Status(absl::StatusCode::kInvalidArgument,
                    StrCat(Describe(), ": checkpoint for a partition that is not a number: '",
                           partition, "'"));
    }
    if (next.count(static_cast<int32_t>(*p)) == 0) continue;  // not read by this source
    if (position.empty()) continue;                           // nothing consumed yet
    std::optional<int64_t> offset = ParseOffset(position);
    if (!offset.has_value() || *offset == INT64_MAX) {
      return Status(absl::StatusCode::kInvalidArgument,
                    StrCat(Describe(), ": checkpoint of partition ", partition,
                           " is not an offset: '", position, "'"));
    }
    next[static_cast<int32_t>(*p)] = *offset + 1;
  }
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(next.size()));
  for (const auto& [p, offset] : next) {
    rd_kafka_topic_partition_list_add(list, impl_->options.topic.c_str(), p)->offset =
        offset >= 0 ? offset : RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_resp_err_t err = rd_kafka_assign(impl_->rk, nullptr);  // drop the old positions
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) err = rd_kafka_assign(impl_->rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status(absl::StatusCode::kInternal,
                  StrCat(Describe(), ": assign failed: ", rd_kafka_err2str(err)));
  }
  impl_->next_offset = std::move(next);
  return Status();
}

StatusOr<std::vector<Event>> KafkaSource::Poll(size_t max_events, absl::Duration wait) {
  impl_->Release();
  std::vector<Event> events;
  const absl::Time deadline = absl::Now() + std::max(wait, absl::ZeroDuration());
  while (events.size() < max_events) {
    int timeout_ms = 0;
    if (events.empty()) {
      timeout_ms = static_cast<int>(
          std::clamp<int64_t>(absl::ToInt64Milliseconds(deadline - absl::Now()), 0, 1000));
    }
    rd_kafka_message_t* message = rd_kafka_consumer_poll(impl_->rk, timeout_ms);
    if (message == nullptr) {
      if (events.empty() && absl::Now() < deadline) continue;
      break;
    }
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      const rd_kafka_resp_err_t err = message->err;
      const std::string text = rd_kafka_message_errstr(message);
      rd_kafka_message_destroy(message);
      if (err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
      if (err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE ||
          err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET) {
        LogWarn("kafka offset out of range, resuming at the oldest retained offset",
                {{"source", Describe()}, {"error", text}});
        continue;
      }
      if (!events.empty()) break;  // hand out what arrived; the error comes back if it lasts
      return Status(CodeOf(err), StrCat(Describe(), ": ", text));
    }
    const int32_t partition = message->partition;
    auto next = impl_->next_offset.find(partition);
    if (next == impl_->next_offset.end() || message->offset < next->second) {
      rd_kafka_message_destroy(message);  // from before the last Seek
      continue;
    }
    next->second = message->offset + 1;
    rd_kafka_timestamp_type_t type;
    int64_t millis = rd_kafka_message_timestamp(message, &type);
    impl_->held.push_back(message);
    events.push_back(Event{
        .partition = StrCat(partition),
        .position = StrCat(message->offset),
        .payload = message->payload == nullptr
                       ? std::string_view()
                       : std::string_view(static_cast<const char*>(message->payload), message->len),
        .arrived_micros = millis >= 0 ? millis * 1000 : absl::ToUnixMicros(absl::Now())});
  }
  return events;
}

std::vector<PartitionLag> KafkaSource::Lag() {
  std::vector<PartitionLag> lags;
  for (const auto& [partition, next] : impl_->next_offset) {
    PartitionLag lag{.partition = StrCat(partition)};
    int64_t low = 0;
    int64_t high = 0;
    if (rd_kafka_query_watermark_offsets(impl_->rk, impl_->options.topic.c_str(), partition, &low,
                                         &high, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      lag.events_behind = std::max<int64_t>(0, high - std::max(next, low));
      lag.millis_behind = lag.events_behind == 0 ? 0 : -1;
    }
    lags.push_back(std::move(lag));
  }
  return lags;
}

namespace {

struct DeliveryCounts {
  std::atomic<int64_t> failed{0};
  std::atomic<int64_t> delivered{0};
  std::string first_error;  // written by the poll thread (our thread) only
};

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  auto* counts = static_cast<DeliveryCounts*>(opaque);
  if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (counts->failed.fetch_add(1) == 0) counts->first_error = rd_kafka_err2str(message->err);
  } else {
    counts->delivered.fetch_add(1);
  }
}

}  // namespace

Status KafkaProduce(const std::string& brokers, const std::string& topic,
                    const std::vector<KafkaMessage>& messages,
                    const std::map<std::string, std::string>& config, absl::Duration timeout) {
  const std::string what = StrCat("kafka produce ", topic);
  std::vector<std::pair<std::string, std::string>> settings = {{"bootstrap.servers", brokers},
                                                               {"client.id", "watershed"},
                                                               {"acks", "all"},
                                                               {"linger.ms", "5"}};
  for (const auto& [key, value] : config) settings.emplace_back(key, value);
  WS_ASSIGN_OR_RETURN(Conf conf, MakeConf(what, settings));
  DeliveryCounts counts;
  rd_kafka_conf_set_dr_msg_cb(conf.get(), &OnDelivery);
  rd_kafka_conf_set_opaque(conf.get(), &counts);
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof(errstr));
  if (rk == nullptr) {
    return Status(absl::StatusCode::kInvalidArgument,
                  RedactSecrets(StrCat(what, ": cannot create producer: ", errstr)));
  }
  conf.release();
  struct Destroy {
    rd_kafka_t* rk;
    ~Destroy() { rd_kafka_destroy(rk); }
  } destroy{rk};

  const absl::Time deadline = absl::Now() + timeout;
  for (const KafkaMessage& m : messages) {
    while (true) {
      rd_kafka_resp_err_t err = rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(topic.c_str()),
          RD_KAFKA_V_PARTITION(m.partition >= 0 ? m.partition : RD_KAFKA_PARTITION_UA),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_KEY(m.key.empty() ? nullptr : m.key.data(), m.key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(m.value.data()), m.value.size()), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || absl::Now() >= deadline) {
        return Status(CodeOf(err), StrCat(what, ": ", rd_kafka_err2str(err)));
      }
      rd_kafka_poll(rk, 50);  // serve delivery reports to make room
    }
    rd_kafka_poll(rk, 0);
  }
  const int64_t left_ms = std::max<int64_t>(0, absl::ToInt64Milliseconds(deadline - absl::Now()));
  rd_kafka_flush(rk, static_cast<int>(std::min<int64_t>(left_ms, INT32_MAX)));
  if (int pending = rd_kafka_outq_len(rk); pending > 0) {
    return Status(absl::StatusCode::kDeadlineExceeded,
                  StrCat(what, ": ", pending, " messages not acknowledged within ",
                         absl::FormatDuration(timeout)));
  }
  if (counts.failed.load() > 0) {
    return Status(absl::StatusCode::kUnavailable,
                  StrCat(what, ": ", counts.failed.load(), " of ", messages.size(),
                         " messages failed: ", counts.first_error));
  }
  return Status();
}

StatusOr<std::unique_ptr<KafkaSource>> KafkaSourceFromYaml(const YAML::Node& node) {
  if (!node.IsDefined() || !node.IsMap()) {
    return Status(absl::StatusCode::kInvalidArgument,
                  "kafka settings must be a map with brokers and topic");
  }
  KafkaOptions options;
  try {
    for (const auto& entry : node) {
      const std::string key = entry.first.as<std::string>();
      const YAML::Node& value = entry.second;
      if (key == "brokers") {
        options.brokers = value.as<std::string>();
      } else if (key == "topic") {
        options.topic = value.as<std::string>();
      } else if (key == "partitions") {
        if (!value.IsSequence()) {
          return Status(absl::StatusCode::kInvalidArgument,
                        "kafka settings: partitions must be a list of numbers");
        }
        for (const auto& p : value) options.partitions.push_back(p.as<int32_t>());
      } else if (key == "config") {
        if (!value.IsMap()) {
          return Status(absl::StatusCode::kInvalidArgument,
                        "kafka settings: config must be a map of librdkafka properties");
        }
        for (const auto& c : value) {
          options.config[c.first.as<std::string>()] = c.second.as<std::string>();
        }
      } else {
        return Status(absl::StatusCode::kInvalidArgument,
                      StrCat("kafka settings: unknown key '", key, "'"));
      }
    }
  } catch (const YAML::Exception& e) {
    return Status(absl::StatusCode::kInvalidArgument,
                  StrCat("kafka settings: ", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
  }
  if (options.brokers.empty() || options.topic.empty()) {
    return Status(absl::StatusCode::kInvalidArgument,
                  "kafka settings: brokers and topic are required");
  }
  return KafkaSource::Create(std::move(options));
}

}  // namespace watershed::sources
