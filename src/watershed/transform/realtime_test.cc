// transform/realtime_test.cc — the real-time mart: accumulator settings and their errors,
// HyperLogLog accuracy and merging, exact count/sum/min/max per key and tumbling window against
// a brute-force recomputation, checkpoints stored with the values (and rolled back with them),
// redefinition, and the `realtime` schema in DuckDB.
#include "watershed/transform/realtime.h"

#include <sqlite3.h>

#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "gtest/gtest.h"
#include "watershed/base/test_util.h"

namespace watershed::transform {
namespace {

using testing_util::MakeTempDir;

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

StatusOr<load::StreamConfig> Stream(const std::string& yaml, const std::string& name = "clicks") {
  WS_ASSIGN_OR_RETURN(auto streams, load::ParseStreams(YAML::Load(yaml)));
  auto it = streams.find(name);
  if (it == streams.end()) return absl::NotFoundError(name);
  return it->second;
}

StatusOr<std::vector<Accumulator>> Parse(const std::string& yaml) {
  WS_ASSIGN_OR_RETURN(load::StreamConfig c, Stream(yaml));
  return ParseAccumulators(c);
}

std::string ErrorOf(const std::string& yaml) {
  auto r = Parse(yaml);
  EXPECT_FALSE(r.ok()) << yaml;
  return r.ok() ? "" : std::string(r.status().message());
}

constexpr const char* kClicks = R"(
clicks:
  accumulators:
    - name: by_page
      key: page
      time: ts
      windows: [1m, 1h]
      measures: [count, {sum: amount}, {min: amount}, {max: amount}, {distinct: user.id}]
    - name: all
)";

TEST(ParseAccumulators, ReadsEveryFieldAndDefaults) {
  auto acc = Parse(kClicks);
  ASSERT_TRUE(acc.ok()) << acc.status();
  ASSERT_EQ(acc->size(), 2u);
  const Accumulator& a = (*acc)[0];
  EXPECT_EQ(a.stream, "clicks");
  EXPECT_EQ(a.name, "by_page");
  EXPECT_EQ(a.table(), "clicks_by_page");
  EXPECT_EQ(a.key, "page");
  EXPECT_EQ(a.time, "ts");
  EXPECT_EQ(a.window_names, (std::vector<std::string>{"1m", "1h"}));
  EXPECT_EQ(a.window_micros, (std::vector<int64_t>{60'000'000, 3'600'000'000}));
  ASSERT_EQ(a.measures.size(), 5u);
  std::vector<std::string> kinds, fields, columns;
  for (const Measure& m : a.measures) {
    kinds.push_back(m.kind);
    fields.push_back(m.field);
    columns.push_back(m.column);
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"count", "sum", "min", "max", "distinct"}));
  EXPECT_EQ(fields, (std::vector<std::string>{"", "amount", "amount", "amount", "user.id"}));
  EXPECT_EQ(columns, (std::vector<std::string>{"count", "sum_amount", "min_amount", "max_amount",
                                               "distinct_user_id"}));
  const Accumulator& all = (*acc)[1];
  EXPECT_EQ(all.key, "");
  EXPECT_EQ(all.time, "");
  EXPECT_EQ(all.window_names, (std::vector<std::string>{"1m"}));
  ASSERT_EQ(all.measures.size(), 1u);
  EXPECT_EQ(all.measures[0].kind, "count");

  auto none = Parse("clicks: {source: http}\n");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  auto bare = Parse("clicks:\n");
  ASSERT_TRUE(bare.ok()) << bare.status();
  EXPECT_TRUE(bare->empty());
}

TEST(ParseAccumulators, ErrorsNameTheStreamAccumulatorAndField) {
  std::string e = ErrorOf("clicks: {accumulators: [{name: a, windows: [1x]}]}");
  EXPECT_NE(e.find("streams.clicks.accumulators.a.windows"), std::string::npos) << e;
  EXPECT_NE(e.find("'1x'"), std::string::npos) << e;
  e = ErrorOf("clicks: {accumulators: [{name: a, windows: [1m, 500ms]}]}");
  EXPECT_NE(e.find("streams.clicks.accumulators.a.windows: '500ms'"), std::string::npos) << e;
  e = ErrorOf("clicks: {accumulators: [{name: a, windows: [0]}]}");
  EXPECT_NE(e.find("streams.clicks.accumulators.a.windows: '0'"), std::string::npos) << e;
  e = ErrorOf("clicks: {accumulators: [{name: a, measures: [{avg: amount}]}]}");
  EXPECT_NE(e.find("streams.clicks.accumulators.a.measures"), std::string::npos) << e;
  EXPECT_NE(e.find("'avg'"), std::string::npos) << e;
  e = ErrorOf("clicks: {accumulators: [{name: a, measures: [sum]}]}");
  EXPECT_NE(e.find("streams.clicks.accumulators.a.measures"), std::string::npos) << e;
  e = ErrorOf("clicks: {accumulators: [{name: a, measures: [{sum: x, max: y}]}]}");
  EXPECT_NE(e.find("streams.clicks.accumulators.a.measures"), std::string::npos) << e;
  e = ErrorOf("clicks: {accumulators: [{name: a}, {key: page}]}");
  EXPECT_NE(e.find("streams.clicks.accumulators[1]: needs a name"), std::string::npos) << e;
  e = ErrorOf("clicks: {accumulators: [page]}");
  EXPECT_NE(e.find("streams.clicks.accumulators[0]: needs a name"), std::string::npos) << e;
  e = ErrorOf("clicks: {accumulators: [{name: by-page}]}");
  EXPECT_NE(e.find("streams.clicks.accumulators.by-page: name"), std::string::npos) << e;
  e = ErrorOf("clicks: {accumulators: {name: a}}");
  EXPECT_NE(e.find("streams.clicks.accumulators: expected a list"), std::string::npos) << e;
  e = ErrorOf("clicks: {accumulators: [{name: a, windows: 1m}]}");
  EXPECT_NE(e.find("streams.clicks.accumulators.a"), std::string::npos) << e;
  // Two accumulators of one name would share one table.
  e = ErrorOf("clicks: {accumulators: [{name: a}, {name: a, key: page}]}");
  EXPECT_NE(e.find("streams.clicks.accumulators.a"), std::string::npos) << e;
  EXPECT_NE(e.find("twice"), std::string::npos) << e;
  // Two measures that would be one column.
  e = ErrorOf("clicks: {accumulators: [{name: a, measures: [{sum: a.b}, {sum: a_b}]}]}");
  EXPECT_NE(e.find("streams.clicks.accumulators.a.measures"), std::string::npos) << e;
  EXPECT_NE(e.find("sum_a_b"), std::string::npos) << e;
}

TEST(HyperLogLog, EstimatesWithinThreePercent) {
  for (uint64_t n : {uint64_t{1000}, uint64_t{100000}, uint64_t{1000000}}) {
    HyperLogLog h;
    for (uint64_t i = 0; i < n; ++i) {
      h.AddHash(SplitMix(i));
      h.AddHash(SplitMix(i));  // duplicates do not count
    }
    const double est = h.Estimate();
    EXPECT_NEAR(est, static_cast<double>(n), 0.03 * static_cast<double>(n)) << n;
  }
  EXPECT_EQ(HyperLogLog().Estimate(), 0);
}

TEST(HyperLogLog, MergeEqualsTheSketchOfTheUnion) {
  HyperLogLog a, b, all;
  for (uint64_t i = 0; i < 600000; ++i) a.AddHash(SplitMix(i));
  for (uint64_t i = 400000; i < 1000000; ++i) b.AddHash(SplitMix(i));
  for (uint64_t i = 0; i < 1000000; ++i) all.AddHash(SplitMix(i));
  HyperLogLog merged = a;
  merged.Merge(b);
  EXPECT_EQ(merged.bytes(), all.bytes());
  EXPECT_EQ(merged.Estimate(), all.Estimate());
  EXPECT_NEAR(merged.Estimate(), 1e6, 3e4);
  // Bytes round-trip; a wrong length gives an empty sketch.
  EXPECT_EQ(HyperLogLog::FromBytes(merged.bytes()).bytes(), merged.bytes());
  EXPECT_EQ(HyperLogLog::FromBytes("short").Estimate(), 0);
}

// ---------------------------------------------------------------------------------------------

class RealtimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    ASSERT_TRUE(project::Project::Init(dir_ + "/p", "test").ok());
    auto p = project::Project::Open(dir_ + "/p");
    ASSERT_TRUE(p.ok()) << p.status();
    project_ = std::move(*p);
    auto db = warehouse::Database::Open("");
    ASSERT_TRUE(db.ok());
    db_ = std::move(*db);
    conn_ = std::move(*db_->Connect());
  }

