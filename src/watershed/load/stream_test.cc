// load/stream_test.cc — stream settings and the stream-to-lake writer: system columns,
// non-object and malformed events, checkpoints as catalog cursors, exactly once across writer
// restarts, and consumers (the real-time mart) that fall behind the lake and catch up without the
// lake committing anything twice. Uses the real event log, catalog, lake and real-time mart;
// partitioned streams use a small in-memory EventSource.
#include "watershed/load/stream.h"

#include <filesystem>

#include "gtest/gtest.h"
#include "watershed/base/test_util.h"
#include "watershed/lake/reader.h"
#include "watershed/sources/events/log.h"
#include "watershed/sources/events/log_source.h"
#include "watershed/transform/realtime.h"

namespace watershed::load {
namespace {

using testing_util::MakeTempDir;

// ------------------------------------------------------------------------------- settings

StatusOr<std::map<std::string, StreamConfig>> Parse(const std::string& yaml) {
  return ParseStreams(YAML::Load(yaml));
}

std::string ErrorOf(const std::string& yaml) {
  auto r = Parse(yaml);
  EXPECT_FALSE(r.ok()) << yaml;
  return r.ok() ? "" : std::string(r.status().message());
}

TEST(ParseStreams, DefaultsAndEveryField) {
  auto none = ParseStreams(YAML::Node());
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());
  // `streams:` with everything under it commented out.
  auto empty = ParseStreams(YAML::Load("streams:\n#  clicks: {}\n")["streams"]);
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->empty());

  auto d = Parse("clicks:\n");
  ASSERT_TRUE(d.ok()) << d.status();
  const StreamConfig& c = d->at("clicks");
  EXPECT_EQ(c.name, "clicks");
  EXPECT_EQ(c.source, "http");
  EXPECT_EQ(c.batch_max_events, 100000u);
  EXPECT_EQ(c.batch_max_wait, absl::Seconds(1));
  EXPECT_EQ(c.sync, "group_commit");
  EXPECT_EQ(c.group_commit_interval, absl::Milliseconds(5));
  EXPECT_EQ(c.max_lag_events, 5000000);
  EXPECT_EQ(c.compact_min_files, 16);
  EXPECT_EQ(c.snapshot_max_age, absl::Hours(24));
  EXPECT_EQ(c.keep_snapshots, 100);
  EXPECT_EQ(c.table(), "stream.clicks");
  EXPECT_EQ(c.cursor_source(), "stream:clicks");

  auto full = Parse(R"(
orders_2:
  source: kafka
  kafka: {brokers: "k:9092", topic: t}
  batch: {max_events: 7, max_wait: 250ms}
  sync: fsync
  group_commit: 2ms
  max_lag_events: 99
  maintenance: {compact_min_files: 3, snapshot_max_age: 2d, keep_snapshots: 5}
)");
  ASSERT_TRUE(full.ok()) << full.status();
  const StreamConfig& o = full->at("orders_2");
  EXPECT_EQ(o.source, "kafka");
  EXPECT_EQ(o.settings["kafka"]["topic"].as<std::string>(), "t");
  EXPECT_EQ(o.batch_max_events, 7u);
  EXPECT_EQ(o.batch_max_wait, absl::Milliseconds(250));
  EXPECT_EQ(o.sync, "fsync");
  EXPECT_EQ(o.group_commit_interval, absl::Milliseconds(2));
  EXPECT_EQ(o.max_lag_events, 99);
  EXPECT_EQ(o.compact_min_files, 3);
  EXPECT_EQ(o.snapshot_max_age, absl::Hours(48));
  EXPECT_EQ(o.keep_snapshots, 5);
}

