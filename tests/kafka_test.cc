// Integration: KafkaSource and KafkaProduce against librdkafka's mock cluster (real brokers'
// protocol, in process): a 3-partition topic, 30,000 small messages (about 1 MiB per partition,
// under the mock's ~5 MiB per-partition retention), exact resume after Seek, lag from watermarks.
#include "watershed/sources/events/kafka.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace watershed::sources {
namespace {

// A mock cluster of 3 brokers, owned by a bare producer handle.
class MockCluster {
 public:
  MockCluster() {
    char errstr[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
    owner_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (owner_ != nullptr) cluster_ = rd_kafka_mock_cluster_new(owner_, 3);
  }
  ~MockCluster() {
    if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
    if (owner_ != nullptr) rd_kafka_destroy(owner_);
  }
  bool ok() const { return cluster_ != nullptr; }
  std::string brokers() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }
  bool CreateTopic(const std::string& topic, int partitions) {
    return rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, 1) ==
           RD_KAFKA_RESP_ERR_NO_ERROR;
  }

 private:
  rd_kafka_t* owner_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

struct Seen {
  std::string partition;
  int64_t offset;
  std::string payload;
};

std::vector<Seen> ReadN(KafkaSource& source, size_t count, size_t batch) {
  std::vector<Seen> out;
  int empty_polls = 0;
  while (out.size() < count && empty_polls < 30) {
    StatusOr<std::vector<Event>> events =
        source.Poll(std::min(batch, count - out.size()), absl::Milliseconds(500));
    EXPECT_TRUE(events.ok()) << events.status();
    if (!events.ok()) break;
    if (events->empty()) ++empty_polls;
    EXPECT_LE(events->size(), batch);
    for (const Event& e : *events) {
      EXPECT_GT(e.arrived_micros, 1600000000LL * 1000000);
      out.push_back({e.partition, std::stoll(e.position), std::string(e.payload)});
    }
  }
  return out;
}

class KafkaTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(cluster_.ok()) << "mock cluster did not start"; }
  MockCluster cluster_;
};

TEST_F(KafkaTest, ConsumesEverythingThenResumesExactlyAfterSeek) {
  ASSERT_TRUE(cluster_.CreateTopic("clicks", 3));
  constexpr int kMessages = 30000;
  std::vector<KafkaMessage> messages;
  for (int i = 0; i < kMessages; ++i) {
    messages.push_back(
        {.partition = i % 3, .key = StrCat("k", i), .value = StrCat("{\"i\":", i, "}")});
  }
  Status produced = KafkaProduce(cluster_.brokers(), "clicks", messages);
  ASSERT_TRUE(produced.ok()) << produced;

  auto source = KafkaSource::Create({.brokers = cluster_.brokers(), .topic = "clicks"});
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_EQ((*source)->Describe(), "kafka clicks");
  EXPECT_EQ((*source)->Partitions(), (std::vector<int32_t>{0, 1, 2}));

  // Nothing read yet: each of the three partitions is 10,000 behind.
  std::vector<PartitionLag> before = (*source)->Lag();
  ASSERT_EQ(before.size(), 3u);
  for (const PartitionLag& lag : before) EXPECT_EQ(lag.events_behind, 10000) << lag.partition;

  // Read 12,000, checkpoint, and keep reading to the end with the same source.
  std::vector<Seen> first = ReadN(**source, 12000, 1000);
  ASSERT_EQ(first.size(), 12000u);
  std::map<std::string, std::string> checkpoints;
  std::map<std::string, int64_t> last;
  for (const Seen& s : first) {
    if (last.count(s.partition)) {
      EXPECT_EQ(s.offset, last[s.partition] + 1) << s.partition;
    }
    last[s.partition] = s.offset;
    checkpoints[s.partition] = StrCat(s.offset);
  }
  std::vector<Seen> rest = ReadN(**source, kMessages - first.size(), 1000);
  ASSERT_EQ(rest.size(), kMessages - first.size());
  std::set<std::string> all;
  for (const Seen& s : first) all.insert(s.payload);
  for (const Seen& s : rest) all.insert(s.payload);
  EXPECT_EQ(all.size(), static_cast<size_t>(kMessages));
  // Payload i went to partition i % 3 at offset i / 3.
  for (const Seen& s : rest) {
    int i = std::stoi(s.payload.substr(5));
    EXPECT_EQ(s.partition, StrCat(i % 3));
    EXPECT_EQ(s.offset, i / 3);
  }
  std::vector<PartitionLag> caught_up = (*source)->Lag();
  ASSERT_EQ(caught_up.size(), 3u);
  for (const PartitionLag& lag : caught_up) {
    EXPECT_EQ(lag.events_behind, 0) << lag.partition;
    EXPECT_EQ(lag.millis_behind, 0) << lag.partition;
  }
  StatusOr<std::vector<Event>> none = (*source)->Poll(10, absl::Milliseconds(200));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  // A fresh source seeks to the checkpoints: exactly the messages after them, once each.
  auto resumed = KafkaSource::Create({.brokers = cluster_.brokers(), .topic = "clicks"});
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  ASSERT_TRUE((*resumed)->Seek(checkpoints).ok());
  std::vector<Seen> after = ReadN(**resumed, rest.size(), 777);
  ASSERT_EQ(after.size(), rest.size());
  std::map<std::string, int64_t> expect_next;
  for (const auto& [p, c] : checkpoints) expect_next[p] = std::stoll(c) + 1;
  for (const Seen& s : after) {
    EXPECT_EQ(s.offset, expect_next[s.partition]) << s.partition;
    expect_next[s.partition] = s.offset + 1;
  }
  none = (*resumed)->Poll(10, absl::Milliseconds(200));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  // Rewind the same source to offset 5 of partition 1 only (others from their beginning).
  ASSERT_TRUE((*resumed)->Seek({{"1", "4"}}).ok());
  std::vector<Seen> again = ReadN(**resumed, kMessages - 5, 5000);
  ASSERT_EQ(again.size(), static_cast<size_t>(kMessages - 5));
  int64_t min_offset_p1 = INT64_MAX;
  for (const Seen& s : again) {
    if (s.partition == "1") min_offset_p1 = std::min(min_offset_p1, s.offset);
  }
  EXPECT_EQ(min_offset_p1, 5);
}