  StatusOr<std::unique_ptr<RealtimeMart>> OpenMart(const std::string& yaml,
                                                   const std::string& stream = "clicks") {
    WS_ASSIGN_OR_RETURN(load::StreamConfig c, Stream(yaml, stream));
    WS_ASSIGN_OR_RETURN(auto acc, ParseAccumulators(c));
    return RealtimeMart::Open(*project_, stream, std::move(acc));
  }

  // Events over `payloads` (kept alive by the test), partition "0", positions from `first`.
  std::vector<sources::Event> Events(const std::vector<std::string>& payloads, int64_t first,
                                     int64_t arrived_micros) {
    std::vector<sources::Event> out;
    for (size_t i = 0; i < payloads.size(); ++i) {
      out.push_back(
          {"0", std::to_string(first + static_cast<int64_t>(i)), payloads[i], arrived_micros});
    }
    return out;
  }

  StatusOr<warehouse::Result> Sql(const std::string& sql) {
    WS_RETURN_IF_ERROR(AttachRealtime(*project_, *conn_));
    return conn_->Query(sql);
  }

  std::string Cell(const std::string& sql) {
    auto r = Sql(sql);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() && r->row_count() > 0 ? r->GetString(0, 0) : "<none>";
  }

  void SqliteExec(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(RealtimeDbPath(*project_).c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
  }

  std::string dir_;
  std::unique_ptr<project::Project> project_;
  std::unique_ptr<warehouse::Database> db_;
  std::unique_ptr<warehouse::Connection> conn_;
};

constexpr int64_t kBase = 1795514400;  // 2026-11-24T10:00:00Z, seconds

struct Expected {
  int64_t count = 0;
  bool has_number = false;
  double sum = 0, min = 0, max = 0;
  std::set<std::string> users;
};

TEST_F(RealtimeTest, ApplyGivesExactAggregatesPerKeyAndWindowOverSeveralBatches) {
  auto mart = OpenMart(kClicks);
  ASSERT_TRUE(mart.ok()) << mart.status();
  const int64_t arrived = (kBase + 7200) * 1'000'000;  // the `all` accumulator uses arrival time

  // Expected values, keyed like the table: (window_size, window_start micros, key).
  using Key = std::tuple<std::string, int64_t, std::string>;
  std::map<Key, Expected> expected;
  int64_t all_count = 0;
  const char* pages[] = {"home", "cart", "pay\"ment", "42"};
  std::vector<std::vector<std::string>> batches(4);
  int64_t position = 0;
  for (int b = 0; b < 4; ++b) {
    for (int i = 0; i < 300; ++i) {
      const int n = b * 300 + i;
      const uint64_t r = SplitMix(static_cast<uint64_t>(n));
      const int64_t t_sec = kBase + static_cast<int64_t>(r % 5400);  // 90 minutes
      std::string ts;
      switch (n % 4) {
        case 0:
          ts = StrCat("\"", IsoUtc(t_sec * 1'000'000, false), "\"");
          break;
        case 1:
          ts = StrCat(t_sec);
          break;  // epoch seconds
        case 2:
          ts = StrCat(t_sec * 1000 + 999);
          break;  // epoch millis
        case 3:
          ts = StrCat("\"", IsoUtc(t_sec * 1'000'000 + 500000), "\"");
          break;
      }
      std::string page;
      std::string key;
      switch ((r >> 20) % 6) {
        case 0:
          page = "";
          key = "";
          break;  // no page field: key ""
        case 1:
          page = R"("page":null,)";
          key = "";
          break;  // null: key ""
        case 2:
          page = R"("page":42,)";
          key = "42";
          break;  // numbers as their JSON text
        default: {
          const char* p = pages[(r >> 24) % 3];
          page = StrCat("\"page\":\"", std::string(p) == "pay\"ment" ? "pay\\\"ment" : p, "\",");
          key = p;
        }
      }
      std::string amount;
      std::optional<double> value;
      switch ((r >> 32) % 7) {
        case 0:
          amount = "";
          break;  // missing
        case 1:
          amount = R"("amount":"abc",)";
          break;  // not a number: ignored
        case 2:
          amount = R"("amount":true,)";
          break;
        case 3:
          amount = R"("amount":null,)";
          break;
        case 4: {
          double v = -static_cast<double>((r >> 40) % 1000) / 2;  // negative halves
          amount = StrCat("\"amount\":", v, ",");
          value = v;
          break;
        }
        default: {
          int64_t v = static_cast<int64_t>((r >> 40) % 100000);
          amount = StrCat("\"amount\":", v, ",");
          value = static_cast<double>(v);
        }
      }
      const std::string user = StrCat("u", (r >> 48) % 50);
      std::string payload =
          StrCat("{", page, amount, "\"user\":{\"id\":\"", user, "\"},\"ts\":", ts, "}");
      batches[b].push_back(payload);
      ++all_count;
      for (auto [name, w] : {std::pair<std::string, int64_t>{"1m", 60}, {"1h", 3600}}) {
        int64_t start = (t_sec / w) * w * 1'000'000;
        Expected& e = expected[{name, start, key}];
        e.count++;
        e.users.insert(user);
        if (value) {
          e.sum += *value;
          e.min = e.has_number ? std::min(e.min, *value) : *value;
          e.max = e.has_number ? std::max(e.max, *value) : *value;
          e.has_number = true;
        }
      }
    }
    // Events the by_page accumulator skips, and the lake quarantines: malformed, not an object,
    // no or an unreadable time. The last two still count in `all` (arrival time).
    batches[b].push_back("{\"page\":\"home\",");
    batches[b].push_back("[1,2,3]");
    batches[b].push_back(R"({"page":"home","amount":5})");
    batches[b].push_back(R"({"page":"home","amount":5,"ts":"yesterday"})");
    all_count += 2;
  }
  std::map<std::string, std::string> checkpoint;
  for (int b = 0; b < 4; ++b) {
    auto events = Events(batches[b], position, arrived);
    position += static_cast<int64_t>(batches[b].size());
    checkpoint = {{"0", std::to_string(position - 1)}};
    Status s = (*mart)->Apply(events, checkpoint);
    ASSERT_TRUE(s.ok()) << s;
  }
  auto cps = (*mart)->Checkpoints();
  ASSERT_TRUE(cps.ok());
  EXPECT_EQ(*cps, checkpoint);

  auto r =
      Sql("SELECT window_size, epoch_us(window_start), key, count, sum_amount, min_amount, "
          "max_amount, distinct_user_id, sum_amount IS NULL, min_amount IS NULL "
          "FROM realtime.clicks_by_page ORDER BY 1, 2, 3");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->row_count(), expected.size());
  size_t row = 0;
  for (const auto& [key, e] : expected) {
    SCOPED_TRACE(StrCat(std::get<0>(key), " ", std::get<1>(key), " '", std::get<2>(key), "'"));
    EXPECT_EQ(r->GetString(0, row), std::get<0>(key));
    EXPECT_EQ(r->GetInt64(1, row), std::get<1>(key));
    EXPECT_EQ(r->GetString(2, row), std::get<2>(key));
    EXPECT_EQ(r->GetInt64(3, row), e.count);
    EXPECT_EQ(r->GetDouble(4, row), e.sum);
    if (e.has_number) {
      EXPECT_EQ(r->GetDouble(5, row), e.min);
      EXPECT_EQ(r->GetDouble(6, row), e.max);
    } else {
      EXPECT_TRUE(r->GetBool(9, row));  // no number seen: NULL min
    }
    const double users = static_cast<double>(e.users.size());
    EXPECT_NEAR(static_cast<double>(r->GetInt64(7, row)), users, std::max(1.0, 0.03 * users));
    ++row;
  }
  // The `all` accumulator: everything that is a JSON object, in the arrival-time window.
  EXPECT_EQ(Cell("SELECT count || '@' || epoch(window_start)::BIGINT || '/' || key FROM "
                 "realtime.clicks_all"),
            StrCat(all_count, "@", kBase + 7200, "/"));
}