TEST(ParseStreams, ErrorsNameTheStreamAndTheField) {
  std::string e = ErrorOf("Clicks: {}");
  EXPECT_NE(e.find("'Clicks' is not a stream name"), std::string::npos) << e;
  e = ErrorOf("my-stream: {}");
  EXPECT_NE(e.find("'my-stream'"), std::string::npos) << e;
  e = ErrorOf(StrCat(std::string(65, 'a'), ": {}"));
  EXPECT_NE(e.find("is not a stream name"), std::string::npos) << e;
  e = ErrorOf("[a, b]");
  EXPECT_NE(e.find("streams:"), std::string::npos) << e;
  e = ErrorOf("clicks: [1]");
  EXPECT_NE(e.find("streams.clicks.settings: expected a map"), std::string::npos) << e;
  e = ErrorOf("clicks: {source: pubsub}");
  EXPECT_NE(e.find("streams.clicks.source: 'pubsub' is not one of http, kinesis, kafka"),
            std::string::npos)
      << e;
  e = ErrorOf("clicks: {batch: {max_wait: 1x}}");
  EXPECT_NE(e.find("streams.clicks.batch.max_wait: '1x' is not a duration"), std::string::npos)
      << e;
  e = ErrorOf("clicks: {batch: {max_wait: -1s}}");
  EXPECT_NE(e.find("streams.clicks.batch.max_wait"), std::string::npos) << e;
  e = ErrorOf("clicks: {group_commit: soon}");
  EXPECT_NE(e.find("streams.clicks.group_commit: 'soon'"), std::string::npos) << e;
  e = ErrorOf("clicks: {maintenance: {snapshot_max_age: forever}}");
  EXPECT_NE(e.find("streams.clicks.maintenance.snapshot_max_age: 'forever'"), std::string::npos)
      << e;
  e = ErrorOf("clicks: {batch: {max_events: 0}}");
  EXPECT_NE(e.find("streams.clicks.batch.max_events: must be at least 1"), std::string::npos) << e;
  e = ErrorOf("clicks: {batch: {max_events: lots}}");
  EXPECT_NE(e.find("streams.clicks"), std::string::npos) << e;
  e = ErrorOf("clicks: {sync: sometimes}");
  EXPECT_NE(e.find("streams.clicks.sync: 'sometimes'"), std::string::npos) << e;
}

// Durations ("max_wait: 200ms") are read by base/clock.h's ParseDuration, tested there.

// ------------------------------------------------------------------------------- the writer

// A partitioned stream in memory: position = index in the partition; Poll hands out events
// round-robin across partitions (as a Kafka consumer interleaves them). Records every Seek.
class MemorySource : public sources::EventSource {
 public:
  std::string Describe() const override { return "memory"; }
  Status Seek(const std::map<std::string, std::string>& checkpoints) override {
    seeks.push_back(checkpoints);
    next_.clear();
    for (const auto& [p, events] : partitions) {
      auto it = checkpoints.find(p);
      next_[p] = it == checkpoints.end() || it->second.empty() ? 0 : std::stoull(it->second) + 1;
    }
    return absl::OkStatus();
  }
  StatusOr<std::vector<sources::Event>> Poll(size_t max_events, absl::Duration) override {
    std::vector<sources::Event> out;
    bool more = true;
    while (out.size() < max_events && more) {
      more = false;
      for (auto& [p, events] : partitions) {
        size_t& n = next_[p];
        if (n >= events.size() || out.size() >= max_events) continue;
        out.push_back({p, std::to_string(n), events[n], 1795514400'000000});
        ++n;
        more = true;
      }
    }
    polled += out.size();
    return out;
  }
  std::vector<sources::PartitionLag> Lag() override { return {}; }

  std::map<std::string, std::vector<std::string>> partitions;
  std::vector<std::map<std::string, std::string>> seeks;
  size_t polled = 0;

 private:
  std::map<std::string, size_t> next_;
};

// Records what it is given and keeps its checkpoints in memory; can fail its next Apply.
class RecordingConsumer : public StreamConsumer {
 public:
  StatusOr<std::map<std::string, std::string>> Checkpoints() override { return checkpoints; }
  Status Apply(const std::vector<sources::Event>& events,
               const std::map<std::string, std::string>& cps) override {
    if (fail_next) {
      fail_next = false;
      return absl::UnavailableError("consumer down (test)");
    }
    for (const sources::Event& e : events) applied.push_back(e.partition + ":" + e.position);
    checkpoints = cps;
    return absl::OkStatus();
  }
  std::map<std::string, std::string> checkpoints;
  std::vector<std::string> applied;
  bool fail_next = false;
};

// Delegates to another consumer (the real-time mart), failing the next Apply when told to:
// a crash after the lake commit and before the mart's.
class FlakyConsumer : public StreamConsumer {
 public:
  explicit FlakyConsumer(StreamConsumer* inner) : inner_(inner) {}
  StatusOr<std::map<std::string, std::string>> Checkpoints() override {
    return inner_->Checkpoints();
  }
  Status Apply(const std::vector<sources::Event>& events,
               const std::map<std::string, std::string>& cps) override {
    if (fail_next) {
      fail_next = false;
      return absl::InternalError("mart crashed (test)");
    }
    return inner_->Apply(events, cps);
  }
  bool fail_next = false;

 private:
  StreamConsumer* inner_;
};

class StreamWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    ASSERT_TRUE(project::Project::Init(dir_ + "/p", "test").ok());
    auto p = project::Project::Open(dir_ + "/p");
    ASSERT_TRUE(p.ok()) << p.status();
    project_ = std::move(*p);
    sources::LogOptions lo;
    lo.sync = sources::LogOptions::Sync::kEveryAppend;
    auto log = sources::EventLog::Open(dir_ + "/log", lo);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
    source_ = std::make_unique<sources::LogSource>(log_.get(), "clicks");
  }

