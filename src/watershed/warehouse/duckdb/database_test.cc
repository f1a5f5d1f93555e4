// warehouse/duckdb/database_test.cc — the DuckDB wrapper, including its error paths.
#include "watershed/warehouse/duckdb/database.h"

#include "gtest/gtest.h"
#include "watershed/base/test_util.h"

namespace watershed::warehouse {
namespace {

std::unique_ptr<Connection> Connect(std::unique_ptr<Database>& db) {
  auto d = Database::Open("");
  EXPECT_TRUE(d.ok()) << d.status();
  db = std::move(*d);
  auto c = db->Connect();
  EXPECT_TRUE(c.ok());
  return std::move(*c);
}

TableBatch SampleBatch() {
  TableBatch b;
  b.table = "t";
  b.arena = std::make_shared<StringArena>();
  b.columns = {{"id", ColumnType::kBigint},   {"name", ColumnType::kVarchar},
               {"amount", ColumnType::kDecimal}, {"on", ColumnType::kDate},
               {"ok", ColumnType::kBoolean},  {"x", ColumnType::kDouble}};
  b.data.resize(b.columns.size());
  b.num_rows = 3000;  // more than one DuckDB vector
  for (size_t i = 0; i < b.num_rows; ++i) {
    bool null = i % 3 == 2;
    b.data[0].slots.push_back(i);
    b.data[0].valid.push_back(1);
    std::string name = i % 2 ? "a longer string than twelve bytes " + std::to_string(i) : "short";
    b.data[1].strings.push_back(b.arena->Copy(name));
    b.data[1].valid.push_back(!null);
    b.data[2].slots.push_back(static_cast<uint64_t>(int64_t{12345} * static_cast<int64_t>(i)));
    b.data[2].valid.push_back(1);
    b.data[3].slots.push_back(static_cast<uint64_t>(DaysFromCivil(2020, 1, 1) + i % 10));
    b.data[3].valid.push_back(1);
    b.data[4].slots.push_back(i % 2);
    b.data[4].valid.push_back(!null);
    double x = i * 0.5;
    uint64_t bits;
    std::memcpy(&bits, &x, 8);
    b.data[5].slots.push_back(bits);
    b.data[5].valid.push_back(1);
  }
  return b;
}

TEST(DuckDb, QueriesAndReadsValues) {
  std::unique_ptr<Database> db;
  auto conn = Connect(db);
  auto r = conn->Query("SELECT 42::BIGINT AS a, 'x' AS b, NULL AS c, 2.5::DOUBLE AS d");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->column_count(), 4u);
  EXPECT_EQ(r->row_count(), 1u);
  EXPECT_EQ(r->column_name(1), "b");
  EXPECT_EQ(r->GetInt64(0, 0), 42);
  EXPECT_EQ(r->GetString(1, 0), "x");
  EXPECT_TRUE(r->IsNull(2, 0));
  EXPECT_EQ(r->GetDouble(3, 0), 2.5);
}

TEST(DuckDb, ErrorsComeBackAsStatusWithDuckDbsMessage) {
  std::unique_ptr<Database> db;
  auto conn = Connect(db);
  auto bad = conn->Query("SELEC 1");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(MessageOf(bad.status()).find("syntax error"), std::string_view::npos) << bad.status();
  auto missing = conn->Query("SELECT * FROM no_such_table");
  EXPECT_NE(MessageOf(missing.status()).find("no_such_table"), std::string_view::npos);
  auto prep = conn->Prepare("SELECT * FROM nowhere WHERE a = ?");
  EXPECT_FALSE(prep.ok());
  auto ok = conn->Prepare("SELECT ?::INTEGER + 1");
  ASSERT_TRUE(ok.ok());
  EXPECT_FALSE((*ok)->Bind(5, int64_t{1}).ok());  // no parameter 5
  ASSERT_TRUE((*ok)->Bind(1, int64_t{41}).ok());
  auto r = (*ok)->Execute();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->GetInt64(0, 0), 42);
  // Binding text to an integer parameter fails at execution with DuckDB's conversion message.
  ASSERT_TRUE((*ok)->Bind(1, std::string_view("not a number")).ok());
  EXPECT_FALSE((*ok)->Execute().ok());
  TableBatch b = SampleBatch();
  EXPECT_FALSE(conn->AppendBatch("missing_table", b).ok());
  ASSERT_TRUE(conn->Execute("CREATE TABLE narrow(a BIGINT)").ok());
  EXPECT_FALSE(conn->AppendBatch("narrow", b).ok());  // column count mismatch
  EXPECT_FALSE(Database::Open("/nonexistent-folder/x/y.duckdb").ok());
}

TEST(DuckDb, AppendBatchAndBatchScanAgree) {
  std::unique_ptr<Database> db;
  auto conn = Connect(db);
  ASSERT_TRUE(conn->Execute("CREATE TABLE t(id BIGINT, name VARCHAR, amount DECIMAL(18,4), "
                            "\"on\" DATE, ok BOOLEAN, x DOUBLE)")
                  .ok());
  TableBatch b = SampleBatch();
  ASSERT_TRUE(conn->AppendBatch("t", b).ok());
  auto scan = BatchScan::Register(*conn, "scan_it");
  ASSERT_TRUE(scan.ok()) << scan.status();
  (*scan)->Set(&b);
  const char* summary =
      "SELECT count(*), count(name), sum(length(name)), sum(amount)::VARCHAR, "
      "min(\"on\")::VARCHAR, sum(ok::INT), sum(x) FROM ";
  auto a = conn->Query(std::string(summary) + "t");
  auto s = conn->Query(std::string(summary) + "scan_it()");
  ASSERT_TRUE(a.ok() && s.ok()) << s.status();
  for (size_t c = 0; c < 7; ++c) EXPECT_EQ(a->GetString(c, 0), s->GetString(c, 0)) << c;
  EXPECT_EQ(a->GetInt64(0, 0), 3000);
  EXPECT_EQ(a->GetInt64(1, 0), 2000);
  EXPECT_EQ(a->GetString(4, 0), "2020-01-01");
  // Projection pushdown: one column, any order.
  auto p = conn->Query("SELECT x, id FROM scan_it() WHERE id = 7");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->GetDouble(0, 0), 3.5);
  (*scan)->Set(nullptr);
  EXPECT_FALSE(conn->Query("SELECT * FROM scan_it()").ok());
}

}  // namespace
}  // namespace watershed::warehouse