TEST_F(RealtimeTest, NumericStringsCountAsNumbersWhetherOrNotTheyHaveAFraction) {
  auto mart = OpenMart("clicks: {accumulators: [{name: a, measures: [{sum: x}, {max: x}]}]}");
  ASSERT_TRUE(mart.ok()) << mart.status();
  std::vector<std::string> p = {R"({"x":"12"})",    R"({"x":"0.5"})", R"({"x":"1e2"})",
                                R"({"x":"12abc"})", R"({"x":""})",    R"({"x":3})"};
  ASSERT_TRUE((*mart)->Apply(Events(p, 0, kBase * 1'000'000), {{"0", "5"}}).ok());
  EXPECT_EQ(Cell("SELECT count || ' ' || sum_x || ' ' || max_x FROM realtime.clicks_a"),
            "6 115.5 100.0");
}

TEST_F(RealtimeTest, CheckpointsAreStoredWithTheValuesAndSurviveReopening) {
  {
    auto mart = OpenMart(kClicks);
    ASSERT_TRUE(mart.ok()) << mart.status();
    auto empty = (*mart)->Checkpoints();
    ASSERT_TRUE(empty.ok());
    EXPECT_TRUE(empty->empty());
    std::vector<std::string> p = {R"({"page":"a","amount":2,"ts":1795514400})",
                                  R"({"page":"a","amount":3,"ts":1795514401})"};
    ASSERT_TRUE((*mart)->Apply(Events(p, 10, 0), {{"0", "11"}, {"1", "7"}}).ok());
  }
  auto mart = OpenMart(kClicks);  // same definitions: state kept
  ASSERT_TRUE(mart.ok()) << mart.status();
  auto cps = (*mart)->Checkpoints();
  ASSERT_TRUE(cps.ok());
  EXPECT_EQ(*cps, (std::map<std::string, std::string>{{"0", "11"}, {"1", "7"}}));
  EXPECT_EQ(Cell("SELECT count || ' ' || sum_amount FROM realtime.clicks_by_page WHERE "
                 "window_size = '1h'"),
            "2 5.0");

  // A failure half-way (the second accumulator's table refuses a row) rolls back the first
  // accumulator's rows and the checkpoints with it.
  SqliteExec(
      "CREATE TRIGGER refuse BEFORE INSERT ON clicks_all BEGIN "
      "SELECT RAISE(ABORT, 'refused by test'); END;");
  std::vector<std::string> more = {R"({"page":"a","amount":100,"ts":1795514402})"};
  Status s = (*mart)->Apply(Events(more, 12, 0), {{"0", "12"}, {"1", "7"}});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("refused by test"), std::string_view::npos) << s;
  EXPECT_EQ(*(*mart)->Checkpoints(), *cps);
  EXPECT_EQ(Cell("SELECT count || ' ' || sum_amount FROM realtime.clicks_by_page WHERE "
                 "window_size = '1h'"),
            "2 5.0");
  // Once the table accepts rows again, the same batch applies once.
  SqliteExec("DROP TRIGGER refuse;");
  ASSERT_TRUE((*mart)->Apply(Events(more, 12, 0), {{"0", "12"}, {"1", "7"}}).ok());
  EXPECT_EQ((*(*mart)->Checkpoints()).at("0"), "12");
  EXPECT_EQ(Cell("SELECT count || ' ' || sum_amount FROM realtime.clicks_by_page WHERE "
                 "window_size = '1h'"),
            "3 105.0");
}