  StreamConfig Config(size_t max_events, const std::string& extra = "") {
    auto c = ParseStreams(YAML::Load(
        StrCat("clicks:\n  batch: {max_events: ", max_events, ", max_wait: 50ms}\n", extra)));
    EXPECT_TRUE(c.ok()) << c.status();
    return c->at("clicks");
  }

  void Append(const std::vector<std::string>& events) {
    std::vector<std::string_view> views(events.begin(), events.end());
    auto r = log_->Append(views, "");
    ASSERT_TRUE(r.ok()) << r.status();
  }

  // Numbered events {"n": i, "page": "p<i%3>"} for i in [from, to).
  static std::vector<std::string> Numbered(int from, int to) {
    std::vector<std::string> out;
    for (int i = from; i < to; ++i)
      out.push_back(StrCat(R"({"n":)", i, R"(,"page":"p)", i % 3, "\"}"));
    return out;
  }

  std::unique_ptr<StreamWriter> Writer(StreamConfig config, sources::EventSource* source,
                                       std::vector<StreamConsumer*> consumers = {}) {
    auto w = StreamWriter::Create(*project_, std::move(config), source, std::move(consumers));
    EXPECT_TRUE(w.ok()) << w.status();
    return w.ok() ? std::move(*w) : nullptr;
  }

  // Runs batches until one reads nothing; returns the number of batches that read something.
  int Drain(StreamWriter& w) {
    int batches = 0;
    for (int guard = 0; guard < 1000; ++guard) {
      auto n = w.RunBatch();
      EXPECT_TRUE(n.ok()) << n.status();
      if (!n.ok() || *n == 0) break;
      ++batches;
    }
    return batches;
  }

  std::unique_ptr<warehouse::Result> Sql(const std::string& sql) {
    auto db = warehouse::Database::Open("");
    EXPECT_TRUE(db.ok());
    db_ = std::move(*db);
    conn_ = std::move(*db_->Connect());
    auto catalog = project_->catalog();
    Status a = lake::AttachLakeViews(*conn_, **catalog, project_->storage(), 0, "");
    EXPECT_TRUE(a.ok()) << a;
    Status rt = transform::AttachRealtime(*project_, *conn_);
    EXPECT_TRUE(rt.ok()) << rt;
    auto r = conn_->Query(sql);
    EXPECT_TRUE(r.ok()) << r.status() << "\n" << sql;
    return r.ok() ? std::make_unique<warehouse::Result>(std::move(*r)) : nullptr;
  }

  std::string Cell(const std::string& sql) {
    auto r = Sql(sql);
    return r && r->row_count() > 0 ? r->GetString(0, 0) : "<none>";
  }

  std::map<std::string, std::string> LakeCursors() {
    auto catalog = project_->catalog();
    auto c = (*catalog)->Cursors("stream:clicks");
    EXPECT_TRUE(c.ok());
    return c.ok() ? *c : std::map<std::string, std::string>{};
  }

  int64_t Snapshots() { return *(*project_->catalog())->LatestSnapshot(); }

  std::string dir_;
  std::unique_ptr<project::Project> project_;
  std::unique_ptr<sources::EventLog> log_;
  std::unique_ptr<sources::LogSource> source_;
  std::unique_ptr<warehouse::Database> db_;
  std::unique_ptr<warehouse::Connection> conn_;
};

