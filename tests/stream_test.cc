// Event streaming end to end: `watershed serve` as a real process (SIGKILLed and restarted),
// ingest over HTTP, the lake table stream.<name>, the real-time mart, Kinesis (moto_server with
// signature checking) and Kafka (librdkafka's mock cluster) as sources.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <iostream>
#include <random>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/harness.h"
#include "tests/moto.h"
#include "watershed/sources/events/kafka.h"
#include "watershed/sources/events/kinesis.h"

namespace {

using watershed::testing_util::FreePort;
using watershed::testing_util::MakeTempDir;
using watershed::testing_util::Outcome;
using watershed::testing_util::ServeProcess;
using watershed::testing_util::WaitFor;
using watershed::testing_util::WatershedIn;
using watershed::testing_util::WriteFile;

constexpr char kToken[] = "test-token-0123456789";

// One number from a query (`--format csv`, header skipped); -1 when the query fails and
// `may_fail` (a table that does not exist yet).
int64_t QueryNumber(const std::string& project, const std::string& sql, const std::string& mart = "",
                    bool may_fail = false) {
  Outcome o = WatershedIn(project, "query --format csv " +
                                       (mart.empty() ? "" : "--mart " + mart + " ") + "\"" + sql +
                                       "\"");
  if (o.code != 0 && may_fail) return -1;
  EXPECT_EQ(o.code, 0) << o.out;
  if (o.code != 0) return -1;
  size_t nl = o.out.find('\n');
  if (nl == std::string::npos) return -1;
  std::string v = o.out.substr(nl + 1);
  while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
  if (v.empty()) return -1;
  return static_cast<int64_t>(std::llround(std::stod(v)));
}

httplib::Headers Auth(const std::string& token = kToken) {
  return {{"Authorization", "Bearer " + token}};
}

// Waits until the lake table holds `rows` rows (or the time is up); returns the last count.
int64_t WaitForRows(const std::string& project, const std::string& table, int64_t rows,
                    int seconds = 60) {
  int64_t n = -1;
  WaitFor(
      [&] {
        n = QueryNumber(project, "SELECT count(*) FROM " + table, "", true);
        return n >= rows;
      },
      seconds, std::chrono::milliseconds(250));
  return n;
}

// Kills the server (SIGKILL) `kills` times while it lands `table` from its source, restarting it
// each time: once this server has committed new rows, at a random moment after. A kill counts as
// mid-stream when the lake held fewer than `total` rows after it: the server was still reading
// and batching events it had not committed. Returns how many kills were mid-stream.
int KillWhileLanding(ServeProcess& server, const std::string& project, const std::string& table,
                     int64_t total, int kills, uint32_t seed) {
  std::mt19937 rng(seed);
  int mid_stream = 0;
  int64_t rows = 0;
  for (int k = 0; k < kills; ++k) {
    WaitFor(
        [&] {
          const int64_t n = QueryNumber(project, "SELECT count(*) FROM " + table, "", true);
          return n > rows || n >= total;
        },
        60, std::chrono::milliseconds(20));
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 200));
    server.Stop(SIGKILL);
    rows = std::max<int64_t>(0, QueryNumber(project, "SELECT count(*) FROM " + table, "", true));
    if (rows < total) ++mid_stream;
    std::cout << "kill " << k + 1 << ": " << rows << " of " << total << " rows landed\n";
    server.Start();
  }
  return mid_stream;
}

std::string ClicksProject(const std::string& extra = "") {
  std::string dir = MakeTempDir();
  WriteFile(dir, "watershed.yml",
            "name: streams\n"
            "streams:\n"
            "  clicks:\n"
            "    batch: {max_wait: 200ms}\n"
            "    accumulators:\n"
            "      - name: by_page\n"
            "        key: page\n"
            "        windows: [1m, 1h]\n"
            "        measures: [count, {sum: amount}, {min: amount}, {max: amount}, {distinct: user}]\n" +
                extra);
  return dir;
}