TEST_F(RealtimeTest, ChangingTheDefinitionResetsOnlyThatStream) {
  const std::string two_streams =
      std::string(kClicks) + "orders:\n  accumulators: [{name: total, measures: [{sum: x}]}]\n";
  std::vector<std::string> p = {R"({"page":"a","amount":2,"ts":1795514400,"x":5})"};
  {
    auto clicks = OpenMart(two_streams, "clicks");
    auto orders = OpenMart(two_streams, "orders");
    ASSERT_TRUE(clicks.ok() && orders.ok());
    ASSERT_TRUE((*clicks)->Apply(Events(p, 0, 0), {{"0", "0"}}).ok());
    ASSERT_TRUE((*orders)->Apply(Events(p, 0, 0), {{"0", "0"}}).ok());
  }
  // by_page gets another window: the clicks accumulators start over, orders keep their state.
  std::string changed = two_streams;
  changed.replace(changed.find("[1m, 1h]"), 8, "[1m, 1d]");
  auto clicks = OpenMart(changed, "clicks");
  auto orders = OpenMart(changed, "orders");
  ASSERT_TRUE(clicks.ok() && orders.ok());
  EXPECT_TRUE((*clicks)->Checkpoints()->empty());
  EXPECT_EQ((*(*orders)->Checkpoints()).at("0"), "0");
  EXPECT_EQ(Cell("SELECT count(*) FROM realtime.clicks_by_page"), "0");
  EXPECT_EQ(Cell("SELECT count(*) FROM realtime.clicks_all"), "0");
  EXPECT_EQ(Cell("SELECT sum_x FROM realtime.orders_total"), "5.0");

  // Dropping an accumulator resets too, and its table disappears.
  clicks->reset();
  auto fewer = OpenMart("clicks: {accumulators: [{name: all}]}\n");
  ASSERT_TRUE(fewer.ok()) << fewer.status();
  ASSERT_TRUE((*fewer)->Apply(Events(p, 0, 0), {{"0", "0"}}).ok());
  db_ = std::move(*warehouse::Database::Open(""));  // a new session (like `watershed query`)
  conn_ = std::move(*db_->Connect());
  auto tables =
      Sql("SELECT string_agg(table_name, ',' ORDER BY table_name) FROM "
          "information_schema.tables WHERE table_schema = 'realtime'");
  ASSERT_TRUE(tables.ok()) << tables.status();
  EXPECT_EQ(tables->GetString(0, 0), "clicks_all,orders_total");
}