TEST_F(StreamWriterTest, EventsLandWithSystemColumnsAndBadOnesInQuarantine) {
  Append({R"({"page":"home","n":1})",  // 0
          "42",                        // 1: not an object -> column value
          "{}",                        // 2
          " { } ",                     // 3
          R"({"page":"cart","n":2})",  // 4
          R"({"page":)",               // 5: malformed
          "not json",                  // 6: malformed
          R"(1,"page":"smuggled")",    // 7: malformed (not one JSON value)
          R"({"n":3} {"n":4})",        // 8: malformed (two values)
          "",                          // 9: empty
          "-7"});                      // 10
  auto w = Writer(Config(100), source_.get());
  ASSERT_NE(w, nullptr);
  auto n = w->RunBatch();
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 11u);
  EXPECT_EQ(w->stats().events, 11u);
  EXPECT_EQ(w->stats().quarantined, 5u);
  EXPECT_EQ(w->stats().batches, 1u);
  EXPECT_EQ(w->stats().lake_position, 11u);
  EXPECT_EQ(LakeCursors(), (std::map<std::string, std::string>{{"0", "10"}}));

  auto rows =
      Sql("SELECT _ws_partition, _ws_position, typeof(_ws_arrived_at), "
          "_ws_arrived_at > TIMESTAMP '2020-01-01', coalesce(page, '-'), "
          "coalesce(n::VARCHAR, '-'), coalesce(value::VARCHAR, '-') "
          "FROM stream.clicks ORDER BY _ws_position");
  ASSERT_NE(rows, nullptr);
  ASSERT_EQ(rows->row_count(), 6u);
  const std::vector<std::string> expected = {
      "0|0|TIMESTAMP|true|home|1|-", "0|1|TIMESTAMP|true|-|-|42",   "0|2|TIMESTAMP|true|-|-|-",
      "0|3|TIMESTAMP|true|-|-|-",    "0|4|TIMESTAMP|true|cart|2|-", "0|10|TIMESTAMP|true|-|-|-7"};
  for (size_t r = 0; r < rows->row_count(); ++r) {
    std::string line;
    for (size_t c = 0; c < rows->column_count(); ++c)
      line += (c ? "|" : "") + rows->GetString(c, r);
    EXPECT_EQ(line, expected[r]);
  }
  EXPECT_EQ(Cell("SELECT typeof(_ws_position) FROM stream.clicks LIMIT 1"), "BIGINT");

  auto bad =
      Sql("SELECT input, line, target_table, record, error <> '' FROM watershed.quarantine "
          "ORDER BY line");
  ASSERT_NE(bad, nullptr);
  ASSERT_EQ(bad->row_count(), 5u);
  const std::vector<std::pair<int, std::string>> quarantined = {{5, R"({"page":)"},
                                                                {6, "not json"},
                                                                {7, R"(1,"page":"smuggled")"},
                                                                {8, R"({"n":3} {"n":4})"},
                                                                {9, ""}};
  for (size_t r = 0; r < quarantined.size(); ++r) {
    EXPECT_EQ(bad->GetString(0, r),
              StrCat("stream clicks partition 0 position ", quarantined[r].first));
    EXPECT_EQ(bad->GetInt64(1, r), quarantined[r].first);
    EXPECT_EQ(bad->GetString(2, r), "stream.clicks");
    EXPECT_EQ(bad->GetString(3, r), quarantined[r].second);
    EXPECT_TRUE(bad->GetBool(4, r));
  }

  // Nothing new: an empty batch commits nothing.
  const int64_t snaps = Snapshots();
  auto none = w->RunBatch();
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0u);
  EXPECT_EQ(Snapshots(), snaps);
}