TEST(Stream, IngestNeedsTheTokenAndNamesBadRequests) {
  std::string project = ClicksProject();
  int port = FreePort();
  ServeProcess server(project, port, kToken);
  server.Start();
  httplib::Client c("127.0.0.1", port);
  auto none = c.Post("/v1/streams/clicks/events", "{\"a\":1}\n", "application/x-ndjson");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  auto wrong = c.Post("/v1/streams/clicks/events", Auth("nope"), "{\"a\":1}\n", "application/x-ndjson");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_EQ(wrong->body.find(kToken), std::string::npos);
  auto unknown = c.Post("/v1/streams/nope/events", Auth(), "{\"a\":1}\n", "application/x-ndjson");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_NE(unknown->body.find("clicks"), std::string::npos) << unknown->body;
  auto bad_array = c.Post("/v1/streams/clicks/events", Auth(), "[{\"a\":1},", "application/json");
  ASSERT_TRUE(bad_array);
  EXPECT_EQ(bad_array->status, 400);
  auto empty = c.Post("/v1/streams/clicks/events", Auth(), "\n\n", "application/x-ndjson");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->status, 400);
  auto ok = c.Post("/v1/streams/clicks/events", Auth(), "[{\"page\":\"a\"},{\"page\":\"b\"}]",
                   "application/json");
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->status, 200) << ok->body;
  auto j = nlohmann::json::parse(ok->body);
  EXPECT_EQ(j["first_offset"], 0);
  EXPECT_EQ(j["count"], 2);
  EXPECT_EQ(WaitForRows(project, "stream.clicks", 2), 2);
  // The audit log is not fed per request; the server's own start is audited at exit.
  server.Stop(SIGTERM);
}

TEST(Stream, MalformedEventsAreQuarantinedWithStreamAndOffset) {
  std::string project = ClicksProject();
  int port = FreePort();
  ServeProcess server(project, port, kToken);
  server.Start();
  httplib::Client c("127.0.0.1", port);
  auto r = c.Post("/v1/streams/clicks/events", Auth(),
                  "{\"page\":\"a\",\"amount\":1}\n{\"page\":\"b\",\n{\"page\":\"c\",\"amount\":3}\n",
                  "application/x-ndjson");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(WaitForRows(project, "stream.clicks", 2), 2);
  EXPECT_EQ(QueryNumber(project, "SELECT count(*) FROM watershed.quarantine WHERE input = "
                                 "'stream clicks partition 0 position 1' AND line = 1"),
            1);
  // Offsets are stamped on the rows that landed.
  EXPECT_EQ(QueryNumber(project, "SELECT sum(_ws_position) FROM stream.clicks"), 0 + 2);
  // The real-time mart skipped the malformed event too.
  EXPECT_EQ(QueryNumber(project, "SELECT sum(count) FROM clicks_by_page WHERE window_size = '1m'", "realtime"), 2);
  server.Stop(SIGTERM);
}

TEST(Stream, BackpressureAnswers429WithRetryAfter) {
  std::string project = MakeTempDir();
  WriteFile(project, "watershed.yml",
            "streams:\n  slow:\n    batch: {max_wait: 30s, max_events: 1000000}\n    max_lag_events: 100\n");
  int port = FreePort();
  ServeProcess server(project, port, kToken);
  server.Start();
  httplib::Client c("127.0.0.1", port);
  std::string body;
  for (int i = 0; i < 500; ++i) body += "{\"i\":" + std::to_string(i) + "}\n";
  auto first = c.Post("/v1/streams/slow/events", Auth(), body, "application/x-ndjson");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  auto second = c.Post("/v1/streams/slow/events", Auth(), body, "application/x-ndjson");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 429) << second->body;
  EXPECT_EQ(second->get_header_value("Retry-After"), "1");
  server.Stop(SIGTERM);
  // The writer commits what was accepted when it stops; nothing throttled got in.
  EXPECT_EQ(QueryNumber(project, "SELECT count(*) FROM stream.slow"), 500);
}

