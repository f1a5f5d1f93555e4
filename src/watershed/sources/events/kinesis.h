// sources/events/kinesis.h — one Kinesis data stream as an EventSource, and a small producer.
//
// Owns: reading every shard of one stream through the Kinesis JSON API (ListShards,
// GetShardIterator, GetRecords), buffering what GetRecords returned, handing events out in
// sequence order per shard, re-acquiring expired iterators from the last fetched position,
// backing off throttled shards, and the Lag from MillisBehindLatest. Partition = ShardId,
// position = SequenceNumber (decimal). Resharding is handled simply: every shard that ListShards
// returns (parents and children alike) is read; a closed shard is dropped once read to its end,
// and the shard list is refreshed then and every `relist_every`. Per-key order across a
// parent and its children is therefore not guaranteed.
// Data is delivered as the bytes the producer put (base64-decoded); a Data field that is not
// valid base64 (never from AWS itself) is delivered as its raw text. Bytes that are not JSON are
// delivered too: the writer quarantines them.
// Also: KinesisPutRecords (PutRecords in batches of <= 500 records / 5 MiB, retrying records
// that failed) for tests and benchmarks, and the YAML factory.
// Does not own: checkpoint storage (load/), what is done with the events.
// Thread safety: a KinesisSource is used by one thread; KinesisPutRecords is thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "watershed/base/clock.h"
#include "watershed/base/status.h"
#include "watershed/sources/events/event_source.h"
#include "watershed/net/aws.h"
#include "watershed/net/http_client.h"
#include "yaml-cpp/yaml.h"

namespace watershed::sources {

struct KinesisOptions {
  net::AwsConfig aws;
  std::string stream_name;
  int records_per_call = 10000;  // GetRecords Limit (1..10000)
  // The least time between two GetRecords on one shard (AWS allows 5 per second per shard).
  absl::Duration min_call_interval = absl::Milliseconds(200);
  // Back-off for a throttled shard: doubles from initial up to max, reset by a success.
  absl::Duration throttle_initial_backoff = absl::Milliseconds(500);
  absl::Duration throttle_max_backoff = absl::Seconds(10);
  absl::Duration relist_every = absl::Seconds(60);
  net::HttpClientOptions http;
  Clock* clock = nullptr;  // nullptr = Clock::Real()
};

class KinesisSource : public EventSource {
 public:
  // Checks the options and lists the stream's shards (so a missing stream or bad credentials
  // fail here: kNotFound, kPermissionDenied, ...).
  static StatusOr<std::unique_ptr<KinesisSource>> Create(KinesisOptions options);
  ~KinesisSource() override;

  std::string Describe() const override;
  Status Seek(const std::map<std::string, std::string>& checkpoints) override;
  StatusOr<std::vector<Event>> Poll(size_t max_events, absl::Duration wait) override;
  std::vector<PartitionLag> Lag() override;

  // Shard ids being read, sorted.
  std::vector<std::string> Shards() const;

 private:
  struct Shard;
  explicit KinesisSource(KinesisOptions options);
  Status ListShards();
  Status AcquireIterator(Shard& shard);
  // One GetRecords on `shard`; false when nothing was called (not due, backing off, finished).
  StatusOr<bool> Fetch(Shard& shard);

  KinesisOptions options_;
  std::unique_ptr<net::HttpClient> client_;
  std::map<std::string, std::unique_ptr<Shard>> shards_;  // by shard id
  std::map<std::string, std::string> checkpoints_;        // from the last Seek
  std::deque<std::string> handed_out_;  // payloads of the last Poll (Event::payload views)
  absl::Time last_list_;
  bool relist_due_ = false;
};

// One record to put: the partition key picks the shard (MD5 hash), data is any bytes.
struct KinesisRecord {
  std::string partition_key;
  std::string data;
};
struct KinesisPutResult {
  std::string shard_id;
  std::string sequence_number;
};

// Puts `records` in order of batches (<= 500 records and <= 5 MiB each); records the service
// failed (throttling, internal errors) are retried up to 8 times with back-off. Returns where
// each record went, in input order, or the first error.
StatusOr<std::vector<KinesisPutResult>> KinesisPutRecords(
    net::HttpClient& client, const net::AwsConfig& aws, const std::string& stream_name,
    const std::vector<KinesisRecord>& records);

// The bytes of a GetRecords "Data" field: base64-decoded, or the field itself when it is not
// valid base64.
std::string DecodeKinesisData(std::string_view data_field);

// A source from a stream's settings in watershed.yml:
//   kinesis:
//     stream_name: clicks              # required
//     region: eu-west-1                # else AWS_REGION / AWS_DEFAULT_REGION
//     endpoint: http://127.0.0.1:5000  # else AWS_ENDPOINT_URL, else AWS
//     access_key_id: ${AWS_ACCESS_KEY_ID}          # else the AWS_* variables
//     secret_access_key: ${AWS_SECRET_ACCESS_KEY}
//     session_token: ...               # optional
//     records_per_call: 10000          # optional
// Unknown keys are kInvalidArgument.
StatusOr<std::unique_ptr<KinesisSource>> KinesisSourceFromYaml(
    const YAML::Node& node, const EnvLookup& getenv = RealGetenv);

}  // namespace watershed::sources