TEST_F(StreamWriterTest, ARestartedWriterCommitsNothingTwice) {
  Append(Numbered(0, 10));
  {
    auto w = Writer(Config(4), source_.get());
    ASSERT_NE(w, nullptr);
    ASSERT_EQ(*w->RunBatch(), 4u);
    ASSERT_EQ(*w->RunBatch(), 4u);
    EXPECT_EQ(LakeCursors().at("0"), "7");
  }  // the writer goes away with 2 events read by nobody
  const int64_t snaps = Snapshots();
  Append(Numbered(10, 15));
  // A new source over the same log (a restarted process) and a new writer.
  sources::LogSource fresh(log_.get(), "clicks");
  auto w = Writer(Config(4), &fresh);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->stats().lake_position, 8u);
  EXPECT_EQ(Drain(*w), 2);  // 8..11, 12..14
  EXPECT_EQ(Snapshots(), snaps + 2);
  EXPECT_EQ(LakeCursors().at("0"), "14");
  EXPECT_EQ(Cell("SELECT count(*) || '/' || count(DISTINCT _ws_position) || '/' || sum(n) || '/' "
                 "|| min(_ws_position) || '-' || max(_ws_position) FROM stream.clicks"),
            "15/15/105/0-14");
  EXPECT_EQ(Cell("SELECT count(*) FROM stream.clicks WHERE n <> _ws_position"), "0");
}

TEST_F(StreamWriterTest, AMartThatFailsAfterTheLakeCommitCatchesUpExactlyOnce) {
  auto stream = Config(5, "  accumulators: [{name: all, windows: [1d], measures: [{sum: n}]}]\n");
  auto acc = transform::ParseAccumulators(stream);
  ASSERT_TRUE(acc.ok()) << acc.status();
  auto mart = transform::RealtimeMart::Open(*project_, "clicks", *acc);
  ASSERT_TRUE(mart.ok()) << mart.status();
  FlakyConsumer flaky(mart->get());
  Append(Numbered(0, 12));
  auto w = Writer(stream, source_.get(), {&flaky});
  ASSERT_NE(w, nullptr);
  ASSERT_TRUE(w->RunBatch().ok());  // 0..4 into both
  flaky.fail_next = true;
  auto failed = w->RunBatch();  // 5..9: the lake commits, the mart does not
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("mart crashed"), std::string_view::npos);
  EXPECT_EQ(LakeCursors().at("0"), "9");
  EXPECT_EQ((*(*mart)->Checkpoints()).at("0"), "4");
  const int64_t snaps = Snapshots();
  EXPECT_EQ(w->stats().consumed_position, 5u);

  // The next batches re-read 5..9 for the mart only, then go on with both.
  EXPECT_GE(Drain(*w), 1);
  EXPECT_EQ(Snapshots(), snaps + 1);  // 10..11 only
  EXPECT_EQ(LakeCursors().at("0"), "11");
  EXPECT_EQ((*(*mart)->Checkpoints()).at("0"), "11");
  EXPECT_EQ(w->stats().consumed_position, 12u);
  EXPECT_EQ(Cell("SELECT count(*) || '/' || sum(n) FROM stream.clicks"), "12/66");
  EXPECT_EQ(Cell("SELECT sum(count) || '/' || sum(sum_n) FROM realtime.clicks_all"), "12/66.0");
}