TEST_F(KafkaTest, ChosenPartitionsOnlyAndBadInput) {
  ASSERT_TRUE(cluster_.CreateTopic("orders", 3));
  std::vector<KafkaMessage> messages;
  for (int i = 0; i < 90; ++i) messages.push_back({.partition = i % 3, .value = StrCat(i)});
  messages.push_back({.partition = 2, .value = std::string("\x00\xffnot json", 10)});
  ASSERT_TRUE(KafkaProduce(cluster_.brokers(), "orders", messages).ok());

  auto source =
      KafkaSource::Create({.brokers = cluster_.brokers(), .topic = "orders", .partitions = {2}});
  ASSERT_TRUE(source.ok()) << source.status();
  std::vector<Seen> got = ReadN(**source, 31, 100);
  ASSERT_EQ(got.size(), 31u);
  for (const Seen& s : got) EXPECT_EQ(s.partition, "2");
  EXPECT_EQ(got.back().payload, std::string("\x00\xffnot json", 10));
  ASSERT_EQ((*source)->Lag().size(), 1u);

  EXPECT_EQ((*source)->Seek({{"2", "abc"}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*source)->Seek({{"x", "1"}}).code(), absl::StatusCode::kInvalidArgument);

  auto missing_partition =
      KafkaSource::Create({.brokers = cluster_.brokers(), .topic = "orders", .partitions = {7}});
  EXPECT_EQ(missing_partition.status().code(), absl::StatusCode::kInvalidArgument);
  // (The mock cluster creates unknown topics on demand, so kNotFound is not testable here.)
  auto no_broker = KafkaSource::Create(
      {.brokers = "127.0.0.1:1", .topic = "orders", .metadata_timeout = absl::Seconds(2)});
  EXPECT_EQ(no_broker.status().code(), absl::StatusCode::kUnavailable) << no_broker.status();
  auto bad_setting = KafkaSource::Create(
      {.brokers = cluster_.brokers(),
       .topic = "orders",
       .config = {{"sasl.password", "hunter2-secret"}, {"no.such.property", "1"}}});
  ASSERT_EQ(bad_setting.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(MessageOf(bad_setting.status())).find("hunter2-secret"), std::string::npos);

  auto from_yaml =
      KafkaSourceFromYaml(YAML::Load(StrCat("{brokers: '", cluster_.brokers(),
                                            "', topic: orders, partitions: [0, 1], config: "
                                            "{fetch.wait.max.ms: '50'}}")));
  ASSERT_TRUE(from_yaml.ok()) << from_yaml.status();
  EXPECT_EQ((*from_yaml)->Partitions(), (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(ReadN(**from_yaml, 60, 100).size(), 60u);
  EXPECT_EQ(KafkaSourceFromYaml(YAML::Load("{brokers: x, topic: y, group: z}")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KafkaSourceFromYaml(YAML::Load("{topic: y}")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      KafkaSourceFromYaml(YAML::Load("{brokers: x, topic: y, partitions: [a]}")).status().code(),
      absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace watershed::sources
