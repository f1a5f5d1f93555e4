// Integration: KinesisSource and KinesisPutRecords against a real moto_server with signature
// verification on (tests/moto.h): every call after the IAM setup is SigV4-signed by libcurl and
// checked by moto against the IAM user's key.
#include "watershed/sources/events/kinesis.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/moto.h"
#include "watershed/base/test_util.h"

namespace watershed::sources {
namespace {

using testing_util::MotoServer;

class KinesisTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { moto_ = MotoServer::Start({.verify_signatures = true}).release(); }
  static void TearDownTestSuite() {
    delete moto_;
    moto_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(moto_, nullptr) << "moto_server did not start";
    client_ = MotoServer::QuickClient();
  }

  void CreateStream(const std::string& name, int shards) {
    StatusOr<std::string> answer =
        net::AwsJsonCall(*client_, moto_->config(), net::kKinesisService, "Kinesis_20131202", "CreateStream",
                    StrCat("{\"StreamName\":\"", name, "\",\"ShardCount\":", shards, "}"));
    ASSERT_TRUE(answer.ok()) << answer.status();
  }

  KinesisOptions Options(const std::string& stream) {
    KinesisOptions options;
    options.aws = moto_->config();
    options.stream_name = stream;
    options.records_per_call = 300;  // several GetRecords per shard
    options.min_call_interval = absl::Milliseconds(20);
    options.http.retry.max_attempts = 2;
    return options;
  }

  // Polls until `count` events arrived or a poll brings nothing for a while.
  static std::vector<std::tuple<std::string, std::string, std::string>> ReadAll(EventSource& source,
                                                                                size_t count,
                                                                                size_t batch) {
    std::vector<std::tuple<std::string, std::string, std::string>> out;
    int empty_polls = 0;
    while (out.size() < count && empty_polls < 50) {
      StatusOr<std::vector<Event>> events = source.Poll(batch, absl::Milliseconds(200));
      EXPECT_TRUE(events.ok()) << events.status();
      if (!events.ok()) break;
      if (events->empty()) ++empty_polls;
      for (const Event& e : *events) {
        EXPECT_GT(e.arrived_micros, 1600000000LL * 1000000);
        out.emplace_back(e.partition, e.position, std::string(e.payload));
      }
    }
    return out;
  }