TEST_F(StreamWriterTest, AFreshMartIsFedTheRetainedEventsWithoutRecommittingTheLake) {
  Append(Numbered(0, 20));
  {
    auto w = Writer(Config(8), source_.get());
    ASSERT_NE(w, nullptr);
    EXPECT_EQ(Drain(*w), 3);
  }
  const int64_t snaps = Snapshots();
  // The mart database is new (deleted, or the accumulators were just declared): its checkpoints
  // are behind the lake's.
  auto stream = Config(8, "  accumulators: [{name: all, windows: [1d], measures: [{sum: n}]}]\n");
  auto mart =
      transform::RealtimeMart::Open(*project_, "clicks", *transform::ParseAccumulators(stream));
  ASSERT_TRUE(mart.ok()) << mart.status();
  sources::LogSource fresh(log_.get(), "clicks");
  auto w = Writer(stream, &fresh, {mart->get()});
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->stats().lake_position, 20u);
  EXPECT_EQ(w->stats().consumed_position, 0u);
  EXPECT_EQ(Drain(*w), 3);
  EXPECT_EQ(Snapshots(), snaps);  // nothing new for the lake
  Append(Numbered(20, 23));
  EXPECT_EQ(Drain(*w), 1);
  EXPECT_EQ(Snapshots(), snaps + 1);
  EXPECT_EQ(Cell("SELECT count(*) || '/' || sum(n) FROM stream.clicks"), "23/253");
  EXPECT_EQ(Cell("SELECT sum(count) || '/' || sum(sum_n) FROM realtime.clicks_all"), "23/253.0");
  EXPECT_EQ((*(*mart)->Checkpoints()).at("0"), "22");
}

// Partitioned streams: a consumer without a checkpoint for one partition re-reads only that
// partition, and the lake's checkpoints never move backwards while a consumer catches up.
class PartitionedTest : public StreamWriterTest {
 protected:
  void Fill(const std::string& partition, int from, int to) {
    for (int i = from; i < to; ++i) {
      source.partitions[partition].push_back(StrCat(R"({"p":")", partition, R"(","i":)", i, "}"));
    }
  }
  std::string LakeSummary() {
    return Cell(
        "SELECT count(*) || '/' || count(DISTINCT (_ws_partition, _ws_position)) FROM "
        "stream.clicks");
  }
  MemorySource source;
};

TEST_F(PartitionedTest, AConsumerMissingAPartitionReReadsOnlyThatPartition) {
  Fill("a", 0, 6);
  Fill("b", 0, 4);
  {
    auto w = Writer(Config(100), &source);
    ASSERT_NE(w, nullptr);
    EXPECT_EQ(Drain(*w), 1);
  }
  EXPECT_EQ(LakeCursors(), (std::map<std::string, std::string>{{"a", "5"}, {"b", "3"}}));
  const int64_t snaps = Snapshots();
  RecordingConsumer consumer;
  consumer.checkpoints = {{"a", "5"}};  // has seen all of a, nothing of b
  source.seeks.clear();
  source.polled = 0;
  auto w = Writer(Config(100), &source, {&consumer});
  ASSERT_NE(w, nullptr);
  ASSERT_EQ(source.seeks.size(), 1u);
  EXPECT_EQ(source.seeks[0], (std::map<std::string, std::string>{{"a", "5"}}));
  EXPECT_EQ(Drain(*w), 1);
  EXPECT_EQ(source.polled, 4u);  // b:0..3 only
  EXPECT_EQ(consumer.applied, (std::vector<std::string>{"b:0", "b:1", "b:2", "b:3"}));
  EXPECT_EQ(consumer.checkpoints, (std::map<std::string, std::string>{{"a", "5"}, {"b", "3"}}));
  EXPECT_EQ(Snapshots(), snaps);
  EXPECT_EQ(LakeSummary(), "10/10");
}