TEST_F(RealtimeTest, FieldNamesWithQuotesAreStoredSafely) {
  auto mart =
      OpenMart(R"(clicks: {accumulators: [{name: a, key: "o'brien", measures: [{sum: "it's"}]}]})");
  ASSERT_TRUE(mart.ok()) << mart.status();
  std::vector<std::string> p = {R"({"o'brien":"k","it's":4})"};
  ASSERT_TRUE((*mart)->Apply(Events(p, 0, 0), {{"0", "0"}}).ok());
  EXPECT_EQ(Cell("SELECT key || ' ' || sum_it_s FROM realtime.clicks_a"), "k 4.0");
  // Reopening with the same definition keeps the state.
  mart->reset();
  auto again =
      OpenMart(R"(clicks: {accumulators: [{name: a, key: "o'brien", measures: [{sum: "it's"}]}]})");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*(*again)->Checkpoints()).at("0"), "0");
}

TEST_F(RealtimeTest, AttachRealtimeExposesTypedColumnsAndDistinctEstimates) {
  // No mart yet: the schema exists and is empty.
  EXPECT_EQ(Cell("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'realtime'"),
            "0");
  auto mart = OpenMart(kClicks);
  ASSERT_TRUE(mart.ok()) << mart.status();
  std::vector<std::string> payloads;
  for (int i = 0; i < 100000; ++i) {
    payloads.push_back(StrCat(R"({"page":"p","amount":1,"user":{"id":"user-)", i % 50000,
                              R"("},"ts":1795514400})"));
  }
  ASSERT_TRUE((*mart)->Apply(Events(payloads, 0, 0), {{"0", "99999"}}).ok());
  auto cols =
      Sql("SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY "
          "ordinal_position) FROM information_schema.columns WHERE table_schema = "
          "'realtime' AND table_name = 'clicks_by_page'");
  ASSERT_TRUE(cols.ok()) << cols.status();
  EXPECT_EQ(cols->GetString(0, 0),
            "window_size VARCHAR, window_start TIMESTAMP, key VARCHAR, count BIGINT, "
            "sum_amount DOUBLE, min_amount DOUBLE, max_amount DOUBLE, distinct_user_id BIGINT, "
            "updated_at TIMESTAMP");
  auto r =
      Sql("SELECT window_start::VARCHAR, count, sum_amount, distinct_user_id, "
          "updated_at > TIMESTAMP '2020-01-01' FROM realtime.clicks_by_page "
          "WHERE window_size = '1m'");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->row_count(), 1u);
  EXPECT_EQ(r->GetString(0, 0), "2026-11-24 10:00:00");
  EXPECT_EQ(r->GetInt64(1, 0), 100000);
  EXPECT_EQ(r->GetDouble(2, 0), 100000.0);
  EXPECT_NEAR(static_cast<double>(r->GetInt64(3, 0)), 50000, 1500);
  EXPECT_TRUE(r->GetBool(4, 0));
  // Attaching again (a second query) replaces the tables instead of failing or doubling rows.
  EXPECT_EQ(Cell("SELECT sum(count) FROM realtime.clicks_by_page"), "200000");
}

}  // namespace
}  // namespace watershed::transform