  static MotoServer* moto_;
  std::unique_ptr<net::HttpClient> client_;
};

MotoServer* KinesisTest::moto_ = nullptr;

std::vector<KinesisRecord> MakeRecords(int n) {
  std::vector<KinesisRecord> records;
  for (int i = 0; i < n; ++i) {
    records.push_back({StrCat("user-", i % 37), StrCat("{\"i\":", i, ",\"pad\":\"xyz\"}")});
  }
  return records;
}

TEST_F(KinesisTest, ReadsEveryRecordOfEveryShardOnceInOrder) {
  CreateStream("clicks", 2);
  const std::vector<KinesisRecord> records = MakeRecords(1200);
  StatusOr<std::vector<KinesisPutResult>> put =
      KinesisPutRecords(*client_, moto_->config(), "clicks", records);
  ASSERT_TRUE(put.ok()) << put.status();
  ASSERT_EQ(put->size(), records.size());
  std::set<std::string> shards_used;
  for (const KinesisPutResult& r : *put) shards_used.insert(r.shard_id);
  ASSERT_EQ(shards_used.size(), 2u) << "partition keys should spread over both shards";

  StatusOr<std::unique_ptr<KinesisSource>> source = KinesisSource::Create(Options("clicks"));
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_EQ((*source)->Describe(), "kinesis clicks");
  EXPECT_EQ((*source)->Shards(), std::vector<std::string>(shards_used.begin(), shards_used.end()));

  auto got = ReadAll(**source, records.size(), 250);
  ASSERT_EQ(got.size(), records.size());
  // Each record once, where PutRecords said it went, in sequence order per shard.
  std::map<std::string, std::string> where;  // "shard/sequence" -> data
  for (size_t i = 0; i < records.size(); ++i) {
    where[StrCat((*put)[i].shard_id, "/", (*put)[i].sequence_number)] = records[i].data;
  }
  std::map<std::string, std::string> last_position;
  for (const auto& [partition, position, payload] : got) {
    auto it = where.find(StrCat(partition, "/", position));
    ASSERT_NE(it, where.end()) << partition << " " << position;
    EXPECT_EQ(it->second, payload);
    where.erase(it);
    EXPECT_GT(ComparePositions(position, last_position[partition]), 0);
    last_position[partition] = position;
  }
  EXPECT_TRUE(where.empty());

  // Caught up: nothing more, and the lag says so for both shards.
  StatusOr<std::vector<Event>> more = (*source)->Poll(10, absl::Milliseconds(100));
  ASSERT_TRUE(more.ok()) << more.status();
  EXPECT_TRUE(more->empty());
  std::vector<PartitionLag> lag = (*source)->Lag();
  ASSERT_EQ(lag.size(), 2u);
  for (const PartitionLag& l : lag) {
    EXPECT_EQ(l.millis_behind, 0) << l.partition;
    EXPECT_EQ(l.events_behind, 0) << l.partition;
  }
}

TEST_F(KinesisTest, CheckpointAndSeekResumeWithoutLossOrDuplicate) {
  CreateStream("orders", 2);
  const std::vector<KinesisRecord> records = MakeRecords(600);
  ASSERT_TRUE(KinesisPutRecords(*client_, moto_->config(), "orders", records).ok());

  // First reader: a part of the stream, then its checkpoints (last position per shard).
  auto first = KinesisSource::Create(Options("orders"));
  ASSERT_TRUE(first.ok()) << first.status();
  auto part = ReadAll(**first, 250, 50);
  ASSERT_GE(part.size(), 250u);
  std::map<std::string, std::string> checkpoints;
  for (const auto& [partition, position, payload] : part) checkpoints[partition] = position;

  // A new reader resumes after the checkpoints.
  auto second = KinesisSource::Create(Options("orders"));
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_TRUE((*second)->Seek(checkpoints).ok());
  auto rest = ReadAll(**second, records.size() - part.size(), 100);
  StatusOr<std::vector<Event>> more = (*second)->Poll(100, absl::Milliseconds(300));
  ASSERT_TRUE(more.ok()) << more.status();
  EXPECT_TRUE(more->empty());

  std::multiset<std::string> payloads;
  for (const auto& t : part) payloads.insert(std::get<2>(t));
  for (const auto& t : rest) payloads.insert(std::get<2>(t));
  ASSERT_EQ(payloads.size(), records.size());
  for (const KinesisRecord& r : records) EXPECT_EQ(payloads.count(r.data), 1u) << r.data;

  // Seek back to the beginning on the same reader: everything again.
  ASSERT_TRUE((*second)->Seek({}).ok());
  auto again = ReadAll(**second, records.size(), 500);
  EXPECT_EQ(again.size(), records.size());

  EXPECT_EQ((*second)->Seek({{"shardId-000000000000", "12x"}}).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(KinesisTest, WrongSecretIsRefusedWithAClearError) {
  CreateStream("guarded", 1);
  KinesisOptions options = Options("guarded");
  options.aws.secret_access_key = "definitely-the-wrong-secret-key";
  auto source = KinesisSource::Create(options);
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.status().code(), absl::StatusCode::kPermissionDenied) << source.status();
  const std::string message(MessageOf(source.status()));
  EXPECT_NE(message.find("kinesis ListShards: SignatureDoesNotMatch"), std::string::npos)
      << message;
  EXPECT_EQ(message.find("definitely-the-wrong-secret-key"), std::string::npos);
  EXPECT_EQ(net::AwsErrorCode(source.status()), "SignatureDoesNotMatch");

  // An unknown key id is refused too.
  options = Options("guarded");
  options.aws.access_key_id = "AKIAUNKNOWNKEY000000";
  source = KinesisSource::Create(options);
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.status().code(), absl::StatusCode::kPermissionDenied) << source.status();
}

TEST_F(KinesisTest, MissingStreamIsNotFound) {
  auto source = KinesisSource::Create(Options("no-such-stream"));
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.status().code(), absl::StatusCode::kNotFound) << source.status();
  EXPECT_NE(std::string(MessageOf(source.status())).find("ResourceNotFoundException"),
            std::string::npos)
      << source.status();
}

TEST_F(KinesisTest, BytesThatAreNotJsonAreDeliveredAsTheyAre) {
  CreateStream("raw", 1);
  const std::vector<KinesisRecord> records = {
      {"k", "not json at all"},
      {"k", std::string("\x00\xff\xfe binary\n", 11)},
      {"k", "{\"truncated\": "},
      {"k", "{\"ok\":1}"},
  };
  ASSERT_TRUE(KinesisPutRecords(*client_, moto_->config(), "raw", records).ok());
  auto source = KinesisSource::Create(Options("raw"));
  ASSERT_TRUE(source.ok()) << source.status();
  auto got = ReadAll(**source, records.size(), 100);
  ASSERT_EQ(got.size(), records.size());
  for (size_t i = 0; i < records.size(); ++i) EXPECT_EQ(std::get<2>(got[i]), records[i].data);

  // A Data field that is not base64 (AWS never sends one) is delivered as its text.
  EXPECT_EQ(DecodeKinesisData("eyJhIjoxfQ=="), "{\"a\":1}");
  EXPECT_EQ(DecodeKinesisData("!!not base64!!"), "!!not base64!!");
}

