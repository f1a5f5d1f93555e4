// sources/events/kafka.h — one Kafka topic as an EventSource (librdkafka), and a small producer.
//
// Owns: the librdkafka adapter (C API): a consumer that assign()s explicit partitions at
// explicit offsets — no consumer group is joined and nothing is committed to Kafka, because
// checkpoints live in Watershed's catalog — plus KafkaProduce for tests and benchmarks.
// Partition = the partition number ("0", "3"); position = the offset as a decimal. Seek(c)
// resumes at offset c+1; partitions without a checkpoint start at the oldest retained offset.
// Messages below the next expected offset of their partition (left over from before a Seek)
// are dropped, so nothing is handed out twice. Lag comes from the brokers' high watermarks.
// A checkpoint older than the retained log resumes at the oldest retained offset (logged).
// Does not own: checkpoint storage (load/), what is done with the events.
// Thread safety: a KafkaSource is used by one thread; KafkaProduce is thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "watershed/base/config.h"
#include "watershed/base/status.h"
#include "watershed/sources/events/event_source.h"
#include "yaml-cpp/yaml.h"

namespace watershed::sources {

struct KafkaOptions {
  std::string brokers;  // bootstrap.servers: "host:9092,host2:9092"
  std::string topic;
  std::vector<int32_t> partitions;  // empty = every partition in the topic's metadata
  // Extra librdkafka properties (security.protocol, sasl.*, fetch.max.bytes, ...), applied
  // last. Values of keys that are credential names (base/redact.h IsCredentialName: password,
  // secret, key, auth, token, ...) are treated as secrets, unless they are plain numbers.
  std::map<std::string, std::string> config;
  absl::Duration metadata_timeout = absl::Seconds(10);
};

class KafkaSource : public EventSource {
 public:
  // Connects, reads the topic's metadata (unknown topic: kNotFound; brokers unreachable within
  // metadata_timeout: kUnavailable; a listed partition that does not exist: kInvalidArgument)
  // and assigns every partition from its beginning.
  static StatusOr<std::unique_ptr<KafkaSource>> Create(KafkaOptions options);
  ~KafkaSource() override;

  std::string Describe() const override;
  Status Seek(const std::map<std::string, std::string>& checkpoints) override;
  StatusOr<std::vector<Event>> Poll(size_t max_events, absl::Duration wait) override;
  // events_behind = high watermark - next offset to read (asks the brokers, up to 5 s);
  // millis_behind = 0 when caught up, else -1.
  std::vector<PartitionLag> Lag() override;

  // The partitions read, ascending.
  std::vector<int32_t> Partitions() const;

 private:
  struct Impl;
  explicit KafkaSource(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct KafkaMessage {
  int32_t partition = -1;  // -1 = chosen by the key's hash
  std::string key;         // may be empty (no key)
  std::string value;
};

// Produces `messages` to `topic` and waits until every one is acknowledged (acks=all,
// idempotence off) or `timeout` passes. Returns the first delivery error, naming how many
// failed.
Status KafkaProduce(const std::string& brokers, const std::string& topic,
                    const std::vector<KafkaMessage>& messages,
                    const std::map<std::string, std::string>& config = {},
                    absl::Duration timeout = absl::Seconds(60));

// A source from a stream's settings in watershed.yml:
//   kafka:
//     brokers: localhost:9092          # required
//     topic: clicks                    # required
//     partitions: [0, 1, 2]            # optional; default every partition
//     config: {security.protocol: SASL_SSL, sasl.password: ${KAFKA_PASSWORD}}  # optional
// Unknown keys are kInvalidArgument.
StatusOr<std::unique_ptr<KafkaSource>> KafkaSourceFromYaml(const YAML::Node& node);

}  // namespace watershed::sources