// Background compaction merges a partition's small files while events keep arriving: nothing
// is lost or doubled, commits never fail, and the compaction is audited as a data change.
TEST(Stream, CompactionWhileIngestingKeepsEveryRowAndIsAudited) {
  std::string project = MakeTempDir();
  WriteFile(project, "watershed.yml",
            "streams:\n  ticks:\n    batch: {max_wait: 100ms}\n"
            "    maintenance: {compact_min_files: 4}\n");
  int port = FreePort();
  ServeProcess server(project, port, kToken);
  server.Start();
  httplib::Client c("127.0.0.1", port);
  constexpr int kRequests = 45, kPerRequest = 100;
  for (int r = 0; r < kRequests; ++r) {  // ~13.5 s: the server's upkeep runs every 10 s
    std::string body;
    for (int i = 0; i < kPerRequest; ++i) {
      body += "{\"id\":" + std::to_string(r * kPerRequest + i) + "}\n";
    }
    auto res = c.Post("/v1/streams/ticks/events", Auth(), body, "application/x-ndjson");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  const int64_t total = int64_t{kRequests} * kPerRequest;
  ASSERT_EQ(WaitForRows(project, "stream.ticks", total), total) << server.Log();
  EXPECT_EQ(QueryNumber(project, "SELECT count(DISTINCT id) FROM stream.ticks"), total);
  // Far fewer live files than the ~45 commits that wrote them.
  Outcome tables = WatershedIn(project, "tables --format csv");
  ASSERT_EQ(tables.code, 0) << tables.out;
  size_t at = tables.out.find("\nstream.ticks,");
  ASSERT_NE(at, std::string::npos) << tables.out;
  std::string line = tables.out.substr(at + 1, tables.out.find('\n', at + 1) - at - 1);
  size_t c1 = line.find(','), c2 = line.find(',', c1 + 1), c3 = line.find(',', c2 + 1);
  const int files = std::stoi(line.substr(c2 + 1, c3 - c2 - 1));
  EXPECT_LT(files, 20) << line;
  EXPECT_EQ(server.Log().find("maintenance:"), std::string::npos) << server.Log();
  server.Stop(SIGTERM);
  std::string audit = watershed::testing_util::ReadFileBytes(project + "/.watershed/audit.log");
  EXPECT_NE(audit.find("stream.ticks compacted"), std::string::npos);
}

// The issue's crash test: 1,000,000 events sent in batches of 1,000 while the server is killed
// with SIGKILL at random moments and restarted. A batch is retried with the same
// Idempotency-Key until acknowledged. The lake must hold each event id exactly once, and the
// real-time mart must agree with a recomputation from the lake.
TEST(Stream, MillionEventsAcrossSigkillsLandExactlyOnce) {
  std::string project = ClicksProject();
  int port = FreePort();
  ServeProcess server(project, port, kToken);
  server.Start();

  constexpr int kBatches = 1000, kPerBatch = 1000;
  std::atomic<int> acked{0};
  std::atomic<bool> done{false};
  int64_t expected_sum = 0;
  for (int64_t id = 0; id < int64_t{kBatches} * kPerBatch; ++id) expected_sum += id % 997;
  std::thread client([&] {
    httplib::Client c("127.0.0.1", port);
    c.set_connection_timeout(1, 0);
    c.set_read_timeout(10, 0);
    std::string body;
    for (int b = 0; b < kBatches; ++b) {
      body.clear();
      for (int i = 0; i < kPerBatch; ++i) {
        int64_t id = int64_t{b} * kPerBatch + i;
        body += "{\"id\":" + std::to_string(id) + ",\"page\":\"p" + std::to_string(id % 13) +
                "\",\"user\":\"u" + std::to_string(id % 5000) + "\",\"amount\":" +
                std::to_string(id % 997) + "}\n";
      }
      httplib::Headers h = Auth();
      h.emplace("Idempotency-Key", "batch-" + std::to_string(b));
      while (true) {
        auto r = c.Post("/v1/streams/clicks/events", h, body, "application/x-ndjson");
        if (r && r->status == 200) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(r && r->status == 429 ? 200 : 20));
      }
      acked++;
    }
    done = true;
  });

  // Kill at random points of the upload (by acknowledged batches), and once mid-way through
  // the lake catching up.
  std::mt19937 rng(20261124);
  std::vector<int> at;
  for (int i = 0; i < 6; ++i) at.push_back(static_cast<int>(rng() % kBatches));
  std::sort(at.begin(), at.end());
  int kills = 0;
  for (int threshold : at) {
    while (!done && acked < threshold) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    if (done) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 50));
    server.Stop(SIGKILL);
    ++kills;
    server.Start();
  }
  client.join();
  // And once while the lake writer is still catching up.
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  server.Stop(SIGKILL);
  server.Start();
  EXPECT_GE(kills, 3) << "the client finished before the server was killed three times";
  const int64_t total = int64_t{kBatches} * kPerBatch;
  ASSERT_EQ(WaitForRows(project, "stream.clicks", total, 120), total) << server.Log();
  // One more kill after the last ack: nothing acknowledged may be lost.
  server.Stop(SIGKILL);
  server.Start();
  EXPECT_EQ(QueryNumber(project, "SELECT count(*) FROM stream.clicks"), total);
  EXPECT_EQ(QueryNumber(project, "SELECT count(DISTINCT id) FROM stream.clicks"), total);
  EXPECT_EQ(QueryNumber(project, "SELECT sum(amount) FROM stream.clicks"), expected_sum);
  EXPECT_EQ(QueryNumber(project, "SELECT min(id) FROM stream.clicks"), 0);
  EXPECT_EQ(QueryNumber(project, "SELECT max(id) FROM stream.clicks"), total - 1);

  // Real-time accumulators = a recomputation from the lake (wait for the mart to catch up).
  WaitFor(
      [&] {
        return QueryNumber(project,
                           "SELECT sum(count) FROM clicks_by_page WHERE window_size = '1h'",
                           "realtime", true) == total;
      },
      60, std::chrono::milliseconds(250));
  for (const char* window : {"1m", "1h"}) {
    EXPECT_EQ(QueryNumber(project, std::string("SELECT sum(count) FROM clicks_by_page WHERE window_size = '") +
                                       window + "'", "realtime"),
              total);
  }
  // Per page and 1-minute window: count, sum, min, max equal the lake's GROUP BY.
  const std::string mismatches =
      "WITH lake AS (SELECT page AS key, time_bucket(INTERVAL 1 minute, _ws_arrived_at) AS ws,"
      " count(*) AS c, sum(amount) AS s, min(amount) AS lo, max(amount) AS hi,"
      " count(DISTINCT \"user\") AS d FROM stream.clicks GROUP BY ALL)"
      " SELECT count(*) FROM lake FULL JOIN realtime.clicks_by_page r"
      " ON r.window_size = '1m' AND r.key = lake.key AND r.window_start = lake.ws"
      " WHERE (r.window_size IS NULL OR r.window_size = '1m') AND (lake.c IS DISTINCT FROM r.count"
      " OR lake.s IS DISTINCT FROM r.sum_amount OR lake.lo IS DISTINCT FROM r.min_amount"
      " OR lake.hi IS DISTINCT FROM r.max_amount"
      " OR abs(lake.d - r.distinct_user) > 0.05 * lake.d + 2)";
  EXPECT_EQ(QueryNumber(project, mismatches, "realtime"), 0);
  Outcome streams = WatershedIn(project, "streams");
  EXPECT_EQ(streams.code, 0) << streams.out;
  EXPECT_NE(streams.out.find("clicks"), std::string::npos) << streams.out;
  server.Stop(SIGTERM);
}