TEST_F(KinesisTest, BadPutsAndSettingsAreRefused) {
  CreateStream("puts", 1);
  EXPECT_EQ(KinesisPutRecords(*client_, moto_->config(), "puts", {{"", "x"}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KinesisPutRecords(*client_, moto_->config(), "puts",
                              {{"k", std::string(1024 * 1024 + 1, 'x')}})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  KinesisOptions options = Options("");
  EXPECT_EQ(KinesisSource::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
  options = Options("puts");
  options.records_per_call = 0;
  EXPECT_EQ(KinesisSource::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
}

// An environment of exactly `env` (read when called: later changes to `env` count).
EnvLookup Lookup(const std::map<std::string, std::string>& env) {
  return [&env](std::string_view name) -> std::optional<std::string> {
    auto it = env.find(std::string(name));
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
}

TEST_F(KinesisTest, FactoryReadsYamlWithEnvironmentFallback) {
  CreateStream("fromyaml", 1);
  ASSERT_TRUE(KinesisPutRecords(*client_, moto_->config(), "fromyaml", {{"k", "{\"a\":1}"}}).ok());
  const net::AwsConfig& aws = moto_->config();
  std::map<std::string, std::string> env = {{"AWS_DEFAULT_REGION", aws.region},
                                            {"AWS_ENDPOINT_URL", aws.endpoint},
                                            {"AWS_ACCESS_KEY_ID", aws.access_key_id},
                                            {"AWS_SECRET_ACCESS_KEY", aws.secret_access_key}};
  EnvLookup getenv = Lookup(env);
  auto source =
      KinesisSourceFromYaml(YAML::Load("{stream_name: fromyaml, records_per_call: 5}"), getenv);
  ASSERT_TRUE(source.ok()) << source.status();
  auto got = ReadAll(**source, 1, 10);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(std::get<2>(got[0]), "{\"a\":1}");

  EXPECT_EQ(
      KinesisSourceFromYaml(YAML::Load("{stream_name: x, shards: 3}"), getenv).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KinesisSourceFromYaml(YAML::Load("{region: eu-west-1}"), getenv).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// No keys in the settings or the environment: the credentials come from a profile of the shared
// credentials file, as the AWS CLI would find them (moto checks every signature).
TEST_F(KinesisTest, CredentialsFromAProfileOfTheSharedCredentialsFile) {
  CreateStream("fromprofile", 1);
  ASSERT_TRUE(
      KinesisPutRecords(*client_, moto_->config(), "fromprofile", {{"k", "{\"b\":2}"}}).ok());
  const net::AwsConfig& aws = moto_->config();
  const std::string home = testing_util::MakeTempDir();
  testing_util::WriteFile(home, "credentials",
                          "[etl]\naws_access_key_id = " + aws.access_key_id +
                              "\naws_secret_access_key = " + aws.secret_access_key + "\n");
  std::map<std::string, std::string> env = {{"AWS_DEFAULT_REGION", aws.region},
                                            {"AWS_ENDPOINT_URL", aws.endpoint},
                                            {"HOME", home},
                                            {"AWS_SHARED_CREDENTIALS_FILE", home + "/credentials"},
                                            {"AWS_CONFIG_FILE", home + "/config"}};
  EnvLookup getenv = Lookup(env);
  auto source =
      KinesisSourceFromYaml(YAML::Load("{stream_name: fromprofile, profile: etl}"), getenv);
  ASSERT_TRUE(source.ok()) << source.status();
  auto got = ReadAll(**source, 1, 10);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(std::get<2>(got[0]), "{\"b\":2}");
  // $AWS_PROFILE names it as well; a profile that is not there is an error naming it.
  env["AWS_PROFILE"] = "etl";
  EXPECT_TRUE(KinesisSourceFromYaml(YAML::Load("{stream_name: fromprofile}"), getenv).ok());
  auto missing = KinesisSourceFromYaml(YAML::Load("{stream_name: x, profile: nope}"), getenv);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(MessageOf(missing.status())).find("nope"), std::string::npos)
      << missing.status();
  EXPECT_EQ(std::string(MessageOf(missing.status())).find(aws.secret_access_key),
            std::string::npos);
}

}  // namespace
}  // namespace watershed::sources
