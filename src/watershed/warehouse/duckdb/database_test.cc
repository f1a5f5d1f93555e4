// warehouse/duckdb/database_test.cc — the DuckDB wrapper, including its error paths.
#include "watershed/warehouse/duckdb/database.h"

#include <filesystem>

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

// What RestrictFileAccess promises: attached files and views defined before keep working,
// files in the allowed folder stay reachable, everything else is refused with the hint on
// every connection (old and new), and no SET can undo it.
TEST(DuckDb, RestrictFileAccessKeepsAllowedFilesAndRefusesTheRest) {
  const std::string root = testing_util::MakeTempDir();
  const std::string allowed = root + "/lake", outside = root + "/outside";
  std::filesystem::create_directories(allowed);
  std::filesystem::create_directories(outside);
  testing_util::WriteFile(outside, "secret.csv", "a\n1\n");
  std::unique_ptr<Database> db;
  auto conn = Connect(db);
  ASSERT_TRUE(conn->Execute(StrCat("COPY (SELECT 7 AS v) TO ", QuoteLiteral(allowed + "/t.parquet"),
                                   " (FORMAT PARQUET)"))
                  .ok());
  ASSERT_TRUE(conn->Execute(StrCat("ATTACH ", QuoteLiteral(allowed + "/m.duckdb"),
                                   " AS m; "
                                   "CREATE TABLE m.x AS SELECT 1 AS one"))
                  .ok());
  ASSERT_TRUE(conn->Execute(StrCat("CREATE VIEW v AS SELECT * FROM read_parquet(",
                                   QuoteLiteral(allowed + "/t.parquet"), ")"))
                  .ok());
  ASSERT_TRUE(db->RestrictFileAccess({allowed}, "set sandbox: false to allow it").ok());
  auto later = db->Connect();
  ASSERT_TRUE(later.ok());

  for (Connection* c : {conn.get(), later->get()}) {
    auto view = c->Query("SELECT v FROM v");
    ASSERT_TRUE(view.ok()) << view.status();
    EXPECT_EQ(view->GetInt64(0, 0), 7);
    EXPECT_TRUE(c->Query("SELECT one FROM m.x").ok());
    EXPECT_TRUE(
        c->Query(StrCat("SELECT * FROM read_parquet(", QuoteLiteral(allowed + "/t.parquet"), ")"))
            .ok());
    for (const std::string& sql :
         {StrCat("SELECT * FROM read_csv(", QuoteLiteral(outside + "/secret.csv"), ")"),
          StrCat("COPY (SELECT 1) TO ", QuoteLiteral(outside + "/out.csv")),
          StrCat("ATTACH ", QuoteLiteral(outside + "/o.duckdb"), " AS o"),
          StrCat("SELECT * FROM read_csv(", QuoteLiteral(allowed + "/../outside/secret.csv"), ")"),
          std::string("SET enable_external_access = true"),
          std::string("RESET allowed_directories")}) {
      auto refused = c->Query(sql);
      ASSERT_FALSE(refused.ok()) << sql;
      EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied) << refused.status();
      EXPECT_NE(MessageOf(refused.status()).find("\nset sandbox: false to allow it"),
                std::string_view::npos)
          << refused.status();
    }
    // Other errors keep their code and get no hint.
    auto syntax = c->Query("SELEC 1");
    EXPECT_EQ(syntax.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(MessageOf(syntax.status()).find("sandbox"), std::string_view::npos);
  }
  EXPECT_FALSE(std::filesystem::exists(outside + "/out.csv"));
  EXPECT_FALSE(std::filesystem::exists(outside + "/o.duckdb"));
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