TEST_F(PartitionedTest, TheLakeCursorNeverMovesBackWhileAConsumerCatchesUp) {
  Fill("a", 0, 10);
  Fill("b", 0, 4);
  {
    auto w = Writer(Config(100), &source);
    ASSERT_NE(w, nullptr);
    EXPECT_EQ(Drain(*w), 1);
  }
  EXPECT_EQ(LakeCursors(), (std::map<std::string, std::string>{{"a", "9"}, {"b", "3"}}));
  // The consumer is behind on a (it crashed before applying 3..9); b gets new events.
  Fill("b", 4, 10);
  RecordingConsumer consumer;
  consumer.checkpoints = {{"a", "2"}, {"b", "3"}};
  auto w = Writer(Config(4), &source, {&consumer});
  ASSERT_NE(w, nullptr);
  // First batch: a:3, b:4, a:4, b:5 — only b:4 and b:5 are new to the lake.
  auto n = w->RunBatch();
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(LakeCursors(), (std::map<std::string, std::string>{{"a", "9"}, {"b", "5"}}));
  Drain(*w);
  EXPECT_EQ(LakeCursors(), (std::map<std::string, std::string>{{"a", "9"}, {"b", "9"}}));
  EXPECT_EQ(LakeSummary(), "20/20");
  EXPECT_EQ(consumer.checkpoints, (std::map<std::string, std::string>{{"a", "9"}, {"b", "9"}}));
  EXPECT_EQ(consumer.applied.size(), 13u);  // a:3..9 and b:4..9, each once
  std::set<std::string> unique(consumer.applied.begin(), consumer.applied.end());
  EXPECT_EQ(unique.size(), 13u);

  // And a restart after that still finds nothing to commit.
  const int64_t snaps = Snapshots();
  auto again = Writer(Config(4), &source, {&consumer});
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(Drain(*again), 0);
  EXPECT_EQ(Snapshots(), snaps);
}

TEST_F(PartitionedTest, AConsumerAheadOfAnotherIsNotRewound) {
  Fill("a", 0, 8);
  Fill("b", 0, 2);
  RecordingConsumer ahead, behind;
  ahead.checkpoints = {{"a", "7"}, {"b", "1"}};
  behind.checkpoints = {{"a", "1"}, {"b", "1"}};
  {
    auto w = Writer(Config(100), &source);  // the lake has everything
    ASSERT_NE(w, nullptr);
    Drain(*w);
  }
  Fill("b", 2, 6);
  auto w = Writer(Config(4), &source, {&ahead, &behind});
  ASSERT_NE(w, nullptr);
  Drain(*w);
  EXPECT_EQ(ahead.applied, (std::vector<std::string>{"b:2", "b:3", "b:4", "b:5"}));
  EXPECT_EQ(ahead.checkpoints, (std::map<std::string, std::string>{{"a", "7"}, {"b", "5"}}));
  EXPECT_EQ(behind.applied.size(), 10u);  // a:2..7, b:2..5
  EXPECT_EQ(behind.checkpoints, ahead.checkpoints);
  EXPECT_EQ(LakeSummary(), "14/14");
}

TEST_F(PartitionedTest, AFailingConsumerRewindsAndIsRetriedWithoutLakeDuplicates) {
  Fill("a", 0, 3);
  Fill("b", 0, 3);
  RecordingConsumer consumer;
  consumer.fail_next = true;
  auto w = Writer(Config(100), &source, {&consumer});
  ASSERT_NE(w, nullptr);
  auto first = w->RunBatch();
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(LakeSummary(), "6/6");
  EXPECT_EQ(source.seeks.size(), 2u);  // Create, then the rewind after the failure
  Drain(*w);
  EXPECT_EQ(consumer.applied.size(), 6u);
  EXPECT_EQ(LakeSummary(), "6/6");
}

}  // namespace
}  // namespace watershed::load