TEST(Stream, KinesisStreamLandsInTheLakeWithSignaturesChecked) {
  auto moto = watershed::testing_util::MotoServer::Start({.verify_signatures = true});
  ASSERT_NE(moto, nullptr);
  const auto& aws = moto->config();
  watershed::net::HttpClient client({});
  ASSERT_TRUE(watershed::net::AwsJsonCall(client, aws, watershed::net::kKinesisService,
                                              "Kinesis_20131202", "CreateStream",
                                              R"({"StreamName":"orders","ShardCount":2})")
                  .ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  constexpr int kOrders = 4000;
  std::vector<watershed::sources::KinesisRecord> records;
  for (int i = 0; i < kOrders; ++i) {
    records.push_back({"k" + std::to_string(i), "{\"order_no\":" + std::to_string(i) + "}"});
    if (records.size() == 500) {
      auto put = watershed::sources::KinesisPutRecords(client, aws, "orders", records);
      ASSERT_TRUE(put.ok()) << put.status();
      records.clear();
    }
  }
  records.push_back({"bad", "{not json"});
  auto put = watershed::sources::KinesisPutRecords(client, aws, "orders", records);
  ASSERT_TRUE(put.ok()) << put.status();

  std::string project = MakeTempDir();
  WriteFile(project, "watershed.yml",
            "streams:\n  orders:\n    source: kinesis\n    batch: {max_wait: 200ms, max_events: 100}\n"
            "    kinesis:\n      stream_name: orders\n      records_per_call: 25\n      region: " + aws.region +
                "\n      endpoint: " + aws.endpoint + "\n      access_key_id: " + aws.access_key_id +
                "\n      secret_access_key: " + aws.secret_access_key + "\n");
  int port = FreePort();
  ServeProcess server(project, port, kToken);
  server.Start();
  // Killed while reading and batching: checkpoints commit with the rows, so a restart reads on
  // from the last commit, losing nothing and reading nothing twice.
  EXPECT_GE(KillWhileLanding(server, project, "stream.orders", kOrders, 4, 7), 2)
      << "the server landed everything before it could be killed mid-stream";
  EXPECT_EQ(WaitForRows(project, "stream.orders", kOrders, 120), kOrders) << server.Log();
  server.Stop(SIGKILL);  // and once idle
  server.Start();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(QueryNumber(project, "SELECT count(DISTINCT order_no) FROM stream.orders"), kOrders);
  EXPECT_EQ(QueryNumber(project, "SELECT count(*) FROM stream.orders"), kOrders);
  EXPECT_EQ(QueryNumber(project, "SELECT count(*) FROM watershed.quarantine WHERE input LIKE 'stream orders partition shardId-%'"), 1);
  // The server log never shows the secret.
  EXPECT_EQ(server.Log().find(aws.secret_access_key), std::string::npos);
  server.Stop(SIGTERM);
}

TEST(Stream, KafkaTopicLandsInTheLake) {
  char err[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_t* mock_handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  ASSERT_NE(mock_handle, nullptr) << err;
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(mock_handle, 1);
  ASSERT_NE(cluster, nullptr);
  std::string brokers = rd_kafka_mock_cluster_bootstraps(cluster);
  ASSERT_EQ(rd_kafka_mock_topic_create(cluster, "events", 3, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  constexpr int kEvents = 150000;
  std::vector<watershed::sources::KafkaMessage> messages;
  for (int i = 0; i < kEvents; ++i) {
    messages.push_back({-1, "k" + std::to_string(i % 7), "{\"n\":" + std::to_string(i) + "}"});
  }
  ASSERT_TRUE(watershed::sources::KafkaProduce(brokers, "events", messages).ok());

  std::string project = MakeTempDir();
  WriteFile(project, "watershed.yml",
            "streams:\n  events:\n    source: kafka\n    batch: {max_wait: 200ms, max_events: 1000}\n"
            "    kafka:\n      brokers: \"" + brokers + "\"\n      topic: events\n");
  int port = FreePort();
  ServeProcess server(project, port, kToken);
  server.Start();
  EXPECT_GE(KillWhileLanding(server, project, "stream.events", kEvents, 4, 11), 2)
      << "the server landed everything before it could be killed mid-stream";
  EXPECT_EQ(WaitForRows(project, "stream.events", kEvents, 120), kEvents) << server.Log();
  server.Stop(SIGKILL);  // and once idle
  server.Start();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(QueryNumber(project, "SELECT count(DISTINCT n) FROM stream.events"), kEvents);
  EXPECT_EQ(QueryNumber(project, "SELECT count(*) FROM stream.events"), kEvents);
  EXPECT_EQ(QueryNumber(project, "SELECT count(DISTINCT _ws_partition) FROM stream.events"), 3);
  server.Stop(SIGTERM);
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(mock_handle);
}

}  // namespace
